import type { App, RuntimeContext } from '../../platform/context.ts';
import { requireRole } from '../../platform/auth/guards.ts';
import { AppError } from '../../platform/http/errors.ts';
import { jobReply } from '../../platform/jobs/jobs.service.ts';
import { WHMCS_PUSH_ALL } from './whmcs.jobs.ts';
import type { SyncLogRow, SyncMapRow } from './whmcs.repository.ts';
import { seedTime } from './whmcs.service.ts';
import { bearerAuth, errorResponses, GUARDED, WITH_BODY } from '../../platform/http/contract.ts';
import * as c from './whmcs.contract.ts';

function pickLocalId(body: { laravel_id?: number; local_id?: number }, required: true): number;
function pickLocalId(body: { laravel_id?: number; local_id?: number }, required: false): number | undefined;
function pickLocalId(body: { laravel_id?: number; local_id?: number }, required: boolean) {
  if (body.laravel_id && body.local_id && body.laravel_id !== body.local_id)
    throw new AppError('whmcs.ids_disagree', 'laravel_id y local_id no coinciden; envíe solo uno / send only one of laravel_id and local_id', {
      laravel_id: body.laravel_id,
      local_id: body.local_id,
    });
  const id = body.laravel_id ?? body.local_id;
  if (required && !id) throw new AppError('whmcs.local_id_required', 'Falta laravel_id (o local_id) / laravel_id is required');
  return id;
}

const mapReply = (m: SyncMapRow | null) => ({
  synced: m?.sync_status === 'synced' && m.whmcs_id !== null,
  whmcs_id: m?.whmcs_id ?? null,
  sync_status: m?.sync_status ?? null,
  last_synced_at: seedTime(m?.last_synced_at ?? null),
  last_error: m?.last_error ?? null,
  sync_map_id: m?.id ?? null,
});

const logReply = (l: SyncLogRow) => ({ ...l, duration_ms: l.duration_ms === null ? null : Number(l.duration_ms) });

