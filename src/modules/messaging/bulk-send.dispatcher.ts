import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { RuntimeContext } from '../../platform/context.ts';
import type { Database } from '../../platform/db/client.ts';
import type { JobContext } from '../../platform/jobs/job-definition.ts';
import { PermanentJobError } from '../../platform/jobs/job-definition.ts';
import { devicesRepository, todayUtc } from './devices.repository.ts';
import type { DeviceRow, Drivers, TemplateSpec } from './devices.drivers.ts';
import { Pacer } from './devices.pacer.ts';
import { DevicePool, type WorkerEnd } from './bulk-send.pool.ts';
import { openDevice } from './devices.service.ts';
import { receiptsRepository, type JobReceipts } from './receipts.repository.ts';
import { recipientsRepository, type ClaimedRow, type Counts, type RecipientResult } from './recipients.repository.ts';
import { compileTemplate, MAX_RENDERED, renderedLength, renderTemplate, splitValues, tooLongReason, type CompiledTemplate } from './template.renderer.ts';

/** What a bulk send uses. */
export type SendDeps = Pick<RuntimeContext, 'db' | 'config' | 'secrets'> & { drivers: Drivers };

export const CHUNK_SIZE = 1000;
const MAX_ATTEMPTS = 4;
const UNPACED_IN_FLIGHT = 32;
const FLUSH_EVERY_MS = 100;
const MAX_ERROR_EVENTS_PER_SECOND = 20;
const SUPPRESSION_CHECK_MS = 2000;

/** What a bulk send is started with, kept in its job record's params (the reply shows them). */
export const bulkParams = z.object({
  message: z.string(),
  devices_limit: z.number().int().min(1),
  total_numbers: z.number().int().min(0),
  invalid_numbers: z.number().int().min(0),
  duplicates: z.number().int().min(0),
  file_name: z.string(),
  template: z
    .object({ name: z.string(), language: z.string(), params: z.array(z.string()) })
    .nullable()
    .optional(),
});
export type BulkParams = z.infer<typeof bulkParams>;

export const NO_DEVICES = 'No hay devices disponibles';

const NO_RECEIPTS: JobReceipts = { delivered: 0, read: 0, failed_after_send: 0 };

/**
 * A job's counters. `c.sent` is what providers accepted and `c.failed` what they refused; receipts
 * then move accepted messages on: `sent` stays those not failed since (delivered and read are among
 * them), `failed` adds those that failed after the send (`failed_after_send`).
 */
export function progressOf(c: { sent: number; failed: number; uncertain: number; total: number; suppressed?: number }, r: JobReceipts = NO_RECEIPTS) {
  const sent = c.sent - r.failed_after_send;
  const failed = c.failed + r.failed_after_send;
  const suppressed = c.suppressed ?? 0;
  const done = sent + failed + c.uncertain + suppressed;
  return {
    sent,
    failed,
    uncertain: c.uncertain,
    suppressed,
    delivered: r.delivered,
    read: r.read,
    failed_after_send: r.failed_after_send,
    total: c.total,
    percentage: c.total ? Math.round((done / c.total) * 1000) / 10 : 100,
  };
}

/**
 * Runs one bulk send: up to `devices_limit` devices work in parallel (a `DevicePool`), each claiming
 * recipients from the database (marked `sending` before the call), pacing itself, and handing its
 * outcomes to one flusher that writes them in batches and reports progress. A device that is banned
 * or disconnected is paused and replaced by another available one; what it held goes back to the queue.
 */
export async function runBulkSend(deps: SendDeps, ctx: JobContext<unknown>) {
  const db = deps.db.orm;
  const params = bulkParams.parse(ctx.job.params);
  const counts = await resumeRecipients(db, ctx);
  const flusher = new Flusher(deps, ctx, counts);
  await flusher.refreshReceipts();
  flusher.report();

  const claims = new Claims(ctx.job.id);
  /** Set when the job cannot go on for anyone (a template Meta rejects): every device stops. */
  const halt: { reason: string | null } = { reason: null };
  const announce = chunkAnnouncer(ctx, counts);
  const pool = new DevicePool({
    db,
    ctx,
    limit: params.devices_limit,
    halted: () => halt.reason !== null,
    open: (leased) => openDevice(deps.secrets, leased),
    work: (device) => new DeviceWorker(deps, ctx, device, params, { flusher, claims, announce, halt }),
    afterEach: () => flusher.flush(),
    onDeviceFailed: (device, reason) =>
      void ctx.emit({
        type: 'error',
        device_id: device.id,
        error: reason,
        message: `Device ${device.name} pausado; su trabajo pasa a otros devices`,
        progress: progressOf(counts),
      }),
    onWaiting: () => {
      ctx.logger.info('every device is sending for another job; waiting for one');
      ctx.progress(progressOf(counts), { message: 'Esperando devices: todos están enviando para otros jobs / Waiting for a device busy with another job' });
    },
  });
  const optOuts = watchOptOuts(db, ctx, flusher);
  try {
    await pool.run(counts.queued);
  } finally {
    clearInterval(optOuts);
    await pool.close();
  }
  await flusher.close();
  ctx.throwIfStopped();
  return finish(deps, ctx, params, counts, halt.reason, pool.errors);
}

