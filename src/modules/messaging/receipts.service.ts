import { Counter } from 'prom-client';
import type { RuntimeContext } from '../../platform/context.ts';
import { registry } from '../../platform/metrics.ts';
import { jobChannel } from '../../platform/jobs/job-definition.ts';
import { devicesRepository } from './devices.repository.ts';
import { receiptsRepository, type Applied, type ReceiptRow } from './receipts.repository.ts';

/** What the service uses. */
export type ReceiptsDeps = Pick<RuntimeContext, 'db' | 'bus' | 'logger' | 'config'>;

/** How long a receipt for an id no recipient has yet is kept: its send's outcome may still be in a buffer. */
const UNMATCHED_RETRY_MS = [250, 1000, 2000, 4000];
/** Receipts remembered per device to judge its recent async failure rate. */
const HEALTH_WINDOW = 500;
const HEALTH_WINDOW_MS = 3600_000;

const receiptsCounter = new Counter({
  name: 'puente_whatsapp_receipts_total',
  help: 'WhatsApp receipts taken in: applied (matched a recipient) or unknown (no recipient had the id; dropped)',
  labelNames: ['outcome'],
  registers: [registry],
});

interface Pending {
  row: ReceiptRow;
  tries: number;
  due: number;
}

/**
 * Takes receipts from the webhook routes and writes them in batches (every few tens of ms, or as
 * soon as a batch is full): the route answers at once, and a burst of thousands of receipts becomes
 * a handful of statements. Writes are serialised, so batches never race each other.
 */
export class ReceiptsService {
  readonly #ctx: ReceiptsDeps;
  #buffer = new Map<string, ReceiptRow>();
  #pending = new Map<string, Pending>();
  #chain: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | null = null;
  #timerDue = 0;
  #health = new Map<number, { at: number; failed: boolean }[]>();
  #closed = false;
  #events = new Map<string, { event: Record<string, unknown> }>();
  /** Counted per process, for metrics and tests. */
  readonly stats = { received: 0, applied: 0, unknown: 0, batches: 0 };

  constructor(ctx: ReceiptsDeps) {
    this.#ctx = ctx;
  }

  add(deviceId: number, receipts: { id: string; rank: ReceiptRow['rank']; error: string | null }[]) {
    for (const r of receipts) {
      this.stats.received++;
      const key = `${deviceId}\u0000${r.id}`;
      const prev = this.#buffer.get(key);
      // Several receipts for one message in one batch: the furthest wins, whatever their order; a
      // failure beats sent, but a delivery or read proves the message arrived and beats a failure.
      const score = (rank: number) => (rank === -1 ? 1.5 : rank);
      if (!prev || score(r.rank) > score(prev.rank)) this.#buffer.set(key, { device_id: deviceId, id: r.id, rank: r.rank, error: r.error });
    }
    if (this.#buffer.size >= this.#ctx.config.MESSAGING_RECEIPT_BATCH_ROWS) void this.flush();
    else this.#schedule(this.#ctx.config.MESSAGING_RECEIPT_BATCH_MS);
  }

  /** The next flush in `ms` at the latest (an earlier one already planned stands). */
  #schedule(ms: number) {
    if (this.#closed) return;
    const due = Date.now() + ms;
    if (this.#timer && this.#timerDue <= due) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timerDue = due;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.flush();
    }, ms);
    this.#timer.unref();
  }

