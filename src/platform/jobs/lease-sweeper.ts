import type { PgBoss } from 'pg-boss';
import type { Database } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import { jobsRepository } from './jobs.repository.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface LeaseSweeperDeps {
  db: Database;
  boss: PgBoss;
  logger: Logger;
  /** Job types this process works on. */
  types: string[];
  everyMs: number;
  /** Jobs this process runs itself: never taken from it, whatever their lease says. */
  ownJobs: () => Iterable<string>;
}

/**
 * Takes over jobs whose worker died. A running attempt renews its lease on the job's row every
 * third of JOB_LEASE_SECONDS; a row still `processing` after its lease expired lost its worker
 * (kill -9, a lost machine). The sweeper, in every worker process, releases that lease and fails the
 * queue delivery it names, so the queue retries it (spending one retry, as a crash does) at once
 * instead of after the queue's own heartbeat timeout and retry delay. The retry resumes from the
 * job's checkpoint. The queue's heartbeat stays as a backstop for when no sweeper runs.
 */
export class LeaseSweeper {
  readonly #deps: LeaseSweeperDeps;
  #timer: NodeJS.Timeout | null = null;
  #sweeping = false;

  constructor(deps: LeaseSweeperDeps) {
    this.#deps = deps;
  }

  start() {
    this.#timer = setInterval(() => void this.sweep(), this.#deps.everyMs);
    this.#timer.unref();
  }

  stop() {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  async sweep() {
    if (this.#sweeping || !this.#deps.types.length) return;
    this.#sweeping = true;
    const { db, boss, logger } = this.#deps;
    try {
      const stale = await jobsRepository.releaseExpiredLeases(db.orm, this.#deps.types, [...this.#deps.ownJobs()]);
      for (const s of stale) {
        const delivery = s.lease.split(':')[0] ?? '';
        if (!UUID.test(delivery)) continue; // an older lease format: the queue's heartbeat retries it
        await boss.fail(s.type, delivery, { message: 'worker lost: job lease expired' });
        // Retry now, not after the queue's retry delay: the job resumes from its checkpoint.
        await boss.update(s.type, undefined, { id: delivery, startAfter: new Date() });
        logger.warn({ job: s.id, type: s.type }, 'job lease expired (its worker stopped); handed back to the queue');
      }
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'job lease sweep failed');
    } finally {
      this.#sweeping = false;
    }
  }
}
