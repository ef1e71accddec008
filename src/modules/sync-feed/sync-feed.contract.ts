/**
 * The orders change feed's contract (seed 001): the `/sync` Socket.IO events in both directions and
 * the shapes its REST routes share. Imports only `zod`, so the dashboard can `import type` from it.
 * Payloads are described as they travel (dates are ISO 8601 strings).
 */
import { z } from 'zod';

const isoDate = z.string().describe('ISO 8601 date-time');

export const orderItem = z.object({
  sku: z.string().max(100).optional(),
  name: z.string().trim().min(1).max(300),
  quantity: z.number().positive(),
  price: z.number().min(0),
});

export const orderStatus = z.enum(['pending', 'confirmed', 'completed', 'cancelled']);

/** An order as Puente answers it and as a change's `data` carries it. */
export const order = z
  .object({
    id: z.number().int(),
    external_ref: z.string().nullable().describe('The caller\'s own reference; repeating it returns the existing order'),
    customer_id: z.number().int().nullable().describe('A Puente user id, or null'),
    status: orderStatus,
    items: z.array(orderItem),
    total: z.number(),
    notes: z.string().nullable(),
    created_by: z.string().nullable().describe('`user:<id>` or `sync-client:<id>`'),
    created_at: isoDate,
    updated_at: isoDate,
  })
  .meta({ id: 'Order' });
export type Order = z.infer<typeof order>;

// ---- Socket.IO namespace `/sync` -------------------------------------------------------------

/** Handshake `auth` object: `io(`${url}/sync`, { auth: { apiKey } })`. */
export const syncHandshakeAuth = z
  .object({ apiKey: z.string().describe('A sync client\'s API key (`CLOUD_API_KEY` is the default client)') })
  .meta({ id: 'SyncHandshakeAuth' });

/** What `connect_error` carries when the handshake is refused. */
export const syncConnectError = z
  .object({
    message: z.enum(['API key required', 'Invalid API key', 'Too many attempts']),
    data: z.object({ code: z.literal('rate_limited'), retry_after: z.number().int().optional().describe('Seconds until the address may try again') }).optional(),
  })
  .meta({ id: 'SyncConnectError' });

/** Server → client: the answer to `sync:orders`. */
export const ordersPending = z
  .object({
    count: z.number().int().min(0),
    orders: z.array(order).max(500).describe('Orders with changes after the confirmed cursor (at most 500)'),
  })
  .meta({ id: 'OrdersPending' });
export type OrdersPending = z.infer<typeof ordersPending>;

/** Server → client, on any namespace: the socket sent more events than `SOCKET_EVENTS_PER_SECOND`; further ones are dropped. */
export const socketRateLimited = z
  .object({ message: z.string() })
  .meta({ id: 'SocketRateLimited' });
export type SocketRateLimited = z.infer<typeof socketRateLimited>;

/** Socket.IO typings for the server (`Namespace<SyncClientToServer, SyncServerToClient>`) and for clients. */
export interface SyncServerToClient {
  /** There are changes this client has not pulled. No payload (the seed's words). */
  'changes:pending': () => void;
  'orders:pending': (payload: OrdersPending) => void;
  rate_limited: (payload: SocketRateLimited) => void;
}
export interface SyncClientToServer {
  /** Ask for the orders with unconfirmed changes. No payload; anything sent with it is ignored. */
  'sync:orders': () => void;
}
