import type { Config } from '../config.ts';
import type { Database } from '../db/client.ts';
import type { EventBus } from '../events/bus.ts';
import type { Logger } from '../logger.ts';
import { jobChannel, type JobDefinition } from './job-definition.ts';
import { jobEvents } from './job-events.ts';
import { recoveryRepository } from './recovery.repository.ts';

export const LOST_WORKER_REASON = 'el proceso que ejecutaba el job se detuvo en el último intento / worker lost on the last attempt';
/** A pending record is written a moment before its queue job is sent (or sent again): it is left alone this long. */
const PENDING_GRACE_SECONDS = 60;
const BATCH = 100;

export interface JobReconcilerDeps {
  config: Config;
  db: Database;
  bus: EventBus;
  logger: Logger;
  definitions: JobDefinition[];
}

/**
 * Closes job records the queue has given up on. When the worker running a job's last attempt dies,
 * pg-boss fails the queue job (heartbeat or expiry) and retries no more, but the record would stay
 * `processing` for ever: a frozen bar, no `job_failed`, a singleton type that refuses to start again.
 * Every process that runs workers sweeps at start-up and every JOB_RECONCILE_INTERVAL_SECONDS. A
 * record is closed only while no attempt holds its lease and the queue holds no live job for it, and
 * only by a conditional UPDATE, so sweeps on several processes close it once and a live worker's job
 * is never touched.
 */
export class JobReconciler {
  readonly #deps: JobReconcilerDeps;
  readonly #definitions: Map<string, JobDefinition>;
  #timer: NodeJS.Timeout | null = null;
  #sweeping: Promise<string[]> | null = null;

  constructor(deps: JobReconcilerDeps) {
    this.#deps = deps;
    this.#definitions = new Map(deps.definitions.map((d) => [d.type, d]));
  }

  async start() {
    await this.sweep();
    const every = this.#deps.config.JOB_RECONCILE_INTERVAL_SECONDS * 1000;
    this.#timer = setInterval(() => void this.sweep(), every);
    this.#timer.unref();
  }

  async stop() {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#sweeping;
  }

  /** One pass; returns the ids it closed. A pass still running is joined, not doubled. */
  sweep(): Promise<string[]> {
    this.#sweeping ??= this.#sweep()
      .catch((err: Error) => {
        this.#deps.logger.warn({ err: err.message }, 'job reconciliation failed; next sweep retries');
        return [];
      })
      .finally(() => (this.#sweeping = null));
    return this.#sweeping;
  }

  async #sweep() {
    const started = Date.now();
    const candidates = await recoveryRepository.orphanCandidates(this.#deps.db.orm, PENDING_GRACE_SECONDS, BATCH);
    const closed: string[] = [];
    for (const id of candidates) if (await this.#close(id)) closed.push(id);
    if (closed.length) this.#deps.logger.warn({ jobs: closed, ms: Date.now() - started }, 'closed jobs whose worker was lost on the last attempt');
    return closed;
  }

  async #close(id: string) {
    const { db, bus, logger } = this.#deps;
    const job = await db.orm.transaction(async (tx) => {
      const row = await recoveryRepository.closeIfOrphaned(tx, id, LOST_WORKER_REASON, PENDING_GRACE_SECONDS);
      if (!row) return null;
      const settled = await this.#definitions.get(row.type)?.settleLost?.(tx, row);
      const progress = settled?.progress ?? row.progress;
      return recoveryRepository.writeOutcome(tx, id, { progress, results: settled?.results ?? progress });
    });
    if (!job) return false;
    // Best-effort beside the database: a socket that misses it reads the failed record when it (re)subscribes.
    await bus
      .publish(jobChannel(id), jobEvents.failed(id, LOST_WORKER_REASON, { progress: job.progress, results: job.results }))
      .catch((err: Error) => logger.warn({ err: err.message, job: id }, 'could not publish job_failed'));
    return true;
  }
}
