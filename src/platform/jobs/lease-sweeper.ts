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
  /** JOB_LEASE_SECONDS: attempts renew their lease every third of it. */
  leaseSeconds: number;
  /** Jobs this process runs itself: never taken from it, whatever their lease says. */
  ownJobs: () => Iterable<string>;
  /** Called once a delivery of `type` is handed back to the queue, ready now: wakes the workers. */
  handedBack?: (type: string) => Promise<void>;
}

/**
 * Takes over jobs whose worker died. A running attempt renews its lease on the job's row every
 * third of JOB_LEASE_SECONDS, on a timer of its own (a slow handler does not delay it). A row still
 * `processing` whose lease has expired, and stays exactly so for longer than one renewal period
 * (so a live owner had its chance to renew it), lost its worker: kill -9, a lost machine.
 *
 * The sweeper, in every worker process, then releases the lease and fails the queue delivery the
 * lease names, so the queue retries it at once (spending one retry, as any crash does) instead of
 * after its own heartbeat timeout and retry delay; the retry resumes from the job's checkpoint. On
 * a last attempt the queue fails the job instead, and the reconciler closes its record. The queue's
 * heartbeat stays as a backstop for when no sweeper runs.
 */
export class LeaseSweeper {
  readonly #deps: LeaseSweeperDeps;
  readonly #seen = new Map<string, { lease: string; until: string; at: number }>();
  #timer: NodeJS.Timeout | null = null;
  #sweeping = false;

  constructor(deps: LeaseSweeperDeps) {
    this.#deps = deps;
  }

  start() {
    this.#timer = setInterval(() => void this.sweep(), (this.#deps.leaseSeconds * 1000) / 4);
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
    const confirmMs = (this.#deps.leaseSeconds * 1000) / 3 + 500;
    try {
      const own = new Set(this.#deps.ownJobs());
      const expired = (await jobsRepository.expiredLeases(db.orm, this.#deps.types)).filter((s) => !own.has(s.id));
      const now = Date.now();
      for (const id of this.#seen.keys()) if (!expired.some((s) => s.id === id)) this.#seen.delete(id);
      for (const s of expired) {
        const seen = this.#seen.get(s.id);
        if (!seen || seen.lease !== s.lease || seen.until !== s.lease_until) {
          this.#seen.set(s.id, { lease: s.lease, until: s.lease_until, at: now });
          continue;
        }
        if (now - seen.at < confirmMs) continue;
        this.#seen.delete(s.id);
        if (!(await jobsRepository.releaseLease(db.orm, s.id, s.lease, s.lease_until))) continue;
        const delivery = s.lease.split(':')[0] ?? '';
        if (!UUID.test(delivery)) continue; // not a lease this runner wrote: the queue's heartbeat retries it
        const failed = await boss.fail(s.type, delivery, { message: 'worker lost: job lease expired' });
        // Retry now, not after the queue's retry delay: the job resumes from its checkpoint.
        const retried = await boss.update(s.type, undefined, { id: delivery, startAfter: new Date() });
        await this.#deps.handedBack?.(s.type);
        logger.warn(
          { job: s.id, type: s.type, failed: (failed as { affected?: number }).affected, retried: retried.updated, expiredForMs: now - seen.at },
          'job lease expired (its worker stopped); handed back to the queue',
        );
      }
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'job lease sweep failed');
    } finally {
      this.#sweeping = false;
    }
  }
}