/**
 * Picks up where a previous run stopped: recipients it left in flight are uncertain (each gets an
 * `error` event, capped; the CSV has them all) and those who opted out since the upload are skipped.
 */
async function resumeRecipients(db: Database['orm'], ctx: JobContext<unknown>): Promise<Counts> {
  const jobId = ctx.job.id;
  const uncertainNow = await recipientsRepository.markInFlightUncertain(db, jobId);
  if (uncertainNow.length) ctx.logger.warn({ uncertain: uncertainNow.length }, 'recipients in flight at a previous stop marked uncertain');
  const suppressedNow = await recipientsRepository.suppressQueued(db, jobId);
  if (suppressedNow) ctx.logger.info({ suppressed: suppressedNow }, 'recipients who opted out since the upload are skipped');
  const counts: Counts = await recipientsRepository.counts(db, jobId);
  for (const r of uncertainNow.slice(0, MAX_ERROR_EVENTS_PER_SECOND)) {
    void ctx.emit({ type: 'error', device_id: r.device_id, phone: r.phone, error: r.error, progress: progressOf(counts) });
  }
  return counts;
}

/** A `chunk_processing` event the first time a recipient of each chunk is sent to. Announcements never hold up a send. */
function chunkAnnouncer(ctx: JobContext<unknown>, counts: Counts) {
  const announced = new Set<number>();
  return (seq: number) => {
    const chunk = Math.floor(seq / CHUNK_SIZE);
    if (announced.has(chunk)) return;
    announced.add(chunk);
    const start = chunk * CHUNK_SIZE,
      end = Math.min(start + CHUNK_SIZE, counts.total);
    void ctx.emit({
      type: 'chunk_processing',
      chunk_start: start,
      chunk_end: end,
      total: counts.total,
      message: `Procesando chunk ${start}-${end} de ${counts.total}`,
    });
  };
}

/** Someone who answers "BAJA" while the job is still sending gets nothing more from it either. */
function watchOptOuts(db: Database['orm'], ctx: JobContext<unknown>, flusher: Flusher) {
  let seen = new Date();
  // A few seconds of overlap: an opt-out stamped just before the last look may have committed after it.
  return setInterval(
    () =>
      void recipientsRepository
        .suppressQueuedSince(db, ctx.job.id, new Date(seen.getTime() - 5000))
        .then(({ changed, latest }) => {
          if (latest > seen) seen = latest;
          if (changed) flusher.suppressed(changed);
        })
        .catch((err) => ctx.logger.warn({ err: (err as Error).message }, 'could not look for new opt-outs')),
    SUPPRESSION_CHECK_MS,
  );
}

/** The job's final counters and its summary, or why it failed. */
async function finish(deps: SendDeps, ctx: JobContext<unknown>, params: BulkParams, counts: Counts, halted: string | null, deviceErrors: string[]) {
  const db = deps.db.orm;
  const final = await recipientsRepository.counts(db, ctx.job.id);
  Object.assign(counts, final);
  const receipts = await receiptsRepository.forJob(db, ctx.job.id);
  const progress = progressOf(final, receipts);
  ctx.progress(progress);
  if (halted) throw new PermanentJobError(`Job detenido: la plantilla no sirve para ningún destinatario / Job stopped, template rejected: ${halted}`);
  if (final.queued > 0) {
    throw new PermanentJobError(`${NO_DEVICES}: quedan ${final.queued} sin enviar${deviceErrors.length ? ` (${deviceErrors.slice(-3).join('; ')})` : ''}`);
  }
  // Receipts keep coming after the last send; the summary is expected to settle by `settles_at`.
  const settlesAt = new Date(Date.now() + deps.config.MESSAGING_SETTLE_HOURS * 3600_000).toISOString();
  const { percentage: _p, ...summary } = progress;
  return { ...summary, invalid_numbers: params.invalid_numbers, duplicates: params.duplicates, settles_at: settlesAt };
}

