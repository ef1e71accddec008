import type { Database } from '../db/client.ts';
import type { EventBus } from '../events/bus.ts';
import { jobChannel } from './job-definition.ts';
import { jobEvents } from './job-events.ts';
import { jobsRepository, type JobStatus } from './jobs.repository.ts';

const FLUSH_MS = 200;

/**
 * Coalesces a handler's progress calls: however fast it reports, the row is written and a `progress`
 * event published at most every FLUSH_MS. Writing returns the row's status, which is how a worker on
 * any process learns that its job was cancelled or paused.
 */
export class ProgressReporter {
  #latest: Record<string, unknown> | null = null;
  #event: Record<string, unknown> | undefined;
  #timer: NodeJS.Timeout | null = null;
  #flushing: Promise<void> = Promise.resolve();
  readonly #jobId: string;
  readonly #db: Database;
  readonly #bus: EventBus;
  readonly #onStatus: (status: JobStatus | null) => void;

  constructor(jobId: string, db: Database, bus: EventBus, onStatus: (status: JobStatus | null) => void) {
    this.#jobId = jobId;
    this.#db = db;
    this.#bus = bus;
    this.#onStatus = onStatus;
  }

  get latest() {
    return this.#latest;
  }

  update(progress: Record<string, unknown>, event?: Record<string, unknown>) {
    this.#latest = progress;
    this.#event = event;
    this.#timer ??= setTimeout(() => void this.flush(), FLUSH_MS);
  }

  flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const progress = this.#latest;
    const event = this.#event;
    this.#event = undefined;
    if (!progress) return this.#flushing;
    this.#flushing = this.#flushing
      .then(async () => {
        const status = await jobsRepository.writeProgress(this.#db.orm, this.#jobId, progress);
        void this.#bus.publish(jobChannel(this.#jobId), jobEvents.progress(this.#jobId, progress, event));
        this.#onStatus(status);
      })
      .catch(() => {});
    return this.#flushing;
  }

  /**
   * Stops reporting, and resolves once the writes already under way have landed: a caller that then
   * writes the final progress (the job's completion) is not overwritten by an older one after it.
   */
  stop(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    return this.#flushing;
  }
}
