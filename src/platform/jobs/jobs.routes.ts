import type { App, RuntimeContext } from '../context.ts';
import { requireRole } from '../auth/guards.ts';
import { pageMeta } from '../http/pagination.ts';
import { bearerAuth, GUARDED, statusErrorResponses } from '../http/contract.ts';
import {
  failureSummaryReply,
  jobControlReply,
  jobIdParams,
  jobItemsQuery,
  jobItemsReply,
  jobList,
  jobRetryReply,
  listJobsQuery,
  retryBody,
} from './jobs.contract.ts';
import { jobReply as jobSchema } from '../http/contract.ts';
import { jobNotFound, jobOutcome, jobReply } from './jobs.service.ts';

/** `GET /jobs`, `GET /jobs/{job_id}` (seed 004's shapes, for every job type) and job controls. */
export function jobsRoutes(app: App, ctx: RuntimeContext) {
  // Access-code sessions may follow jobs (status and counts), not control them.
  const reader = requireRole(ctx.tokens, 'admin', 'operator', 'code');
  const guard = requireRole(ctx.tokens, 'admin', 'operator');
  const config = { replyShape: 'status' as const };

  app.get(
    '/jobs',
    {
      onRequest: reader,
      config,
      schema: {
        operationId: 'listJobs',
        tags: ['jobs'],
        security: bearerAuth,
        querystring: listJobsQuery,
        response: { 200: jobList, ...statusErrorResponses(400, ...GUARDED) },
        summary:
          'List jobs, newest first (an array, as seed 004), filtered by type, status and scheduled=true|false (runs the scheduler started). Page with page/per_page or limit/offset; X-Total-Count carries the total.',
      },
    },
    async (req, reply) => {
      const q = req.query;
      const limit = q.per_page ?? (q.page ? 50 : q.limit);
      const offset = q.page ? (q.page - 1) * limit : q.offset;
      const { items, total } = await ctx.jobs.list({
        type: q.type,
        status: q.status,
        scheduled: q.scheduled === undefined ? undefined : q.scheduled === 'true',
        limit,
        offset,
      });
      reply.header('x-total-count', String(total));
      return items.map((j) => ({ ...jobReply(j), retryable: ctx.jobs.retryable(j) }));
    },
  );

  // Items carry people's phone numbers and names: staff only, like the results CSV.
  app.get(
    '/jobs/:job_id/items',
    {
      onRequest: guard,
      config,
      schema: {
        operationId: 'listJobItems',
        tags: ['jobs'],
        security: bearerAuth,
        params: jobIdParams,
        querystring: jobItemsQuery,
        response: { 200: jobItemsReply, ...statusErrorResponses(400, ...GUARDED, 404) },
        summary:
          "A job's records and what each came to (a bulk send's recipients; a Wispro sync's clients: created, updated, unchanged, skipped, failed; a WHMCS push's customers), filtered by status or reason code, paged",
      },
    },
    async (req) => {
      const { page, per_page, status, reason } = req.query;
      const { job, items, total } = await ctx.jobs.items(req.params.job_id, { status, reason, limit: per_page, offset: (page - 1) * per_page });
      return { status: 'success' as const, job_id: job.id, type: job.type, items, meta: pageMeta(page, per_page, total) };
    },
  );

  app.get(
    '/jobs/:job_id/failures/summary',
    {
      onRequest: guard,
      config,
      schema: {
        operationId: 'summarizeJobFailures',
        tags: ['jobs'],
        security: bearerAuth,
        params: jobIdParams,
        response: { 200: failureSummaryReply, ...statusErrorResponses(400, ...GUARDED, 404) },
        summary: "A job's failed records grouped by reason, largest group first; list a group with /items?reason={reason_code}",
      },
    },
    async (req) => {
      const { job, groups, total } = await ctx.jobs.failureSummary(req.params.job_id);
      return { status: 'success' as const, job_id: job.id, type: job.type, outcome: jobOutcome(job), total_failed: total, groups };
    },
  );

  app.get(
    '/jobs/:job_id',
    {
      onRequest: reader,
      config,
      schema: {
        operationId: 'getJob',
        tags: ['jobs'],
        security: bearerAuth,
        params: jobIdParams,
        summary: 'One job with its progress and results',
        response: { 200: jobSchema, ...statusErrorResponses(400, ...GUARDED, 404) },
      },
    },
    async (req) => {
      const job = await ctx.jobs.get(req.params.job_id);
      if (!job) throw jobNotFound(req.params.job_id);
      return { ...jobReply(job), retryable: ctx.jobs.retryable(job) };
    },
  );

  for (const action of ['cancel', 'pause', 'resume'] as const) {
    app.post(
      `/jobs/:job_id/${action}`,
      {
        onRequest: guard,
        config,
        schema: {
          operationId: `${action}Job`,
          tags: ['jobs'],
          security: bearerAuth,
          params: jobIdParams,
          summary: `${action[0]!.toUpperCase()}${action.slice(1)} a job`,
          response: { 200: jobControlReply, ...statusErrorResponses(400, ...GUARDED, 404, 409) },
        },
      },
      async (req) => {
        const job = await ctx.jobs[action](req.params.job_id);
        return { status: 'success' as const, message: `Job ${job.status}`, job: jobReply(job) };
      },
    );
  }

  app.post(
    '/jobs/:job_id/retry',
    {
      onRequest: guard,
      config,
      schema: {
        operationId: 'retryJob',
        tags: ['jobs'],
        security: bearerAuth,
        params: jobIdParams,
        body: retryBody,
        response: { 201: jobRetryReply, ...statusErrorResponses(400, ...GUARDED, 404, 409, 413, 415) },
        summary: 'Retry a failed or cancelled job as a new job (retry_of) that skips what was already sent or synced',
      },
    },
    async (req, reply) => {
      const job = await ctx.jobs.retry(req.params.job_id, { includeUncertain: req.body?.include_uncertain ?? false, createdBy: req.principal?.sub ?? null });
      reply.code(201);
      return { status: 'success' as const, message: 'Reintento creado / Retry started', job_id: job.id, job: jobReply(job) };
    },
  );
}
