import { z } from 'zod';
import type { App, AppContext } from '../../platform/context.ts';
import { requireRole } from '../../platform/auth/guards.ts';
import { AppError } from '../../platform/http/errors.ts';
import { jobReply } from '../../platform/jobs/jobs.service.ts';
import { WHMCS_PUSH_ALL } from './whmcs.jobs.ts';
import type { SyncLogRow, SyncMapRow } from './whmcs.repository.ts';
import { seedTime } from './whmcs.service.ts';

const localIdParams = z.object({ id: z.coerce.number().int().positive() });
const whmcsIdParams = z.object({ whmcs_id: z.coerce.number().int().positive() });
const entityType = z.string().trim().min(1).max(40).default('client');
/** The seed names the local id `laravel_id`; Puente also accepts `local_id`. */
const localRef = { laravel_id: z.coerce.number().int().positive().optional(), local_id: z.coerce.number().int().positive().optional() };

function pickLocalId(body: { laravel_id?: number; local_id?: number }, required: true): number;
function pickLocalId(body: { laravel_id?: number; local_id?: number }, required: false): number | undefined;
function pickLocalId(body: { laravel_id?: number; local_id?: number }, required: boolean) {
  if (body.laravel_id && body.local_id && body.laravel_id !== body.local_id) throw new AppError('whmcs.ids_disagree', 'laravel_id y local_id no coinciden; envíe solo uno / send only one of laravel_id and local_id', { laravel_id: body.laravel_id, local_id: body.local_id });
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
export function whmcsRoutes(app: App, ctx: AppContext) {
  const whmcs = ctx.services.whmcs;
  const admin = requireRole(ctx.tokens, 'admin');
  const guard = [admin, async () => whmcs.ensureAvailable()];
  const tags = ['whmcs'], security = [{ bearer: [] }];

  app.get('/api/whmcs/sync/test', {
    onRequest: guard, schema: { tags, security, summary: 'Test the connection: WHMCS version and response time' },
  }, async () => {
    const t = await whmcs.testConnection();
    return { success: true, message: 'Connection successful', whmcs_version: t.version, response_time_ms: t.ms };
  });

  app.post('/api/whmcs/clients/push/:id', {
    onRequest: guard,
    schema: {
      tags, security, params: localIdParams,
      summary: 'Send a local client to WHMCS (created, or updated when already linked). 409 with whmcs_id when the email exists in WHMCS; 422 names missing fields.',
      body: z.object({ force_create: z.boolean().default(false) }).nullish(),
    },
  }, async (req) => {
    const r = await whmcs.pushOne(req.params.id, req.body?.force_create ?? false);
    return {
      success: true, message: r.outcome === 'created' ? 'Client pushed to WHMCS successfully' : 'Client updated in WHMCS successfully',
      whmcs_id: r.whmcs_id, sync_map_id: r.sync_map_id, operation: r.outcome,
    };
  });

  app.post('/api/whmcs/clients/update/:id', {
    onRequest: guard, schema: { tags, security, params: localIdParams, summary: 'Send a linked client\'s current data to WHMCS' },
  }, async (req) => {
    const r = await whmcs.updateOne(req.params.id);
    return { success: true, message: 'Client updated in WHMCS successfully', whmcs_id: r.whmcs_id };
  });

  app.post('/api/whmcs/clients/pull/:whmcs_id', {
    onRequest: guard,
    schema: {
      tags, security, params: whmcsIdParams, body: z.object(localRef).nullish(),
      summary: 'Bring a WHMCS client into Puente: into laravel_id/local_id when given, the linked user, or a new local client',
    },
  }, async (req) => {
    const r = await whmcs.pull(req.params.whmcs_id, pickLocalId(req.body ?? {}, false));
    const c = r.client;
    return {
      success: true, message: 'Client pulled from WHMCS successfully',
      whmcs_client: {
        id: c.id, firstname: c.firstname, lastname: c.lastname, email: c.email, companyname: c.companyname, address1: c.address1,
        city: c.city, state: c.state, postcode: c.postcode, country: c.countrycode || c.country, phonenumber: c.phonenumber, status: c.status,
      },
      laravel_data: r.data, local_id: r.user.id, sync_map_id: r.map.id, operation: r.operation,
    };
  });

  app.post('/api/whmcs/clients/list', {
    onRequest: guard,
    schema: {
      tags, security, summary: 'List WHMCS clients (offset, limit, search by prefix of email or name); each row says which local client it is linked to',
      body: z.object({ offset: z.coerce.number().int().min(0).default(0), limit: z.coerce.number().int().min(1).max(500).default(25), search: z.string().trim().max(200).optional() }).nullish(),
    },
  }, async (req) => {
    const { offset = 0, limit = 25, search } = req.body ?? {};
    const r = await whmcs.list({ offset, limit, search: search || undefined });
    return { success: true, total: r.total, offset, limit, count: r.clients.length, cached: r.cached, clients: r.clients };
  });

  app.post('/api/whmcs/clients/check/:id', {
    onRequest: guard, schema: { tags, security, params: localIdParams, summary: 'Whether a local client is linked, and whether WHMCS still has it' },
  }, async (req) => {
    const r = await whmcs.check(req.params.id);
    return { success: true, ...mapReply(r.map), exists_in_whmcs: r.exists, ...(r.remoteError ? { remote_error: r.remoteError } : {}) };
  });

  app.get('/api/whmcs/sync/links', {
    onRequest: admin,
    schema: {
      tags, security, summary: 'The WHMCS link of each given local client (ids=1,2,3; up to 200), for lists; read from Puente\'s map, so it answers while WHMCS is down',
      querystring: z.object({ ids: z.string().max(2000).transform((v, c) => {
        const ids = v.split(',').filter(Boolean).map(Number);
        if (ids.length > 200 || ids.some((n) => !Number.isInteger(n) || n < 1)) c.addIssue({ code: 'custom', message: 'ids: up to 200 positive integers, comma-separated' });
        return ids;
      }) }),
    },
  }, async (req) => ({ success: true, links: (await whmcs.links(req.query.ids)).map((m) => ({ laravel_id: m.laravel_id, ...mapReply(m) })) }));

  app.post('/api/whmcs/sync/link', {
    onRequest: guard,
    schema: { tags, security, summary: 'Link a local client with an existing WHMCS client on purpose', body: z.object({ entity_type: z.literal('client').default('client'), whmcs_id: z.coerce.number().int().positive(), ...localRef }) },
  }, async (req) => {
    const r = await whmcs.link(pickLocalId(req.body, true), req.body.whmcs_id);
    return { success: true, message: 'Client linked to WHMCS', ...mapReply(r.map) };
  });

  app.post('/api/whmcs/sync/unlink', {
    onRequest: guard,
    schema: { tags, security, summary: 'Remove the link between a local record and WHMCS (nothing is deleted in WHMCS)', body: z.object({ entity_type: entityType, ...localRef }) },
  }, async (req) => {
    const removed = await whmcs.unlink(req.body.entity_type, pickLocalId(req.body, true));
    return { success: true, message: 'Client unlinked from WHMCS', whmcs_id: removed.whmcs_id };
  });

  app.post('/api/whmcs/sync/logs', {
    onRequest: guard,
    schema: {
      tags, security, summary: 'The audit log of WHMCS operations, newest first (secrets redacted)',
      body: z.object({
        entity_type: z.string().trim().max(40).optional(), status: z.enum(['success', 'error']).optional(),
        operation: z.string().trim().max(40).optional(), whmcs_id: z.coerce.number().int().positive().optional(), ...localRef,
        days: z.coerce.number().int().min(1).max(3650).default(7), limit: z.coerce.number().int().min(1).max(500).default(50), offset: z.coerce.number().int().min(0).default(0),
      }).nullish(),
    },
  }, async (req) => {
    const b = req.body ?? { days: 7, limit: 50, offset: 0 };
    const { items, total } = await whmcs.logs({ ...b, laravel_id: pickLocalId(b, false) });
    return { success: true, total, limit: b.limit, offset: b.offset, logs: items.map(logReply) };
  });

  app.get('/api/whmcs/sync/stats', {
    onRequest: guard, schema: { tags, security, summary: 'Counts of synced, pending and failed links' },
  }, async () => {
    const s = await whmcs.stats();
    return {
      success: true,
      stats: {
        total_synced: s.totals.synced, total_pending: s.totals.pending, total_errors: s.totals.errors,
        by_entity_type: Object.fromEntries(s.byType.map((t) => [t.entity_type, t.n])), last_activity_at: s.lastActivity,
      },
    };
  });

  app.post('/api/whmcs/clients/push-all', {
    onRequest: guard, schema: { tags, security, summary: 'Push every unlinked local client, as a paced background job (follow /ws/job/{job_id})' },
  }, async (req) => {
    const { job, created } = await ctx.jobs.start(WHMCS_PUSH_ALL, {}, { createdBy: req.principal?.sub ?? null });
    return { success: true, already_running: !created, job_id: job.id, job: jobReply(job) };
  });
}
