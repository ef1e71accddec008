import { randomUUID } from 'node:crypto';
import type { Database, Executor, Tx } from '../db/client.ts';
import type { EventBus } from '../events/bus.ts';
import { AppError } from '../http/errors.ts';
import { jobChannel, type JobItemsFilter, type JobItemsSource, type RetryOptions } from './job-definition.ts';
import { jobEvents } from './job-events.ts';
import { jobItemsRepository, type JobItemInput } from './job-items.repository.ts';
import type { JobRunner } from './job-runner.ts';
import { jobsRepository, type JobRecord, type JobStatus } from './jobs.repository.ts';
import { recoveryRepository } from './recovery.repository.ts';

export interface StartOptions {
  /** The job's id when the caller needed it earlier (a bulk send stages its recipients under it). */
  id?: string;
  params?: Record<string, unknown>;
  progress?: Record<string, unknown>;
  createdBy?: string | null;
  /** Runs inside the creating transaction before the insert; throwing refuses the job (a duplicate send, say). */
  guard?: (tx: Executor) => Promise<void>;
}

/** What modules and routes use to start, read and steer background jobs. */
export class JobsService {
  readonly #db: Database;
  readonly #runner: JobRunner;
  readonly #bus: EventBus;

  constructor(db: Database, runner: JobRunner, bus: EventBus) {
    this.#db = db;
    this.#runner = runner;
    this.#bus = bus;
  }

