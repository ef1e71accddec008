/**
 * The orders change feed's contract (seed 001): the `/sync` Socket.IO events in both directions and
 * the shapes its REST routes share. Imports only `zod`, so the dashboard can `import type` from it.
 * Payloads are described as they travel (dates are ISO 8601 strings).
 */
import { z } from 'zod';
import { pageMeta } from '../../platform/http/contract.ts';

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
    external_ref: z.string().nullable().describe("The caller's own reference; repeating it returns the existing order"),
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

// ---- REST ------------------------------------------------------------------------------------

export const orderBody = z
  .object({
    external_ref: z.string().trim().min(1).max(200).optional().describe('Makes the call idempotent: the same value again returns the existing order (200)'),
    customer_id: z.number().int().positive().optional().describe('A Puente user id (422 `customer_not_found` otherwise)'),
    items: z.array(orderItem).min(1).max(500),
    total: z.number().min(0).optional().describe('Default: the sum of quantity × price'),
    notes: z.string().max(2000).optional(),
  })
  .meta({ id: 'NewOrder' });
export type OrderInput = z.input<typeof orderBody>;

export const orderPatch = z.object({
  status: z.enum(['pending', 'confirmed', 'completed']).optional().describe('Cancel with POST /orders/{id}/cancel'),
  items: z.array(orderItem).min(1).max(500).optional(),
  notes: z.string().max(2000).nullable().optional(),
});

export const orderCreated = z.object({ success: z.literal(true), created: z.boolean().describe('false when `external_ref` named an existing order'), order });
export const orderReplySchema = z.object({ success: z.literal(true), order });
export const orderList = z.object({ success: z.literal(true), data: z.array(order), meta: pageMeta });
export type OrderList = z.infer<typeof orderList>;

export const change = z
  .object({
    seq: z.number().int().describe('Position in the feed; confirm the last one applied'),
    entity: z.string().describe('`order`'),
    entity_id: z.string(),
    op: z.enum(['created', 'updated', 'cancelled']),
    data: order.describe('The order as it was after this change'),
    created_at: isoDate,
  })
  .meta({ id: 'Change' });
export type Change = z.infer<typeof change>;

export const pullQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) });
export const pullReply = z
  .object({
    success: z.literal(true),
    cursor: z.number().int().describe('What this client had confirmed before this pull'),
    last_seq: z.number().int().describe('The last change in this page (the cursor when there is none)'),
    has_more: z.boolean(),
    count: z.number().int(),
    changes: z.array(change),
  })
  .meta({ id: 'PullChanges' });
export type PullReply = z.infer<typeof pullReply>;

export const confirmBody = z.object({ seq: z.number().int().min(0) });
export const confirmReply = z.object({ success: z.literal(true), cursor: z.number().int(), confirmed: z.number().int() });

export const syncClient = z
  .object({
    id: z.number().int(),
    name: z.string(),
    key_prefix: z.string().describe('The first characters of its key, to tell keys apart'),
    is_default: z.boolean().describe('The client of `CLOUD_API_KEY`'),
    revoked: z.boolean(),
    connected: z.boolean().describe('A socket of it is connected to /sync (on any process)'),
    last_seen_at: isoDate.nullable(),
    cursor: z.number().int(),
    delivered_upto: z.number().int(),
    cursor_lag: z.number().int().describe('Changes not yet confirmed'),
    created_at: isoDate,
  })
  .meta({ id: 'SyncClient' });
export type SyncClient = z.infer<typeof syncClient>;

export const syncClientList = z.object({ success: z.literal(true), last_seq: z.number().int(), data: z.array(syncClient) });
export type SyncClientList = z.infer<typeof syncClientList>;
export const syncClientBody = z.object({ name: z.string().trim().min(1).max(100) });
export const syncClientCreated = z.object({
  success: z.literal(true),
  api_key: z.string().describe('Shown once: Puente keeps only its SHA-256'),
  client: syncClient,
});
export type SyncClientCreated = z.infer<typeof syncClientCreated>;
export const syncClientReply = z.object({ success: z.literal(true), client: syncClient });

// ---- Socket.IO namespace `/sync` -------------------------------------------------------------

/** Handshake `auth` object: `io(`${url}/sync`, { auth: { apiKey } })`. */
export const syncHandshakeAuth = z
  .object({ apiKey: z.string().describe("A sync client's API key (`CLOUD_API_KEY` is the default client)") })
  .meta({ id: 'SyncHandshakeAuth' });

/** What `connect_error` carries when the handshake is refused. */
export const syncConnectError = z
  .object({
    message: z.enum(['API key required', 'Invalid API key', 'Too many attempts']),
    data: z
      .object({ code: z.literal('rate_limited'), retry_after: z.number().int().optional().describe('Seconds until the address may try again') })
      .optional(),
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
export const socketRateLimited = z.object({ message: z.string() }).meta({ id: 'SocketRateLimited' });
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
