import { z } from 'zod';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { App, AppContext } from '../../platform/context.ts';
import { bearerToken, requireRole } from '../../platform/auth/guards.ts';
import { pageMeta, paginationQuery } from '../../platform/http/pagination.ts';
import type { SyncClientRow } from './sync-feed.repository.ts';
import { clientReply, orderReply } from './sync-feed.service.ts';
import { room } from './sync-feed.realtime.ts';

declare module 'fastify' {
  interface FastifyRequest {
    syncClient?: SyncClientRow;
  }
}

const item = z.object({ sku: z.string().max(100).optional(), name: z.string().trim().min(1).max(300), quantity: z.number().positive(), price: z.number().min(0) });
const orderBody = z.object({
  external_ref: z.string().trim().min(1).max(200).optional(),
  customer_id: z.number().int().positive().optional(),
  items: z.array(item).min(1).max(500),
  total: z.number().min(0).optional(),
  notes: z.string().max(2000).optional(),
});
const idParams = z.object({ id: z.coerce.number().int().positive() });

export function syncFeedRoutes(app: App, ctx: AppContext) {
  const feed = ctx.services.syncFeed;
  const staff = requireRole(ctx.tokens, 'admin', 'operator');
  const admin = requireRole(ctx.tokens, 'admin');
  // Orders are what an access-code session is for (a point of sale): see docs/security.md.
  const orderTaker = requireRole(ctx.tokens, 'admin', 'operator', 'code');

  const syncKey = async (req: FastifyRequest, reply: FastifyReply) => {
    const client = await feed.authenticateFrom(bearerToken(req), req.ip, (seconds) => reply.header('retry-after', String(seconds)));
    req.syncClient = client;
  };
  /** Staff JWTs, or a sync client's API key (a point of sale creating orders). */
  const staffOrKey = async (req: FastifyRequest, reply: FastifyReply) => {
    const token = bearerToken(req);
    if (token && (await ctx.tokens.verify(token))) return orderTaker(req, reply);
    return syncKey(req, reply);
  };
  const who = (req: FastifyRequest) => (req.syncClient ? `sync-client:${req.syncClient.id}` : `user:${req.principal?.sub}`);

  app.post('/orders', {
    onRequest: staffOrKey,
    schema: { tags: ['orders'], security: [{ bearer: [] }], summary: 'Create an order; its change is committed with it and announced after commit', body: orderBody, description: '`external_ref` makes the call idempotent: repeating it returns the existing order with 200.' },
  }, async (req, reply) => {
    const { order, created } = await feed.createOrder(req.body, who(req));
    return reply.status(created ? 201 : 200).send({ success: true, created, order: orderReply(order) });
  });

  app.get('/orders', {
    onRequest: staffOrKey,
    schema: { tags: ['orders'], security: [{ bearer: [] }], summary: 'Orders, newest first', querystring: paginationQuery.extend({ status: z.enum(['pending', 'confirmed', 'completed', 'cancelled']).optional() }) },
  }, async (req) => {
    const { page, per_page, status } = req.query;
    const { items, total } = await feed.listOrders({ status, limit: per_page, offset: (page - 1) * per_page });
    return { success: true, data: items.map(orderReply), meta: pageMeta(page, per_page, total) };
  });

  app.patch('/orders/:id', {
    onRequest: staffOrKey,
    schema: { tags: ['orders'], security: [{ bearer: [] }], summary: 'Update an order (status, items, notes); appends an `updated` change', params: idParams, body: z.object({ status: z.enum(['pending', 'confirmed', 'completed']).optional(), items: z.array(item).min(1).max(500).optional(), notes: z.string().max(2000).nullable().optional() }) },
  }, async (req) => ({ success: true, order: orderReply(await feed.updateOrder(req.params.id, req.body)) }));

  app.post('/orders/:id/cancel', {
    onRequest: staffOrKey,
    schema: { tags: ['orders'], security: [{ bearer: [] }], summary: 'Cancel an order; appends a `cancelled` change', params: idParams },
  }, async (req) => ({ success: true, order: orderReply(await feed.cancelOrder(req.params.id)) }));

  app.get('/sync/pull-changes', {
    onRequest: syncKey,
    schema: {
      tags: ['sync'], security: [{ bearer: [] }], querystring: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }),
      summary: 'The changes after this client\'s confirmed cursor, in order (Authorization: Bearer <api key>)',
      description: 'At-least-once: a page is delivered again until confirmed. Apply each change idempotently (by `entity` + `entity_id`, keeping the highest `seq`), then POST /sync/confirm with `last_seq`. Pull again while `has_more`.',
    },
  }, async (req) => feed.pull(req.syncClient!, req.query.limit));

  app.post('/sync/confirm', {
    onRequest: syncKey,
    schema: {
      tags: ['sync'], security: [{ bearer: [] }], summary: 'Acknowledge every change up to `seq` (idempotent, never backwards)',
      body: z.object({ seq: z.number().int().min(0) }),
    },
  }, async (req) => feed.confirm(req.syncClient!, req.body.seq));

  // Every node's sockets over Redis; this node's alone while Redis is away.
  const connectedSockets = async () => {
    const nsp = ctx.io?.of('/sync');
    if (!nsp) return [];
    return nsp.fetchSockets().catch(() => nsp.local.fetchSockets());
  };

  app.get('/api/sync-clients', {
    onRequest: staff,
    schema: { tags: ['sync'], security: [{ bearer: [] }], summary: 'Sync clients: connected or not, last seen, cursor lag' },
  }, async () => {
    const [clients, last, sockets] = await Promise.all([feed.listClients(), feed.lastSeq(), connectedSockets()]);
    const connected = new Set(sockets.map((s) => s.data.clientId as number));
    return { success: true, last_seq: last, data: clients.map((c) => clientReply(c, last, connected.has(c.id))) };
  });

  app.post('/api/sync-clients', {
    onRequest: admin,
    schema: { tags: ['sync'], security: [{ bearer: [] }], summary: 'Create a sync client; its API key is shown once', body: z.object({ name: z.string().trim().min(1).max(100) }) },
  }, async (req, reply) => {
    const { client, key } = await feed.createClient(req.body.name);
    return reply.status(201).send({ success: true, api_key: key, client: clientReply(client, await feed.lastSeq(), false) });
  });

  app.delete('/api/sync-clients/:id', {
    onRequest: admin,
    schema: { tags: ['sync'], security: [{ bearer: [] }], summary: 'Revoke a sync client: its key stops working and its sockets are disconnected', params: idParams },
  }, async (req) => {
    const revoked = await feed.revokeClient(req.params.id);
    ctx.io?.of('/sync').in(room(revoked.id)).disconnectSockets(true);
    return { success: true, client: clientReply(revoked, await feed.lastSeq(), false) };
  });
}
