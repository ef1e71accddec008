import { z } from 'zod';
import type { App, AppContext } from '../context.ts';
import { requireRole } from '../auth/guards.ts';
import { pageMeta } from '../http/pagination.ts';
import { jobNotFound, jobOutcome, jobReply } from './jobs.service.ts';

const jobIdParams = z.object({ job_id: z.string().min(1).max(64) });
const retryBody = z.object({
  /** Bulk sends: also send to recipients whose first send may have reached them (they may get it twice). */
  include_uncertain: z.boolean().optional(),
}).strict().nullish();
const listQuery = z.object({
  type: z.string().max(64).optional(),
  status: z.enum(['pending', 'processing', 'paused', 'completed', 'failed', 'cancelled']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  offset: z.coerce.number().int().min(0).default(0),
  // page/per_page, when given, win over limit/offset (the dashboard pages with them).
  page: z.coerce.number().int().min(1).optional(),
  per_page: z.coerce.number().int().min(1).max(500).optional(),
  scheduled: z.enum(['true', 'false']).optional(),
});
const itemsQuery = z.object({
  status: z.string().max(32).optional(),
  reason: z.string().max(200).optional(),
  page: z.coerce.number().int().min(1).default(1),
  per_page: z.coerce.number().int().min(1).max(500).default(50),
});

/** `GET /jobs`, `GET /jobs/{job_id}` (seed 004's shapes, for every job type) and job controls. */
export function jobsRoutes(app: App, ctx: AppContext) {
  // Access-code sessions may follow jobs (status and counts), not control them.
  const reader = requireRole(ctx.tokens, 'admin', 'operator', 'code');
  const guard = requireRole(ctx.tokens, 'admin', 'operator');
  const config = { replyShape: 'status' as const };

  app.get('/jobs', {
    onRequest: reader, config,
    schema: {
      tags: ['jobs'], security: [{ bearer: [] }], querystring: listQuery,
      summary: 'List jobs, newest first (an array, as seed 004), filtered by type, status and scheduled=true|false (runs the scheduler started). Page with page/per_page or limit/offset; X-Total-Count carries the total.',
    },
  }, async (req, reply) => {
    const q = req.query;
    const limit = q.per_page ?? (q.page ? 50 : q.limit);
    const offset = q.page ? (q.page - 1) * limit : q.offset;
    const { items, total } = await ctx.jobs.list({ type: q.type, status: q.status, scheduled: q.scheduled === undefined ? undefined : q.scheduled === 'true', limit, offset });
    reply.header('x-total-count', String(total));
    return items.map((j) => ({ ...jobReply(j), retryable: ctx.jobs.retryable(j) }));
  });

  // Items carry people's phone numbers and names: staff only, like the results CSV.
  app.get('/jobs/:job_id/items', {
    onRequest: guard, config,
    schema: {
      tags: ['jobs'], security: [{ bearer: [] }], params: jobIdParams, querystring: itemsQuery,
      summary: 'A job\'s records and what each came to (a bulk send\'s recipients; a Wispro sync\'s clients: created, updated, unchanged, skipped, failed; a WHMCS push\'s customers), filtered by status or reason code, paged',
    },
  }, async (req) => {
    const { page, per_page, status, reason } = req.query;
    const { job, items, total } = await ctx.jobs.items(req.params.job_id, { status, reason, limit: per_page, offset: (page - 1) * per_page });
    return { status: 'success', job_id: job.id, type: job.type, items, meta: pageMeta(page, per_page, total) };
  });

  app.get('/jobs/:job_id/failures/summary', {
    onRequest: guard, config,
    schema: { tags: ['jobs'], security: [{ bearer: [] }], params: jobIdParams, summary: 'A job\'s failed records grouped by reason, largest group first; list a group with /items?reason={reason_code}' },
  }, async (req) => {
    const { job, groups, total } = await ctx.jobs.failureSummary(req.params.job_id);
    return { status: 'success', job_id: job.id, type: job.type, outcome: jobOutcome(job), total_failed: total, groups };
  });

  app.get('/jobs/:job_id', {
    onRequest: reader, config,
    schema: { tags: ['jobs'], security: [{ bearer: [] }], params: jobIdParams, summary: 'One job with its progress and results' },
  }, async (req) => {
    const job = await ctx.jobs.get(req.params.job_id);
    if (!job) throw jobNotFound(req.params.job_id);
    return { ...jobReply(job), retryable: ctx.jobs.retryable(job) };
  });

  for (const action of ['cancel', 'pause', 'resume'] as const) {
    app.post(`/jobs/:job_id/${action}`, {
      onRequest: guard, config,
      schema: { tags: ['jobs'], security: [{ bearer: [] }], params: jobIdParams, summary: `${action[0]!.toUpperCase()}${action.slice(1)} a job` },
    }, async (req) => {
      const job = await ctx.jobs[action](req.params.job_id);
      return { status: 'success', message: `Job ${job.status}`, job: jobReply(job) };
    });
  }

  app.post('/jobs/:job_id/retry', {
    onRequest: guard, config,
    schema: {
      tags: ['jobs'], security: [{ bearer: [] }], params: jobIdParams, body: retryBody,
      summary: 'Retry a failed or cancelled job as a new job (retry_of) that skips what was already sent or synced',
    },
  }, async (req, reply) => {
    const job = await ctx.jobs.retry(req.params.job_id, { includeUncertain: req.body?.include_uncertain ?? false, createdBy: req.principal?.sub ?? null });
    reply.code(201);
    return { status: 'success', message: 'Reintento creado / Retry started', job_id: job.id, job: jobReply(job) };
  });
}
