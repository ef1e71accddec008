/**
 * Shared pieces of the HTTP contract: error replies, page meta, the job reply and security
 * requirements. This file imports only `zod` (contract files may import each other), so the
 * dashboard can `import type` the inferred types without pulling in server code.
 *
 * Response schemas describe the body as it goes over the wire (dates are ISO strings). Under the
 * test suite every reply is checked against its route's schema for its status; see
 * `response-check.ts`.
 */
import { z } from 'zod';

/** `{success:false,message,code}`: the error shape of seeds 000 and 002 (and every route not under seed 004). */
export const errorReply = z
  .looseObject({
    success: z.literal(false),
    message: z.string().describe('Human-readable message (Spanish, with English where given)'),
    code: z.string().describe('Stable dotted code, e.g. `whmcs.email_exists`, `validation_error` (see docs/errors.md)'),
    details: z.unknown().optional().describe('What the message was built from, or the invalid fields'),
  })
  .meta({ id: 'ErrorReply' });

/** `{status:"error",message,code}`: the error shape of seed 004 (bulk messaging and jobs). */
export const statusErrorReply = z
  .looseObject({
    status: z.literal('error'),
    message: z.string().describe('Human-readable message (Spanish, with English where given)'),
    code: z.string().describe('Stable dotted code, e.g. `job.not_retryable`, `validation_error` (see docs/errors.md)'),
    details: z.unknown().optional().describe('What the message was built from, or the invalid fields'),
  })
  .meta({ id: 'StatusErrorReply' });

export type ErrorReply = z.input<typeof errorReply>;
export type StatusErrorReply = z.input<typeof statusErrorReply>;

export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 422 | 429 | 500 | 502 | 503 | 504;

const describeStatus: Record<ErrorStatus, string> = {
  400: 'Invalid input (`validation_error`, `invalid_value`, …)',
  401: 'Missing, invalid or expired credentials (`unauthorized`)',
  403: 'The caller may not do this (`forbidden`)',
  404: 'Not found',
  409: 'Conflicts with the current state',
  413: 'Body or file too large',
  415: 'Unsupported media type',
  422: 'Understood but cannot be processed',
  429: 'Too many attempts (`rate_limited`)',
  500: 'Unexpected server error (`internal_error`)',
  502: 'An upstream service answered badly (`upstream_error`)',
  503: 'Not configured or not available; `database.unavailable` (with `Retry-After`) while the database cannot be reached',
  504: 'An upstream service did not answer in time (`upstream_timeout`)',
};

function responsesFor<S extends z.ZodType, T extends ErrorStatus>(schema: S, statuses: T[]): Record<T | 500 | 503, S> {
  // Any route can fail unexpectedly (500) or find the database unreachable (503 `database.unavailable`).
  const all = new Set<ErrorStatus>([...statuses, 500, 503]);
  const out = {} as Record<ErrorStatus, S>;
  for (const status of all) out[status] = schema.describe(describeStatus[status]) as S;
  return out;
}

/**
 * Error entries for a route's `response:` map in the `{success:false}` shape, one per status the
 * route can answer. 500 and 503 are always included (any route can fail unexpectedly or find the
 * database unreachable).
 * Use: `response: { 200: reply, ...errorResponses(400, 401, 404) }`.
 */
export const errorResponses = <T extends ErrorStatus = never>(...statuses: T[]) => responsesFor(errorReply, statuses);

/** Same as `errorResponses`, in seed 004's `{status:"error"}` shape (routes with `replyShape: 'status'`). */
export const statusErrorResponses = <T extends ErrorStatus = never>(...statuses: T[]) => responsesFor(statusErrorReply, statuses);

/** The statuses a guarded route can answer before its handler runs: 401 without a valid token, 403 for a role it does not allow. */
export const GUARDED = [401, 403] as const;
/** What reading a JSON body can answer: invalid (400), too large (413), not JSON (415). */
export const WITH_BODY = [400, 413, 415] as const;

/** `meta` of a paged list (seed 000's `current_page`/`per_page`/`total`/`total_pages`). */
export const pageMeta = z
  .object({
    current_page: z.number().int(),
    per_page: z.number().int(),
    total: z.number().int(),
    total_pages: z.number().int(),
  })
  .meta({ id: 'PageMeta' });
export type PageMeta = z.input<typeof pageMeta>;

/** Query of a paged list. */
export const pageQuery = z.object({
  page: z.coerce.number().int().min(1).default(1),
  per_page: z.coerce.number().int().min(1).max(500).default(50),
});

/**
 * An ISO 8601 date-time on the wire. Handlers may hand over a `Date` (it is sent as its ISO string);
 * the type a client reads (`z.input`) is `string`.
 */
export const isoDate = z.string().meta({ description: 'ISO 8601 date-time', format: 'date-time' }) as unknown as z.ZodType<string | Date, string>;

export const jobStatus = z.enum(['pending', 'processing', 'paused', 'completed', 'failed', 'cancelled']);
export type JobStatus = z.input<typeof jobStatus>;

/**
 * The public shape of a job (seed 004's, for every job type). The job's parameters (such as a bulk
 * send's `message`) sit at the top level, next to these fields.
 */
export const jobReply = z
  .looseObject({
    id: z.string(),
    type: z.string(),
    status: jobStatus,
    created_at: isoDate,
    updated_at: isoDate,
    started_at: isoDate.nullable(),
    finished_at: isoDate.nullable(),
    progress: z.record(z.string(), z.unknown()),
    results: z.record(z.string(), z.unknown()).nullable(),
    error: z.string().nullable(),
    attempts: z.number().int(),
    retry_of: z.string().nullable(),
    retried_as: z.string().nullable(),
    outcome: z.enum(['ok', 'with_errors', 'failed', 'cancelled']).nullable().describe('What a finished job came to; null while it runs'),
    scheduled: z.boolean().describe('Started by the scheduler'),
    retryable: z.boolean().optional().describe('Whether `POST /jobs/{job_id}/retry` would accept it'),
  })
  .meta({ id: 'Job' });
export type JobReply = z.input<typeof jobReply>;

/** `202`-style reply of a route that started a job. */
export const jobStarted = z.looseObject({
  success: z.literal(true),
  message: z.string(),
  job_id: z.string(),
});
export type JobStarted = z.input<typeof jobStarted>;

/** `{success:true,message}`. */
export const okMessage = z.looseObject({ success: z.literal(true), message: z.string() });

/** Security requirements, as the OpenAPI document names its schemes. */
export const bearerAuth = [{ bearer: [] }];
/** `/sync/*`: a sync client's API key, sent as `Authorization: Bearer <api key>`. */
export const syncKeyAuth = [{ syncApiKey: [] }];
/** Either a staff token or a sync client's API key (e.g. `/orders`). */
export const bearerOrSyncKeyAuth = [{ bearer: [] }, { syncApiKey: [] }];
/** Routes anyone may call. */
export const noAuth: Array<Record<string, string[]>> = [];
