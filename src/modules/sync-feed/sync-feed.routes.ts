import { z } from 'zod';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { App, RuntimeContext } from '../../platform/context.ts';
import { admit, bearerToken, requireRole, type Audience } from '../../platform/auth/guards.ts';
import { bearerAuth, bearerOrSyncKeyAuth, errorResponses, syncKeyAuth } from '../../platform/http/contract.ts';
import { pageMeta, paginationQuery } from '../../platform/http/pagination.ts';
import type { SyncClientRow } from './sync-feed.repository.ts';
import { clientReply, orderReply } from './sync-feed.service.ts';
import { room } from './sync-feed.realtime.ts';
import {
  confirmBody,
  confirmReply,
  orderBody,
  orderCreated,
  orderList,
  orderPatch,
  orderReplySchema,
  orderStatus,
  pullQuery,
  pullReply,
  syncClientBody,
  syncClientCreated,
  syncClientList,
  syncClientReply,
} from './sync-feed.contract.ts';

declare module 'fastify' {
  interface FastifyRequest {
    syncClient?: SyncClientRow;
  }
}

const idParams = z.object({ id: z.coerce.number().int().positive() });

export function syncFeedRoutes(app: App, ctx: RuntimeContext) {
  const feed = ctx.services.syncFeed;
  const staff = requireRole(ctx.tokens, 'admin', 'operator');
  const admin = requireRole(ctx.tokens, 'admin');
  // Orders are what an access-code session is for (a point of sale): see docs/security.md.
  const orderTakers: Audience[] = ['admin', 'operator', 'code'];

  const syncKey = async (req: FastifyRequest, reply: FastifyReply) => {
    const client = await feed.authenticateFrom(bearerToken(req), req.ip, (seconds) => reply.header('retry-after', String(seconds)));
    req.syncClient = client;
  };
  /** Staff JWTs, or a sync client's API key (a point of sale creating orders). */
  const staffOrKey = async (req: FastifyRequest, reply: FastifyReply) => {
    const token = bearerToken(req);
    // Verified once (a session's check is a statement, on the order's path).
    const principal = token ? await ctx.tokens.verify(token) : null;
    if (principal) return admit(req, principal, orderTakers);
    return syncKey(req, reply);
  };
  /** Staff token or sync API key: either scheme (typed as the route schema wants it). */
  const either: Array<Record<string, string[]>> = bearerOrSyncKeyAuth as unknown as Array<Record<string, string[]>>;
  const who = (req: FastifyRequest) => (req.syncClient ? `sync-client:${req.syncClient.id}` : `user:${req.principal?.sub}`);

  app.post(
    '/orders',
    {
      onRequest: staffOrKey,
      schema: {
        tags: ['orders'],
        security: either,
        operationId: 'createOrder',
        summary: 'Create an order; its change is committed with it and announced after commit',
        body: orderBody,
        description:
          "`external_ref` makes the call idempotent: repeating it returns the existing order with 200. A staff token (admin, operator or an access-code session) or a sync client's API key.",
        response: { 200: orderCreated, 201: orderCreated, ...errorResponses(400, 401, 403, 413, 415, 422, 429) },
      },
    },
    async (req, reply) => {
      const { order, created } = await feed.createOrder(req.body, who(req));
      return reply.status(created ? 201 : 200).send({ success: true as const, created, order: orderReply(order) });
    },
  );

  app.get(
    '/orders',
    {
      onRequest: staffOrKey,
      schema: {
        tags: ['orders'],
        security: either,
        operationId: 'listOrders',
        summary: 'Orders, newest first',
        querystring: paginationQuery.extend({ status: orderStatus.optional() }),
        response: { 200: orderList, ...errorResponses(400, 401, 403, 429) },
      },
    },
    async (req) => {
      const { page, per_page, status } = req.query;
      const { items, total } = await feed.listOrders({ status, limit: per_page, offset: (page - 1) * per_page });
      return { success: true as const, data: items.map(orderReply), meta: pageMeta(page, per_page, total) };
    },
  );

  app.patch(
    '/orders/:id',
    {
      onRequest: staffOrKey,
      schema: {
        tags: ['orders'],
        security: either,
        operationId: 'updateOrder',
        summary: 'Update an order (status, items, notes); appends an `updated` change',
        params: idParams,
        body: orderPatch,
        response: { 200: orderReplySchema, ...errorResponses(400, 401, 403, 404, 409, 413, 415, 429) },
      },
    },
    async (req) => ({ success: true as const, order: orderReply(await feed.updateOrder(req.params.id, req.body)) }),
  );

  app.post(
    '/orders/:id/cancel',
    {
      onRequest: staffOrKey,
      schema: {
        tags: ['orders'],
        security: either,
        operationId: 'cancelOrder',
        summary: 'Cancel an order; appends a `cancelled` change',
        params: idParams,
        response: { 200: orderReplySchema, ...errorResponses(400, 401, 403, 404, 409, 429) },
      },
    },
    async (req) => ({ success: true as const, order: orderReply(await feed.cancelOrder(req.params.id)) }),
  );

  /**
   * Every client pulls and confirms every change: thousands of requests a second. A log line per
   * request would cost more than the request, and the browser headers (a CSP rebuilt per request)
   * protect no page here; nosniff is kept. Warnings and errors are still logged.
   */
  const busy = { logLevel: 'warn', helmet: false } as const;
  const nosniff = async (_req: FastifyRequest, reply: FastifyReply) => {
    reply.header('x-content-type-options', 'nosniff');
  };

  app.get(
    '/sync/pull-changes',
    {
      ...busy,
      onRequest: [nosniff, syncKey],
      schema: {
        tags: ['sync'],
        security: syncKeyAuth,
        operationId: 'pullChanges',
        querystring: pullQuery,
        response: { 200: pullReply, ...errorResponses(400, 401, 429) },
        summary: "The changes after this client's confirmed cursor, in order (Authorization: Bearer <api key>)",
        description:
          'At-least-once: a page is delivered again until confirmed. Apply each change idempotently (by `entity` + `entity_id`, keeping the highest `seq`), then POST /sync/confirm with `last_seq`. Pull again while `has_more`.',
      },
    },
    async (req, reply) => {
      const { reply: page, json } = await feed.pull(req.syncClient!, req.query.limit);
      // A page from memory comes already encoded (the contract's JSON, shared by every client).
      // Fastify sends a string with a JSON content type as it is (the typed reply expects the object).
      if (json !== null) return reply.header('content-type', 'application/json; charset=utf-8').send(json as unknown as typeof page);
      return page;
    },
  );

  app.post(
    '/sync/confirm',
    {
      ...busy,
      onRequest: [nosniff, syncKey],
      schema: {
        tags: ['sync'],
        security: syncKeyAuth,
        operationId: 'confirmChanges',
        summary: 'Acknowledge every change up to `seq` (idempotent, never backwards); 400 beyond what was delivered',
        body: confirmBody,
        response: { 200: confirmReply, ...errorResponses(400, 401, 413, 415, 429) },
      },
    },
    async (req) => feed.confirm(req.syncClient!, req.body.seq),
  );

  // Every node's sockets over Redis; this node's alone while Redis is away.
  const connectedSockets = async () => {
    const nsp = ctx.io?.of('/sync');
    if (!nsp) return [];
    return nsp.fetchSockets().catch(() => nsp.local.fetchSockets());
  };

  app.get(
    '/api/sync-clients',
    {
      onRequest: staff,
      schema: {
        tags: ['sync'],
        security: bearerAuth,
        operationId: 'listSyncClients',
        summary: 'Sync clients: connected or not, last seen, cursor lag',
        response: { 200: syncClientList, ...errorResponses(401, 403) },
      },
    },
    async () => {
      const [clients, last, sockets] = await Promise.all([feed.listClients(), feed.lastSeq(), connectedSockets()]);
      const connected = new Set(sockets.map((s) => s.data.clientId as number));
      return { success: true as const, last_seq: last, data: clients.map((c) => clientReply(c, last, connected.has(c.id))) };
    },
  );

  app.post(
    '/api/sync-clients',
    {
      onRequest: admin,
      schema: {
        tags: ['sync'],
        security: bearerAuth,
        operationId: 'createSyncClient',
        summary: 'Create a sync client; its API key is shown once',
        body: syncClientBody,
        response: { 201: syncClientCreated, ...errorResponses(400, 401, 403, 409, 413, 415) },
      },
    },
    async (req, reply) => {
      const { client, key } = await feed.createClient(req.body.name);
      return reply.status(201).send({ success: true as const, api_key: key, client: clientReply(client, await feed.lastSeq(), false) });
    },
  );

  app.delete(
    '/api/sync-clients/:id',
    {
      onRequest: admin,
      schema: {
        tags: ['sync'],
        security: bearerAuth,
        operationId: 'revokeSyncClient',
        summary: 'Revoke a sync client: its key stops working and its sockets are disconnected',
        params: idParams,
        response: { 200: syncClientReply, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (req) => {
      const revoked = await feed.revokeClient(req.params.id);
      ctx.io?.of('/sync').in(room(revoked.id)).disconnectSockets(true);
      return { success: true as const, client: clientReply(revoked, await feed.lastSeq(), false) };
    },
  );
}