/** Seed 002's endpoints under /api/whmcs, admin only; a disabled or unconfigured link answers 503. */
export function whmcsRoutes(app: App, ctx: RuntimeContext) {
  const whmcs = ctx.services.whmcs;
  const admin = requireRole(ctx.tokens, 'admin');
  const guard = [admin, async () => whmcs.ensureAvailable()];
  const tags = ['whmcs'],
    security = bearerAuth;
  // Every route but `links` also answers 503 while the link is disabled or not configured, and 502/504 when WHMCS fails.
  const upstream = [503, 502, 504] as const;

  app.get(
    '/api/whmcs/sync/test',
    {
      onRequest: guard,
      schema: {
        operationId: 'testWhmcsConnection',
        tags,
        security,
        summary: 'Test the connection: WHMCS version and response time',
        response: { 200: c.testReply, ...errorResponses(...GUARDED, ...upstream) },
      },
    },
    async () => {
      const t = await whmcs.testConnection();
      return { success: true as const, message: 'Connection successful', whmcs_version: t.version, response_time_ms: t.ms };
    },
  );

  app.post(
    '/api/whmcs/clients/push/:id',
    {
      onRequest: guard,
      schema: {
        operationId: 'pushClientToWhmcs',
        tags,
        security,
        params: c.localIdParams,
        response: { 200: c.pushReply, ...errorResponses(...WITH_BODY, ...GUARDED, 404, 409, 422, ...upstream) },
        summary:
          'Send a local client to WHMCS (created, or updated when already linked). 409 with whmcs_id when the email exists in WHMCS; 422 names missing fields.',
        body: c.pushBody,
      },
    },
    async (req) => {
      const r = await whmcs.pushOne(req.params.id, req.body?.force_create ?? false);
      return {
        success: true as const,
        message: r.outcome === 'created' ? 'Client pushed to WHMCS successfully' : 'Client updated in WHMCS successfully',
        whmcs_id: r.whmcs_id,
        sync_map_id: r.sync_map_id,
        operation: r.outcome,
      };
    },
  );

  app.post(
    '/api/whmcs/clients/update/:id',
    {
      onRequest: guard,
      schema: {
        operationId: 'updateClientInWhmcs',
        tags,
        security,
        params: c.localIdParams,
        summary: "Send a linked client's current data to WHMCS",
        response: { 200: c.updateReply, ...errorResponses(400, ...GUARDED, 404, 409, 422, ...upstream) },
      },
    },
    async (req) => {
      const r = await whmcs.updateOne(req.params.id);
      return { success: true as const, message: 'Client updated in WHMCS successfully', whmcs_id: r.whmcs_id };
    },
  );

  app.post(
    '/api/whmcs/clients/pull/:whmcs_id',
    {
      onRequest: guard,
      schema: {
        operationId: 'pullClientFromWhmcs',
        tags,
        security,
        params: c.whmcsIdParams,
        body: c.pullBody,
        response: { 200: c.pullReply, ...errorResponses(...WITH_BODY, ...GUARDED, 404, 409, ...upstream) },
        summary: 'Bring a WHMCS client into Puente: into laravel_id/local_id when given, the linked user, or a new local client',
      },
    },
    async (req) => {
      const r = await whmcs.pull(req.params.whmcs_id, pickLocalId(req.body ?? {}, false));
      const c = r.client;
      return {
        success: true as const,
        message: 'Client pulled from WHMCS successfully',
        whmcs_client: {
          id: c.id,
          firstname: c.firstname,
          lastname: c.lastname,
          email: c.email,
          companyname: c.companyname,
          address1: c.address1,
          city: c.city,
          state: c.state,
          postcode: c.postcode,
          country: c.countrycode || c.country,
          phonenumber: c.phonenumber,
          status: c.status,
        },
        laravel_data: r.data,
        local_id: r.user.id,
        sync_map_id: r.map.id,
        operation: r.operation,
      };
    },
  );

  app.post(
    '/api/whmcs/clients/list',
    {
      onRequest: guard,
      schema: {
        operationId: 'listWhmcsClients',
        tags,
        security,
        response: { 200: c.listReply, ...errorResponses(...WITH_BODY, ...GUARDED, ...upstream) },
        summary: 'List WHMCS clients (offset, limit, search by prefix of email or name); each row says which local client it is linked to',
        body: c.listBody,
      },
    },
    async (req) => {
      const { offset = 0, limit = 25, search } = req.body ?? {};
      const r = await whmcs.list({ offset, limit, search: search || undefined });
      return { success: true as const, total: r.total, offset, limit, count: r.clients.length, cached: r.cached, clients: r.clients };
    },
  );

  app.post(
    '/api/whmcs/clients/check/:id',
    {
      onRequest: guard,
      schema: {
        operationId: 'checkWhmcsLink',
        tags,
        security,
        params: c.localIdParams,
        summary: 'Whether a local client is linked, and whether WHMCS still has it',
        response: { 200: c.checkReply, ...errorResponses(400, ...GUARDED, 404, ...upstream) },
      },
    },
    async (req) => {
      const r = await whmcs.check(req.params.id);
      return { success: true as const, ...mapReply(r.map), exists_in_whmcs: r.exists, ...(r.remoteError ? { remote_error: r.remoteError } : {}) };
    },
  );

  app.get(
    '/api/whmcs/sync/links',
    {
      onRequest: admin,
      schema: {
        operationId: 'listWhmcsLinks',
        tags,
        security,
        response: { 200: c.linksReply, ...errorResponses(400, ...GUARDED) },
        summary: "The WHMCS link of each given local client (ids=1,2,3; up to 200), for lists; read from Puente's map, so it answers while WHMCS is down",
        querystring: c.linksQuery,
      },
    },
    async (req) => ({ success: true as const, links: (await whmcs.links(req.query.ids)).map((m) => ({ laravel_id: m.laravel_id, ...mapReply(m) })) }),
  );

  app.post(
    '/api/whmcs/sync/link',
    {
      onRequest: guard,
      schema: {
        operationId: 'linkWhmcsClient',
        tags,
        security,
        summary: 'Link a local client with an existing WHMCS client on purpose',
        body: c.linkBody,
        response: { 200: c.linkReply, ...errorResponses(...WITH_BODY, ...GUARDED, 404, 409, ...upstream) },
      },
    },
    async (req) => {
      const r = await whmcs.link(pickLocalId(req.body, true), req.body.whmcs_id);
      return { success: true as const, message: 'Client linked to WHMCS', ...mapReply(r.map) };
    },
  );

  app.post(
    '/api/whmcs/sync/unlink',
    {
      onRequest: guard,
      schema: {
        operationId: 'unlinkWhmcsClient',
        tags,
        security,
        summary: 'Remove the link between a local record and WHMCS (nothing is deleted in WHMCS)',
        body: c.unlinkBody,
        response: { 200: c.unlinkReply, ...errorResponses(...WITH_BODY, ...GUARDED, 404, 503) },
      },
    },
    async (req) => {
      const removed = await whmcs.unlink(req.body.entity_type, pickLocalId(req.body, true));
      return { success: true as const, message: 'Client unlinked from WHMCS', whmcs_id: removed.whmcs_id };
    },
  );

  app.post(
    '/api/whmcs/sync/logs',
    {
      onRequest: guard,
      schema: {
        operationId: 'listWhmcsLogs',
        tags,
        security,
        response: { 200: c.logsReply, ...errorResponses(...WITH_BODY, ...GUARDED, 503) },
        summary: 'The audit log of WHMCS operations, newest first (secrets redacted)',
        body: c.logsBody,
      },
    },
    async (req) => {
      const b = req.body ?? { days: 7, limit: 50, offset: 0 };
      const { items, total } = await whmcs.logs({ ...b, laravel_id: pickLocalId(b, false) });
      return { success: true as const, total, limit: b.limit, offset: b.offset, logs: items.map(logReply) };
    },
  );

  app.get(
    '/api/whmcs/sync/stats',
    {
      onRequest: guard,
      schema: {
        operationId: 'getWhmcsStats',
        tags,
        security,
        summary: 'Counts of synced, pending and failed links',
        response: { 200: c.statsReply, ...errorResponses(...GUARDED, 503) },
      },
    },
    async () => {
      const s = await whmcs.stats();
      return {
        success: true as const,
        stats: {
          total_synced: s.totals.synced,
          total_pending: s.totals.pending,
          total_errors: s.totals.errors,
          by_entity_type: Object.fromEntries(s.byType.map((t) => [t.entity_type, t.n])),
          last_activity_at: s.lastActivity,
        },
      };
    },
  );

  app.post(
    '/api/whmcs/clients/push-all',
    {
      onRequest: guard,
      schema: {
        operationId: 'pushAllClientsToWhmcs',
        tags,
        security,
        summary: 'Push every unlinked local client, as a paced background job (follow /ws/job/{job_id})',
        response: { 200: c.pushAllReply, ...errorResponses(...GUARDED, 503) },
      },
    },
    async (req) => {
      const { job, created } = await ctx.jobs.start(WHMCS_PUSH_ALL, {}, { createdBy: req.principal?.sub ?? null });
      return { success: true as const, already_running: !created, job_id: job.id, job: jobReply(job) };
    },
  );
}