  /** Writes what is buffered (and the unmatched receipts due for another look). */
  flush(): Promise<void> {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    const now = Date.now();
    const batch = new Map(this.#buffer);
    this.#buffer.clear();
    const retried = new Map<string, Pending>();
    for (const [key, p] of this.#pending) {
      if (p.due > now || batch.has(key)) continue;
      this.#pending.delete(key);
      retried.set(key, p);
      batch.set(key, p.row);
    }
    if (this.#pending.size) this.#schedule(Math.max(20, Math.min(...[...this.#pending.values()].map((p) => p.due)) - now));
    if (!batch.size) return this.#chain;
    this.#chain = this.#chain
      .then(() => this.#write(batch, retried))
      .catch((err) => {
        this.#ctx.logger.error({ err: (err as Error).message }, 'could not record WhatsApp receipts');
      });
    return this.#chain;
  }

  async close() {
    this.#closed = true;
    await this.flush();
    if (this.#timer) clearTimeout(this.#timer);
  }

  async #write(batch: Map<string, ReceiptRow>, retried: Map<string, Pending>) {
    const db = this.#ctx.db.orm;
    this.stats.batches++;
    // One transaction: a reader never sees the new counters without the job's figures that go with them.
    const { applied, jobs } = await db.transaction(async (tx) => {
      const a = await receiptsRepository.apply(tx, [...batch.values()]);
      return { applied: a, jobs: await receiptsRepository.refreshJobs(tx, a.jobs) };
    });
    const unknownPerDevice = new Map<number, number>();
    const now = Date.now();
    for (const u of applied.unmatched) {
      const key = `${u.device_id}\u0000${u.id}`;
      const tries = (retried.get(key)?.tries ?? 0) + 1;
      const row = batch.get(key)!;
      // Only receipts that could move a recipient are worth the wait.
      if (tries <= UNMATCHED_RETRY_MS.length && row.rank !== 1) {
        this.#pending.set(key, { row, tries, due: now + UNMATCHED_RETRY_MS[tries - 1]! });
      } else {
        this.stats.unknown++;
        receiptsCounter.inc({ outcome: 'unknown' });
        unknownPerDevice.set(u.device_id, (unknownPerDevice.get(u.device_id) ?? 0) + 1);
      }
    }
    this.stats.applied += batch.size - applied.unmatched.length;
    receiptsCounter.inc({ outcome: 'applied' }, batch.size - applied.unmatched.length);
    if (this.#pending.size) this.#schedule(UNMATCHED_RETRY_MS[0]!);
    if (unknownPerDevice.size) await receiptsRepository.countUnknown(db, unknownPerDevice);
    for (const j of jobs) this.#announce(j.id, { type: 'delivery', job_id: j.id, status: j.status, progress: j.progress });
    await this.#judgeDevices(applied.devices);
  }

  /**
   * A `delivery` event per job at most every 250 ms (the latest counters win): a burst of receipts
   * is a few events, not thousands, and it goes on after `job_completed` while receipts come in.
   */
  #announce(jobId: string, event: Record<string, unknown>) {
    const waiting = this.#events.get(jobId);
    if (waiting) return void (waiting.event = event);
    const slot = { event };
    this.#events.set(jobId, slot);
    const t = setTimeout(() => {
      this.#events.delete(jobId);
      void this.#ctx.bus.publish(jobChannel(jobId), slot.event).catch(() => {});
    }, 250);
    t.unref();
  }

  /**
   * Bans start as quality drops: a device whose recent receipts are mostly failures is paused with
   * the reason, before the provider blocks it outright.
   */
  async #judgeDevices(devices: Applied['devices']) {
    const { DEVICE_RECEIPT_FAILURE_RATE: rate, DEVICE_RECEIPT_MIN_SAMPLE: min } = this.#ctx.config;
    const now = Date.now();
    for (const d of devices) {
      const window = (this.#health.get(d.device_id) ?? []).filter((e) => now - e.at < HEALTH_WINDOW_MS);
      for (let i = 0; i < d.ok; i++) window.push({ at: now, failed: false });
      for (let i = 0; i < d.failed; i++) window.push({ at: now, failed: true });
      const recent = window.slice(-HEALTH_WINDOW);
      this.#health.set(d.device_id, recent);
      const failed = recent.filter((e) => e.failed).length;
      if (recent.length < min || failed / recent.length < rate || rate <= 0) continue;
      const device = await devicesRepository.get(this.#ctx.db.orm, d.device_id);
      if (!device || device.status === 'paused') continue;
      const reason = `${Math.round((failed / recent.length) * 100)}% de los últimos ${recent.length} mensajes fallaron tras el envío (receipts) / async failure rate over ${Math.round(rate * 100)}%`;
      await devicesRepository.pauseForError(this.#ctx.db.orm, d.device_id, reason);
      this.#health.delete(d.device_id);
      this.#ctx.logger.warn({ device: d.device_id, failed, of: recent.length }, 'device paused: receipts show a high failure rate');
    }
  }
}
