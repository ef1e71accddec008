import type { SQL } from 'drizzle-orm';
import type { z } from 'zod';
import type { Executor } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import type { JobRecord } from './jobs.repository.ts';

/** A job event as streamed on `/ws/job/:id` (seed 004's names: job_started, progress, error, …). */
export type JobEvent = { type: string; job_id: string } & Record<string, unknown>;

export interface JobContext<T> {
  job: JobRecord;
  data: T;
  /** 0 on the first attempt, then 1, 2… on retries. */
  attempt: number;
  isLastAttempt: boolean;
  /** Aborted when the job is cancelled or paused, or the process is shutting down. */
  signal: AbortSignal;
  logger: Logger;
  /** What the last attempt saved through `transaction`; null on a fresh job. */
  checkpoint: unknown;
  /** Latest counters; written to the row and published at most a few times a second. */
  progress(progress: Record<string, unknown>, event?: Record<string, unknown>): void;
  /** Publishes an event at once (job_started, chunk_processing, error…). */
  emit(event: Omit<JobEvent, 'job_id'>): Promise<void>;
  /**
   * Runs `fn` in a transaction; what it saves as checkpoint commits with its work, or not at all. The
   * transaction is fenced by the attempt's lease: if the job was taken over, nothing commits and the
   * attempt stops (JobStoppedError).
   */
  transaction<R>(fn: (tx: Executor, saveCheckpoint: (value: unknown) => Promise<void>) => Promise<R>): Promise<R>;
  /**
   * An `UPDATE` of this job's row that saves `checkpoint` and `progress` (SQL expressions of type
   * jsonb) and returns its `status`, for a handler that saves its progress with its checkpoint, or
   * that runs the update as a CTE of a larger statement.
   */
  checkpointStatement(checkpoint: SQL, progress: SQL): SQL;
  /** Throws if the job was stopped; call between units of work. */
  throwIfStopped(): void;
}

export interface JobDefinition<T = unknown> {
  /** Queue and job type, e.g. `wispro.sync`. */
  type: string;
  payload: z.ZodType<T>;
  /** Retries after the first attempt (the seed's "3 tries" is retryLimit 2). */
  retryLimit?: number;
  retryDelaySeconds?: number;
  retryBackoff?: boolean;
  timeoutSeconds?: number;
  /** Seconds without a heartbeat after which a crashed worker's job is retried elsewhere. */
  heartbeatSeconds?: number;
  /** Parallel jobs of this type per process. */
  concurrency?: number;
  /** Only one pending or running job of this type at a time; `start` returns the running one. */
  singleton?: boolean;
  /** Cron expression (distributed-safe: each tick runs once across processes), or a function of config. */
  schedule?: () => string | null;
  /** Text of the job_started event. */
  startMessage?: (job: JobRecord) => string;
  // A method, so that a definition of any payload type is a `JobDefinition` (of unknown payload) in the runner's registry.
  handler(ctx: JobContext<T>): Promise<Record<string, unknown> | void>;
  /**
   * Final counts of a job whose worker was lost on its last attempt (see jobs.reconciler.ts), from
   * what it recorded; runs in the transaction that closes the record. Without it the last progress
   * written stands and becomes the results.
   */
  settleLost?: (tx: Executor, job: JobRecord) => Promise<{ progress?: Record<string, unknown>; results?: Record<string, unknown> }>;
  /**
   * Present when an operator may retry a failed or cancelled job of this type (`POST /jobs/{id}/retry`):
   * the new job starts from the old one's checkpoint; `carryOver` copies whatever else it must not
   * redo, in the transaction that creates the new record, and may return its starting progress.
   */
  retry?: {
    carryOver?: (tx: Executor, from: JobRecord, to: JobRecord, options: RetryOptions) => Promise<{ progress?: Record<string, unknown> } | void>;
  };
  /** Where the job's per-record outcomes live, when not in `job_items` (a bulk send's recipients). */
  items?: JobItemsSource;
}

export interface RetryOptions {
  /** Send again to bulk recipients whose first send may or may not have reached them (off by default). */
  includeUncertain: boolean;
}

/** One record of a job and what it came to. */
export interface JobItem {
  key: string;
  status: string;
  reason_code: string | null;
  reason: string | null;
  label: string | null;
  [field: string]: unknown;
}
export interface JobItemsFilter {
  status?: string;
  reason?: string;
  limit: number;
  offset: number;
}
export interface FailureGroup {
  reason_code: string | null;
  reason: string | null;
  count: number;
}

export interface JobItemsSource {
  page(jobId: string, f: JobItemsFilter): Promise<{ items: JobItem[]; total: number }>;
  /** Failed records grouped by reason code, largest group first. */
  failures(jobId: string): Promise<FailureGroup[]>;
}

export function defineJob<T>(definition: JobDefinition<T>): JobDefinition<T> {
  return definition;
}

/** A failure that retrying cannot fix (bad credentials, licence expired): the job fails at once. */
export class PermanentJobError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PermanentJobError';
  }
}

/** Thrown inside a handler when the job was cancelled, paused or released by a shutdown. */
export class JobStoppedError extends Error {
  readonly reason: 'cancelled' | 'paused' | 'shutdown';
  constructor(reason: 'cancelled' | 'paused' | 'shutdown') {
    super(`job ${reason}`);
    this.name = 'JobStoppedError';
    this.reason = reason;
  }
}

export const jobChannel = (id: string) => `job:${id}`;
export const jobControlChannel = 'job-control';