  /** Creates the job record and queues it; for a singleton type, returns the active job instead. */
  async start(type: string, payload: unknown, opts: StartOptions = {}): Promise<{ job: JobRecord; created: boolean }> {
    const def = this.#runner.definition(type);
    const data = def.payload.parse(payload);
    const { job, created } = await this.#db.orm.transaction(async (tx) => {
      if (def.singleton) {
        await jobsRepository.lockType(tx, type);
        const active = await jobsRepository.findActive(tx, type);
        if (active) return { job: active, created: false };
      }
      await opts.guard?.(tx);
      const row = await jobsRepository.insert(tx, {
        id: opts.id ?? randomUUID(),
        type,
        params: { ...opts.params, payload: data },
        progress: opts.progress ?? {},
        createdBy: opts.createdBy ?? null,
      });
      return { job: row, created: true };
    });
    if (created) await this.#runner.enqueue(job, data);
    return { job, created };
  }

  /**
   * `start` for a person asking to run a singleton job now: when the active job is only waiting out
   * its retry backoff (it failed an attempt, say during an outage), it is queued again at once
   * instead of returned to wait minutes. Another delivery of the same record is harmless: an attempt
   * claims the record under a lease, and a finished record is not run again.
   */
  async startNow(type: string, payload: unknown, opts: StartOptions = {}): Promise<{ job: JobRecord; created: boolean; retriedNow: boolean }> {
    const started = await this.start(type, payload, opts);
    const waitingForRetry = !started.created && started.job.status === 'pending' && started.job.attempts > 0;
    if (!waitingForRetry) return { ...started, retriedNow: false };
    await this.#runner.enqueue(started.job, await this.#payloadOf(started.job));
    return { ...started, retriedNow: true };
  }

  /** A job type's cron schedule in `timeZone` and its next run; `enabled: false` when it has none. */
  scheduleOf(type: string, timeZone: string) {
    const cron = this.#runner.definition(type).schedule?.() ?? null;
    if (!cron) return { enabled: false, cron: null, timezone: timeZone, next_run_at: null };
    const [next] = this.#runner.boss.previewSchedule(cron, { tz: timeZone, count: 1, from: new Date() });
    return { enabled: true, cron, timezone: timeZone, next_run_at: next ?? null };
  }

  async get(id: string) {
    if (!isUuid(id)) return null;
    return jobsRepository.get(this.#db.orm, id);
  }

  async require(id: string) {
    const job = await this.get(id);
    if (!job) throw jobNotFound(id);
    return job;
  }

  async list(f: { type?: string; status?: string; scheduled?: boolean; limit: number; offset: number }) {
    const [items, total] = await Promise.all([jobsRepository.list(this.#db.orm, f), jobsRepository.count(this.#db.orm, f)]);
    return { items, total };
  }

  /**
   * The newest job of `type` created in the last `minutes` whose params contain `params`. Inside a
   * `guard`'s transaction, pass `lock`: creators looking for the same params then wait for each other,
   * so two clicks cannot both find nothing.
   */
  async findRecent(type: string, params: Record<string, unknown>, minutes: number, lock?: Executor) {
    const db = lock ?? this.#db.orm;
    if (lock) await jobsRepository.lockKey(lock, `puente-job:${type}:${JSON.stringify(params)}`);
    return jobsRepository.findRecentWithParams(db, type, params, minutes);
  }

  /** Records what some of a job's records came to (replacing an earlier outcome of the same key). */
  async recordItems(db: Executor, jobId: string, items: JobItemInput[]) {
    await jobItemsRepository.record(db, jobId, items);
  }

  /** See `jobItemsRepository.copyNew`: a step's items of keys not recorded yet, with one COPY in the step's transaction. */
  async copyNewItems(tx: Tx, jobId: string, items: JobItemInput[]) {
    await jobItemsRepository.copyNew(tx, jobId, items);
  }

  /** A page of a job's records and their outcomes, from wherever its type keeps them. */
  async items(id: string, f: JobItemsFilter) {
    const job = await this.require(id);
    return { job, ...(await this.#itemsOf(job.type).page(job.id, f)) };
  }

  async failureSummary(id: string) {
    const job = await this.require(id);
    const groups = await this.#itemsOf(job.type).failures(job.id);
    return { job, groups, total: groups.reduce((n, g) => n + g.count, 0) };
  }

  #itemsOf(type: string): JobItemsSource {
    let def;
    try {
      def = this.#runner.definition(type);
    } catch {
      def = null; // a type no longer declared: its recorded items are still readable
    }
    return def?.items ?? this.#recordedItems;
  }

  readonly #recordedItems: JobItemsSource = {
    page: async (jobId, f) => {
      const [items, total] = await Promise.all([jobItemsRepository.page(this.#db.orm, jobId, f), jobItemsRepository.count(this.#db.orm, jobId, f)]);
      return {
        items: items.map((i) => ({
          key: i.item_key,
          status: i.status,
          reason_code: i.reason_code,
          reason: i.reason,
          label: i.label,
          ...i.data,
          updated_at: i.updated_at,
        })),
        total,
      };
    },
    failures: async (jobId) =>
      (await jobItemsRepository.reasons(this.#db.orm, jobId, FAILED_ITEM_STATUSES)).map((r) => ({ reason_code: r.reason_code, reason: r.reason, count: r.n })),
  };

  async cancel(id: string) {
    return this.#stop(id, 'cancelled', ['pending', 'processing', 'paused']);
  }

  async pause(id: string) {
    return this.#stop(id, 'paused', ['pending', 'processing']);
  }

  async resume(id: string) {
    const job = await this.require(id);
    const resumed = await jobsRepository.setStatus(this.#db.orm, id, 'pending', ['paused']);
    if (!resumed)
      throw new AppError('job.not_paused', `Solo un job en pausa se puede reanudar (estado actual: ${job.status}) / Only a paused job can be resumed`, {
        job_id: id,
        job_status: job.status,
      });
    await this.#runner.enqueue(resumed, await this.#payloadOf(resumed));
    await this.#bus.publish(jobChannel(id), jobEvents.resumed(id));
    return resumed;
  }

  /**
   * A new attempt of a failed or cancelled job, as a new record linked to it (`retry_of`): it starts
   * from the old one's checkpoint, and its type carries over what must not be done twice (a bulk
   * send's recipients already sent). A job is retried once; the retry, if it fails, can be retried.
   */
  async retry(id: string, options: RetryOptions & { createdBy?: string | null }): Promise<JobRecord> {
    const known = await this.require(id);
    const def = this.#runner.definitionOrNull(known.type);
    if (!def?.retry)
      throw notRetryable(`Los jobs de tipo ${known.type} no se pueden reintentar / This job type cannot be retried`, { job_id: id, job_type: known.type });
    const retried = await this.#db.orm.transaction(async (tx) => {
      const job = await recoveryRepository.lockForRetry(tx, id);
      if (!job) throw jobNotFound(id);
      if (job.status !== 'failed' && job.status !== 'cancelled') {
        throw notRetryable(
          `Solo un job fallido o cancelado se puede reintentar (estado actual: ${job.status}) / Only a failed or cancelled job can be retried`,
          { job_id: id, job_status: job.status },
        );
      }
      // A cancelled attempt may still be finishing what it had in flight: its outcome decides what the retry skips.
      if (job.lease_live)
        throw notRetryable('El job todavía se está deteniendo; reintente en unos segundos / The job is still stopping; retry in a few seconds', {
          job_id: id,
          job_status: job.status,
        });
      const earlier = await recoveryRepository.retryOf(tx, id);
      if (earlier) throw notRetryable(`Este job ya se reintentó como ${earlier} / Already retried as ${earlier}`, { job_id: id, retried_as: earlier });
      if (def.singleton) {
        await jobsRepository.lockType(tx, job.type);
        const active = await jobsRepository.findActive(tx, job.type);
        if (active)
          throw notRetryable(`Ya hay un job ${job.type} en curso (${active.id}) / One is already running`, {
            job_id: id,
            job_type: job.type,
            active_job_id: active.id,
          });
      }
      const row = await recoveryRepository.insertRetry(tx, job, { id: randomUUID(), createdBy: options.createdBy ?? job.created_by });
      const carried = await def.retry!.carryOver?.(tx, job, row, options);
      return carried?.progress ? recoveryRepository.setProgress(tx, row.id, carried.progress) : row;
    });
    await this.#runner.enqueue(retried, await this.#payloadOf(retried));
    return retried;
  }

  /** Whether `retry` would take this job now (as far as its own record tells). */
  retryable(job: JobRecord) {
    return (job.status === 'failed' || job.status === 'cancelled') && !job.retried_as && Boolean(this.#runner.definitionOrNull(job.type)?.retry);
  }

  async #stop(id: string, to: 'cancelled' | 'paused', from: JobStatus[]) {
    const job = await this.require(id);
    const updated = await jobsRepository.setStatus(this.#db.orm, id, to, from);
    if (!updated) {
      throw to === 'cancelled'
        ? new AppError('job.not_cancellable', `No se puede cancelar un job en estado ${job.status} / A ${job.status} job cannot be cancelled`, {
            job_id: id,
            job_status: job.status,
          })
        : new AppError('job.not_pausable', `No se puede pausar un job en estado ${job.status} / A ${job.status} job cannot be paused`, {
            job_id: id,
            job_status: job.status,
          });
    }
    await this.#runner.signal(id, to);
    if (job.status === 'pending' || job.status === 'paused') {
      await this.#bus.publish(jobChannel(id), to === 'cancelled' ? jobEvents.cancelled(id, updated.progress) : jobEvents.paused(id, updated.progress));
    }
    return updated;
  }

  /** A resumed job is queued with the payload it was started with, kept in its params. */
  async #payloadOf(job: JobRecord) {
    return (job.params as { payload?: unknown }).payload ?? {};
  }
}

const notRetryable = (message: string, fields: Record<string, unknown>) => new AppError('job.not_retryable', message, fields);

export const jobNotFound = (id: string) => new AppError('job.not_found', 'Job no encontrado / Job not found', { job_id: id });
/** Outcomes of recorded items that count as failures: not done, and a person may have to act. */
const FAILED_ITEM_STATUSES = ['failed', 'skipped'];

const GOOD = ['sent', 'created', 'updated', 'unchanged'];
const BAD = ['failed', 'uncertain', 'errors', 'skipped', 'conflicts', 'invalid'];

/**
 * What a finished job came to, read from its final counters: `ok` only when every record went
 * through; `with_errors` when some did not; `failed` when the job failed or nothing went through.
 */
export function jobOutcome(job: Pick<JobRecord, 'status' | 'progress'>): 'ok' | 'with_errors' | 'failed' | 'cancelled' | null {
  if (job.status === 'failed') return 'failed';
  if (job.status === 'cancelled') return 'cancelled';
  if (job.status !== 'completed') return null;
  const p = (job.progress ?? {}) as Record<string, unknown>;
  const sum = (keys: string[]) => keys.reduce((n, k) => n + (typeof p[k] === 'number' ? (p[k] as number) : 0), 0);
  const good = sum(GOOD),
    bad = sum(BAD);
  if (!bad) return 'ok';
  return good ? 'with_errors' : 'failed';
}

const isUuid = (s: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);

/** The public shape of a job (seed 004's, for every type): params such as `message` sit at top level. */
export function jobReply(job: JobRecord) {
  const { payload: _payload, queue_job: _queueJob, ...params } = job.params as Record<string, unknown>;
  return {
    id: job.id,
    type: job.type,
    status: job.status,
    created_at: job.created_at,
    updated_at: job.updated_at,
    started_at: job.started_at,
    finished_at: job.finished_at,
    ...params,
    progress: job.progress,
    results: job.results,
    error: job.error,
    attempts: job.attempts,
    retry_of: job.retry_of ?? null,
    retried_as: job.retried_as ?? null,
    outcome: jobOutcome(job),
    scheduled: job.created_by === 'schedule',
  };
}
