import { z } from 'zod';
import type { App, AppContext } from '../context.ts';
import { requireRole } from '../auth/guards.ts';
import { notFound } from '../http/errors.ts';
import { jobReply } from './jobs.service.ts';

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
      summary: 'List jobs, newest first (an array, as seed 004). X-Total-Count carries the total.',
    },
  }, async (req, reply) => {
    const { items, total } = await ctx.jobs.list(req.query);
    reply.header('x-total-count', String(total));
    return items.map((j) => ({ ...jobReply(j), retryable: ctx.jobs.retryable(j) }));
  });

  app.get('/jobs/:job_id', {
    onRequest: reader, config,
    schema: { tags: ['jobs'], security: [{ bearer: [] }], params: jobIdParams, summary: 'One job with its progress and results' },
  }, async (req) => {
    const job = await ctx.jobs.get(req.params.job_id);
    if (!job) throw notFound('Job no encontrado / Job not found');
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
    preHandler: guard, config,
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
