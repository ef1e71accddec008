/**
 * The `/ws/job/{id}` contract (seed 004's job socket, for every job type): each JSON message the
 * server sends, and the one a client may send. Imports only `zod`, so the dashboard can
 * `import type` from it. A socket without a valid staff token gets the same events with phone
 * numbers masked (`+51*******23`): still strings.
 */
import { z } from 'zod';

const jobId = z.string().describe("The job's id");

/** A job's counters. A bulk send's are the listed ones; other jobs carry their own (`pages`, `upserted`, `created`…). */
export const jobProgress = z
  .looseObject({
    sent: z.number().optional(),
    failed: z.number().optional(),
    uncertain: z.number().optional().describe('Sends that may or may not have gone out (never repeated)'),
    suppressed: z.number().optional().describe('Recipients who had opted out'),
    delivered: z.number().optional(),
    read: z.number().optional(),
    failed_after_send: z.number().optional(),
    total: z.number().optional(),
    percentage: z.number().optional().describe('0–100, one decimal'),
  })
  .meta({ id: 'JobProgress' });
export type JobProgress = z.infer<typeof jobProgress>;

const results = z.record(z.string(), z.unknown()).describe('The final counters (a bulk send adds `invalid_numbers`, `duplicates`, `settles_at`…)');

export const subscribedEvent = z
  .object({ type: z.literal('subscribed'), job_id: jobId, message: z.string() })
  .meta({ id: 'JobSubscribed', description: 'First message on every socket.' });

export const jobStartedEvent = z
  .object({ type: z.literal('job_started'), job_id: jobId, message: z.string() })
  .meta({ id: 'JobStarted', description: 'A worker has started (or resumed) the job.' });

export const chunkProcessingEvent = z
  .object({
    type: z.literal('chunk_processing'),
    job_id: jobId,
    chunk_start: z.number().int(),
    chunk_end: z.number().int(),
    total: z.number().int(),
    message: z.string(),
  })
  .meta({ id: 'JobChunkProcessing', description: 'A bulk send starts a chunk of 1,000 recipients.' });

export const progressEvent = z
  .looseObject({
    type: z.literal('progress'),
    job_id: jobId,
    progress: jobProgress,
    status: z
      .string()
      .optional()
      .describe(
        "A bulk send's last recorded outcome (`sent`, `failed`, `uncertain`, `retrying`), or the job's status in the catch-up event a late subscriber gets",
      ),
    device_id: z.number().int().optional(),
    phone: z.string().optional(),
    message: z.string().optional(),
  })
  .meta({ id: 'JobProgressEvent', description: 'The latest counters: at most every 250 ms per socket (the latest wins).' });

export const errorEvent = z
  .looseObject({
    type: z.literal('error'),
    job_id: jobId,
    error: z.string().describe('The reason, as the provider or the upstream gave it'),
    device_id: z.number().int().optional(),
    phone: z.string().optional(),
    user_id: z.number().int().optional().describe('WHMCS push: the customer that failed'),
    message: z.string().optional().describe('Set when a device was paused and its work moved to others'),
    progress: jobProgress.optional(),
  })
  .meta({ id: 'JobError', description: 'A record that ended failed or uncertain (at most 20 a second per socket), or a paused device.' });

export const deliveryEvent = z
  .object({ type: z.literal('delivery'), job_id: jobId, status: z.string().describe("The job's status"), progress: jobProgress })
  .meta({ id: 'JobDelivery', description: "Receipts moved a bulk send's delivered/read/failed counters (at most every 250 ms, also after job_completed)." });

export const jobCompletedEvent = z
  .object({ type: z.literal('job_completed'), job_id: jobId, status: z.literal('completed'), results })
  .meta({ id: 'JobCompleted' });

export const jobFailedEvent = z
  .looseObject({
    type: z.literal('job_failed'),
    job_id: jobId,
    status: z.literal('failed').optional(),
    error: z.string().nullable().describe('The reason; `not_found` for a job that does not exist (the socket then closes with 4404)'),
    message: z.string(),
    progress: jobProgress.optional(),
    results: results.nullable().optional(),
  })
  .meta({ id: 'JobFailed' });

export const jobCancelledEvent = z
  .object({ type: z.literal('job_cancelled'), job_id: jobId, status: z.literal('cancelled'), progress: jobProgress })
  .meta({ id: 'JobCancelled' });

export const jobPausedEvent = z
  .object({ type: z.literal('job_paused'), job_id: jobId, status: z.literal('paused'), progress: jobProgress })
  .meta({ id: 'JobPaused' });

export const jobResumedEvent = z
  .object({ type: z.literal('job_resumed'), job_id: jobId, status: z.literal('pending') })
  .meta({ id: 'JobResumed', description: 'The job was resumed and waits for a worker.' });

export const pongEvent = z
  .object({ type: z.literal('pong'), job_id: jobId, timestamp: z.union([z.string(), z.number()]).describe("The ping's own timestamp, or the server's time") })
  .meta({ id: 'JobPong' });

/** Every message the server sends on `/ws/job/{id}`. */
export const jobSocketEvent = z.discriminatedUnion('type', [
  subscribedEvent,
  jobStartedEvent,
  chunkProcessingEvent,
  progressEvent,
  errorEvent,
  deliveryEvent,
  jobCompletedEvent,
  jobFailedEvent,
  jobCancelledEvent,
  jobPausedEvent,
  jobResumedEvent,
  pongEvent,
]);
export type JobSocketEvent = z.infer<typeof jobSocketEvent>;
export type JobSocketEventType = JobSocketEvent['type'];
/** The event of one type, e.g. `JobSocketEventOf<'progress'>`. */
export type JobSocketEventOf<T extends JobSocketEventType> = Extract<JobSocketEvent, { type: T }>;

/** The one message a client sends: `{"type":"ping","timestamp":…}` (a bare `ping` text frame is read as this too). */
export const pingMessage = z
  .object({ type: z.literal('ping'), timestamp: z.union([z.string().max(100), z.number()]).optional() })
  .meta({ id: 'JobPing', description: 'Answered with `pong`. Any other message is ignored.' });
export type PingMessage = z.infer<typeof pingMessage>;

/** What the terminal events mean: after one of them an anonymous viewer's socket is closed (1000). */
export const TERMINAL_EVENTS: readonly JobSocketEventType[] = ['job_completed', 'job_failed', 'job_cancelled'];