/** Buffers outcomes and writes them in batches; keeps the counters and reports progress. */
class Flusher {
  readonly #deps: SendDeps;
  readonly #ctx: JobContext<unknown>;
  readonly #counts: Counts;
  #buffer: { r: RecipientResult; phone: string }[] = [];
  #chain: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout;
  #errorsThisSecond = 0;
  #errorWindow = Date.now();
  #failure: unknown = null;
  #receipts: JobReceipts = NO_RECEIPTS;

  constructor(deps: SendDeps, ctx: JobContext<unknown>, counts: Counts) {
    this.#deps = deps;
    this.#ctx = ctx;
    this.#counts = counts;
    this.#timer = setInterval(() => void this.flush(), FLUSH_EVERY_MS);
  }

  add(r: RecipientResult, phone: string) {
    this.#buffer.push({ r, phone });
    if (this.#buffer.length >= 1000) void this.flush();
  }

  report(event?: Record<string, unknown>) {
    this.#ctx.progress(progressOf(this.#counts, this.#receipts), event);
  }

  /** Queued recipients who opted out meanwhile were set aside (never claimed). */
  suppressed(n: number) {
    this.#counts.suppressed += n;
    this.#counts.queued -= n;
    this.report();
  }

  /** Receipts arrive while the job sends; progress shows them as they are counted. */
  async refreshReceipts() {
    this.#receipts = await receiptsRepository.forJob(this.#deps.db.orm, this.#ctx.job.id);
  }

  flush(): Promise<void> {
    if (!this.#buffer.length) return this.#chain;
    const batch = this.#buffer;
    this.#buffer = [];
    this.#chain = this.#chain
      .then(() => this.#write(batch))
      .catch((err) => {
        this.#failure = err;
        this.#ctx.logger.error({ err: (err as Error).message }, 'could not record send outcomes');
      });
    return this.#chain;
  }

  async close() {
    clearInterval(this.#timer);
    await this.flush();
    if (this.#failure) throw this.#failure;
  }

  async #write(batch: { r: RecipientResult; phone: string }[]) {
    const db = this.#deps.db.orm;
    const jobId = this.#ctx.job.id;
    await recipientsRepository.record(
      db,
      jobId,
      batch.map((b) => b.r),
    );
    const sentPerDevice = new Map<number, number>();
    for (const { r, phone } of batch) {
      if (r.status === 'sent') {
        this.#counts.sent++;
        sentPerDevice.set(r.device_id, (sentPerDevice.get(r.device_id) ?? 0) + 1);
      } else if (r.status === 'failed' || r.status === 'uncertain') {
        this.#counts[r.status]++;
        await this.#errorEvent(r, phone);
      }
    }
    for (const [deviceId, n] of sentPerDevice) await devicesRepository.addSent(db, deviceId, n);
    await this.refreshReceipts();
    const last = batch[batch.length - 1]!;
    this.report({ device_id: last.r.device_id, phone: last.phone, status: last.r.status === 'queued' ? 'retrying' : last.r.status });
  }

  /** One `error` event per failed recipient, at most 20 a second (the rest are in the results CSV). */
  async #errorEvent(r: RecipientResult, phone: string) {
    const now = Date.now();
    if (now - this.#errorWindow >= 1000) {
      this.#errorWindow = now;
      this.#errorsThisSecond = 0;
    }
    if (++this.#errorsThisSecond > MAX_ERROR_EVENTS_PER_SECOND) return;
    void this.#ctx.emit({ type: 'error', device_id: r.device_id, phone, error: r.error ?? r.status, progress: progressOf(this.#counts, this.#receipts) });
  }
}

/**
 * Hands recipients out in file order. Each claim goes on from where the last one ended; rows put
 * back behind that point (retries, a failed device's share) are taken by a claim from the start
 * once the ones ahead run short, that is towards the end of the job.
 */
class Claims {
  readonly #jobId: string;
  #from = 0;

  constructor(jobId: string) {
    this.#jobId = jobId;
  }

  async take(db: Database['orm'], deviceId: number, n: number) {
    const from = this.#from;
    const rows = await recipientsRepository.claim(db, this.#jobId, deviceId, n, from);
    for (const r of rows) if (r.seq >= this.#from) this.#from = r.seq + 1;
    if (rows.length < n && from > 0) rows.push(...(await recipientsRepository.claim(db, this.#jobId, deviceId, n - rows.length, 0)));
    return rows.sort((a, b) => a.seq - b.seq);
  }
}

/** One device's share of a job: claim, pace, send, hand outcomes to the flusher. */
class DeviceWorker {
  readonly #deps: SendDeps;
  readonly #ctx: JobContext<unknown>;
  readonly #device: DeviceRow;
  readonly #params: BulkParams;
  readonly #flusher: Flusher;
  readonly #claims: Claims;
  readonly #announce: (seq: number) => void;
  readonly #halt: { reason: string | null };
  readonly #driver;
  readonly #template: BulkParams['template'];
  readonly #measure: { message: CompiledTemplate; params: CompiledTemplate[] | null };
  #failed: string | null = null;
  #sentToday: number;
  readonly #pacer: Pacer;

  constructor(
    deps: SendDeps,
    ctx: JobContext<unknown>,
    device: DeviceRow,
    params: BulkParams,
    shared: { flusher: Flusher; claims: Claims; announce: (seq: number) => void; halt: { reason: string | null } },
  ) {
    this.#deps = deps;
    this.#ctx = ctx;
    this.#device = device;
    this.#params = params;
    this.#flusher = shared.flusher;
    this.#claims = shared.claims;
    this.#announce = shared.announce;
    this.#halt = shared.halt;
    this.#driver = deps.drivers.for(device);
    this.#sentToday = device.sent_day === todayUtc() ? device.sent_today : 0;
    // The job that used the device before this one may have sent a moment ago: its pace carries on.
    this.#pacer = new Pacer(device, device.next_send_at?.getTime() ?? 0);
    // The Cloud API only delivers free text inside the 24 h window: a job's template, else the device's.
    this.#template =
      device.provider === 'cloud'
        ? (params.template ?? (device.template_name ? { name: device.template_name, language: device.template_language, params: [] } : null))
        : null;
    this.#measure = { message: compileTemplate(params.message), params: this.#template?.params.length ? this.#template.params.map(compileTemplate) : null };
  }

  /**
   * Why a row's message cannot be sent: its rendered text (or a template parameter) would exceed
   * WhatsApp's 4,096 characters. Measured before anything is built, so a huge value repeated by the
   * template costs nothing.
   */
  #tooLong(row: ClaimedRow): string | null {
    const values = splitValues(row.vals);
    const lengths = [renderedLength(this.#measure.message, values)];
    if (this.#template) lengths.push(...(this.#measure.params ? this.#measure.params.map((p) => renderedLength(p, values)) : values.map((v) => v.length)));
    const longest = Math.max(...lengths);
    return longest > MAX_RENDERED ? tooLongReason(longest) : null;
  }

  /** When this device may send next, as far as its pacing goes; null for an unpaced device. */
  get nextSendAt() {
    return this.#pacer.paced && this.#pacer.nextSlot > Date.now() ? new Date(this.#pacer.nextSlot) : null;
  }

  async run(): Promise<WorkerEnd> {
    const d = this.#device;
    const maxInFlight = this.#pacer.paced ? 1 : UNPACED_IN_FLIGHT;
    const inFlight = new Set<Promise<void>>();
    const db = this.#deps.db.orm;
    let end: WorkerEnd = { kind: 'done' };
    for (;;) {
      if (this.#ctx.signal.aborted || this.#halt.reason) {
        end = { kind: 'stopped' };
        break;
      }
      if (this.#failed) {
        end = { kind: 'device_failed', reason: this.#failed };
        break;
      }
      const capLeft = d.daily_cap ? d.daily_cap - this.#sentToday - inFlight.size : Infinity;
      if (capLeft <= 0) {
        if (inFlight.size) {
          await Promise.race(inFlight);
          continue;
        }
        end = { kind: 'capped' };
        break;
      }
      // Claim in batches: wait until half the window is free, so claims are not one row at a time.
      if (inFlight.size > 0 && inFlight.size >= Math.ceil(maxInFlight / 2)) {
        await Promise.race(inFlight);
        continue;
      }
      const n = Math.min(maxInFlight - inFlight.size, capLeft);
      const rows = await this.#claims.take(db, d.id, n);
      if (!rows.length) {
        if (inFlight.size) {
          await Promise.race(inFlight);
          continue;
        }
        const wait = await recipientsRepository.nextRetryIn(db, this.#ctx.job.id);
        if (wait === null) break;
        await sleep(Math.min(Math.max(wait, 0.05), 1) * 1000, undefined, { signal: this.#ctx.signal }).catch(() => {});
        continue;
      }
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i]!;
        const tooLong = this.#tooLong(row);
        if (tooLong) {
          this.#flusher.add(
            { seq: row.seq, status: 'failed', device_id: d.id, provider_message_id: null, error: tooLong, retry_in: null, refund_attempt: false },
            row.phone,
          );
          continue;
        }
        await this.#driver.prepare?.(row.phone, this.#ctx.signal).catch(() => {});
        const go = await this.#pace();
        if (!go || this.#failed || this.#halt.reason) {
          // Claimed but never sent (stopped or the device failed): back to the queue, attempt refunded.
          for (const r of rows.slice(i)) this.#flusher.add(requeue(r, d.id, this.#failed ?? this.#halt.reason ?? 'stopped'), r.phone);
          break;
        }
        this.#announce(row.seq);
        const p: Promise<void> = this.#send(row).finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
    }
    await Promise.all(inFlight);
    return this.#failed && end.kind !== 'device_failed' ? { kind: 'device_failed', reason: this.#failed } : end;
  }

  /** Waits for this device's next slot: per-minute rate, random gap, rest after N messages. */
  async #pace(): Promise<boolean> {
    if (!this.#pacer.paced) return !this.#ctx.signal.aborted;
    const now = Date.now();
    const slot = this.#pacer.slot(now);
    if (slot > now) {
      try {
        await sleep(slot - now, undefined, { signal: this.#ctx.signal });
      } catch {
        return false;
      }
    }
    this.#pacer.started(slot, Date.now());
    return !this.#ctx.signal.aborted;
  }

  async #send(row: ClaimedRow) {
    const d = this.#device;
    const values = splitValues(row.vals);
    const text = renderTemplate(this.#params.message, values);
    const template: TemplateSpec | null = this.#template
      ? {
          name: this.#template.name,
          language: this.#template.language,
          params: (this.#template.params.length ? this.#template.params : values.map((_, i) => `@valor${i + 1}`)).map((p) => renderTemplate(p, values)),
        }
      : null;
    let outcome;
    try {
      outcome = await this.#driver.send(row.phone, text, template);
    } catch (err) {
      outcome = { kind: 'uncertain' as const, reason: (err as Error).message };
    }
    const base = { seq: row.seq, device_id: d.id, provider_message_id: null, error: null, retry_in: null, refund_attempt: false };
    switch (outcome.kind) {
      case 'sent':
        this.#sentToday++;
        return this.#flusher.add({ ...base, status: 'sent', provider_message_id: outcome.id }, row.phone);
      case 'failed':
      case 'uncertain':
        return this.#flusher.add({ ...base, status: outcome.kind, error: outcome.reason }, row.phone);
      case 'retry':
        if (row.attempts >= MAX_ATTEMPTS) {
          return this.#flusher.add({ ...base, status: 'failed', error: `reintentos agotados (${MAX_ATTEMPTS}): ${outcome.reason}` }, row.phone);
        }
        return this.#flusher.add(
          { ...base, status: 'queued', error: outcome.reason, retry_in: Math.max(outcome.after ?? 0, 2 ** (row.attempts - 1) * (0.5 + Math.random() * 0.5)) },
          row.phone,
        );
      case 'device':
        this.#failed ??= outcome.reason;
        return this.#flusher.add(requeue(row, d.id, outcome.reason), row.phone);
      case 'job':
        // Not this recipient's fault: it stays queued (not sent) and the job stops with the reason.
        this.#halt.reason ??= outcome.reason;
        return this.#flusher.add(requeue(row, d.id, outcome.reason), row.phone);
    }
  }
}

const requeue = (row: ClaimedRow, deviceId: number, reason: string): RecipientResult => ({
  seq: row.seq,
  status: 'queued',
  device_id: deviceId,
  provider_message_id: null,
  error: `reasignado / handed over: ${reason}`,
  retry_in: null,
  refund_attempt: true,
});
