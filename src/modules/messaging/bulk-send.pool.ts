import { setTimeout as sleep } from 'node:timers/promises';
import type { Database } from '../../platform/db/client.ts';
import type { JobContext } from '../../platform/jobs/job-definition.ts';
import { devicesRepository } from './devices.repository.ts';
import type { DeviceRow } from './devices.drivers.ts';
import { recipientsRepository } from './recipients.repository.ts';

/** A job's hold on a device it sends with; renewed a third of the way, so a crashed job frees it soon. */
const DEVICE_LEASE_SECONDS = 30;

/** How one device's share of a job ended. */
export type WorkerEnd = { kind: 'done' | 'stopped' | 'capped' } | { kind: 'device_failed'; reason: string };

/** One device sending for the job. */
export interface DeviceWork {
  run(): Promise<WorkerEnd>;
  /** When the device may send next; null when it may send at once. */
  readonly nextSendAt: Date | null;
}

export interface DevicePoolOptions {
  db: Database['orm'];
  ctx: JobContext<unknown>;
  /** How many devices work at once. */
  limit: number;
  /** Set when the job cannot go on for anyone: no device is started and the pool stops. */
  halted: () => boolean;
  /** A leased device made ready to send (its credentials opened). */
  open: (leased: DeviceRow) => Promise<DeviceRow>;
  /** The work one device does. */
  work: (device: DeviceRow) => DeviceWork;
  /** After each device ends, before the queue is counted again. */
  afterEach: () => Promise<void>;
  /** A device failed: it is paused and another takes its place. */
  onDeviceFailed: (device: DeviceRow, reason: string) => void;
  /** Every device is sending for another job: this one waits (called once). */
  onWaiting: () => void;
}

/**
 * The devices sending for one job: up to `limit` at once, each leased for the job while it works.
 * A device that fails or reaches its daily cap hands its rows back and is not used again by the job;
 * another available one takes its place while recipients are left.
 */
export class DevicePool {
  readonly #o: DevicePoolOptions;
  readonly #busy = new Set<number>(); // devices working for this job now
  readonly #broken = new Set<number>(); // devices that failed during this job
  readonly #running = new Set<Promise<void>>();
  readonly #renew: NodeJS.Timeout;
  /** Why devices failed during the job, oldest first. */
  readonly errors: string[] = [];

  constructor(options: DevicePoolOptions) {
    this.#o = options;
    const { db, ctx } = options;
    this.#renew = setInterval(
      () => void devicesRepository.renewForJob(db, ctx.job.id, DEVICE_LEASE_SECONDS).catch(() => {}),
      (DEVICE_LEASE_SECONDS * 1000) / 3,
    );
  }

  /** Sends until no recipient is queued, the job is stopped or halted, or no device can send. */
  async run(queued: number) {
    const { db, ctx } = this.#o;
    let waiting = false;
    while (!ctx.signal.aborted && !this.#o.halted()) {
      // A device that failed or hit its cap handed its rows back: another one takes its place.
      if (queued > 0) await this.#fill();
      if (this.#running.size) {
        await Promise.race(this.#running);
        await this.#o.afterEach();
        queued = (await recipientsRepository.counts(db, ctx.job.id)).queued;
        continue;
      }
      if (queued === 0) break;
      // Work is left and nothing runs: no device can send at all (the job fails), or every one is
      // sending for another job, in which case this one waits for a device to be free.
      if (!(await devicesRepository.available(db, 1, [...this.#broken])).length) break;
      if (!waiting) {
        waiting = true;
        this.#o.onWaiting();
      }
      await sleep(1000, undefined, { signal: ctx.signal }).catch(() => {});
    }
    while (this.#running.size) await Promise.race(this.#running);
  }

  /** Stops renewing the leases and releases every device the job still holds. */
  async close() {
    clearInterval(this.#renew);
    await devicesRepository.release(this.#o.db, this.#o.ctx.job.id).catch(() => {});
  }

  async #fill() {
    for (let i = this.#running.size; i < Math.max(1, this.#o.limit); i++) if (!(await this.#start())) break;
  }

  async #start(): Promise<boolean> {
    const { db, ctx } = this.#o;
    const leased = await devicesRepository.lease(db, ctx.job.id, [...this.#busy, ...this.#broken], DEVICE_LEASE_SECONDS);
    if (!leased) return false;
    const device = await this.#o.open(leased);
    this.#busy.add(device.id);
    const worker = this.#o.work(device);
    const p: Promise<void> = worker.run().then(async (end) => {
      this.#running.delete(p);
      this.#busy.delete(device.id);
      await devicesRepository.release(db, ctx.job.id, { id: device.id, nextSendAt: worker.nextSendAt });
      if (end.kind === 'device_failed') {
        this.#broken.add(device.id);
        this.errors.push(`device ${device.id}: ${end.reason}`);
        await devicesRepository.pauseForError(db, device.id, end.reason);
        this.#o.onDeviceFailed(device, end.reason);
      }
      if (end.kind === 'capped') this.#broken.add(device.id);
    });
    this.#running.add(p);
    return true;
  }
}
