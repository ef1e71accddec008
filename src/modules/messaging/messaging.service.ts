import { randomUUID } from 'node:crypto';
import type { RuntimeContext } from '../../platform/context.ts';
import { AppError } from '../../platform/http/errors.ts';
import type { Executor } from '../../platform/db/client.ts';
import type { JobRecord } from '../../platform/jobs/jobs.repository.ts';
import { jobNotFound } from '../../platform/jobs/jobs.service.ts';
import type { ParsedRow, ParseStats } from './bulk-file.parser.ts';
import { NO_DEVICES, progressOf, type BulkParams } from './bulk-send.dispatcher.ts';
import { BULK_SEND } from './messaging.jobs.ts';
import { recipientsRepository } from './recipients.repository.ts';
import type { DevicesService } from './devices.service.ts';

/** What the service uses. */
export type BulkSendDeps = Pick<RuntimeContext, 'db' | 'config' | 'jobs'> & { devices: DevicesService };

export interface BulkRequest {
  stats: ParseStats;
  fileName: string;
  message: string;
  devicesLimit: number;
  template: BulkParams['template'];
  createdBy: string | null;
  /** The sender saw the duplicate warning and sends again anyway. */
  confirmDuplicate: boolean;
}

/** The earlier send a new one repeats, as the 409 and the preview name it. */
export function duplicateOf(job: JobRecord) {
  const p = job.params as { file_name?: string };
  return { job_id: job.id, file_name: p.file_name ?? null, status: job.status, created_at: new Date(job.created_at).toISOString() };
}

const DUPLICATE_SEND = 'messaging.duplicate_send' as const;

/**
 * A bulk send's life outside the dispatcher: its recipients are staged as the file is read, under
 * the job id it will have, and become a job only once the whole file was good; otherwise they go.
 */
export class BulkSendService {
  readonly #ctx: BulkSendDeps;
  constructor(ctx: BulkSendDeps) {
    this.#ctx = ctx;
  }
  get #db() {
    return this.#ctx.db.orm;
  }

  /** "No devices" is decided before a large file is read, and again once it has been. */
  async requireDevices() {
    if (!(await this.#ctx.devices.available(1)).length) throw new AppError('messaging.no_devices', NO_DEVICES);
  }

  /**
   * Runs `read` with a sink for the parsed rows, then creates the job from what it returns. Any
   * failure on the way removes every staged row: a refused upload leaves nothing behind.
   */
  async create(read: (stage: (rows: ParsedRow[]) => Promise<void>) => Promise<BulkRequest>) {
    await this.requireDevices();
    const db = this.#db;
    const jobId = randomUUID();
    await recipientsRepository.beginUpload(db, jobId);
    try {
      // Numbers on the suppression list are staged as `suppressed`: counted, never sent.
      let suppressed = 0;
      const r = await read(async (rows) => {
        suppressed += await recipientsRepository.insertBatch(this.#ctx.db, jobId, rows);
      });
      await this.requireDevices();
      const params: BulkParams = {
        message: r.message,
        total_numbers: r.stats.recipients,
        devices_limit: r.devicesLimit,
        file_name: r.fileName,
        invalid_numbers: r.stats.invalid,
        duplicates: r.stats.duplicates,
        template: r.template,
      };
      const { job } = await this.#ctx.jobs.start(
        BULK_SEND,
        {},
        {
          id: jobId,
          params: { ...params, header_skipped: r.stats.headerSkipped, file_hash: r.stats.sha256, suppressed },
          guard: r.confirmDuplicate ? undefined : (tx) => this.#refuseDuplicate(r.stats.sha256, r.message, tx),
          progress: progressOf({ sent: 0, failed: r.stats.invalid, uncertain: 0, suppressed, total: r.stats.recipients }),
          createdBy: r.createdBy,
        },
      );
      await recipientsRepository.finishUpload(db, jobId);
      return { job, total: r.stats.recipients, fileName: r.fileName };
    } catch (err) {
      await recipientsRepository.discardUpload(db, jobId).catch(() => {});
      throw err;
    }
  }

  /**
   * The latest send of the same file (by content) with the same message within the configured
   * window, or null. A second click, a retried upload or a colleague sending the same list finds it.
   */
  async findDuplicate(fileHash: string, message: string, lock?: Executor) {
    const minutes = this.#ctx.config.MESSAGING_DUPLICATE_WINDOW_MINUTES;
    if (!minutes) return null;
    return this.#ctx.jobs.findRecent(BULK_SEND, { file_hash: fileHash, message }, minutes, lock);
  }

  async #refuseDuplicate(fileHash: string, message: string, tx: Executor) {
    const earlier = await this.findDuplicate(fileHash, message, tx);
    if (!earlier) return;
    const d = duplicateOf(earlier);
    const minutes = Math.max(1, Math.round((Date.now() - new Date(earlier.created_at).getTime()) / 60_000));
    throw new AppError(
      DUPLICATE_SEND,
      `Este archivo con este mensaje ya se envió hace ${minutes} min (job ${earlier.id}${d.file_name ? `, «${d.file_name}»` : ''}). ` +
        `Para enviarlo otra vez, repita con confirm_duplicate=true / This file and message were already sent ${minutes} min ago (job ${earlier.id}); send confirm_duplicate=true to send it again`,
      { job_id: earlier.id, duplicate_of: d, minutes_ago: minutes },
    );
  }

  /** Each recipient's outcome, page by page in file order. */
  async *results(jobId: string) {
    const job = await this.#ctx.jobs.get(jobId);
    if (!job) throw jobNotFound(jobId);
    if (job.type !== BULK_SEND)
      throw new AppError('messaging.not_bulk_send', 'Este job no es un envío masivo: no tiene resultados por destinatario / Not a bulk send', {
        job_id: jobId,
      });
    let after = -1;
    for (;;) {
      const page = await recipientsRepository.page(this.#db, job.id, after, 5000);
      if (!page.length) return;
      yield page;
      after = page[page.length - 1]!.seq;
    }
  }

  /** Rows of uploads a crashed process left behind (older than an hour). */
  sweepAbandonedUploads() {
    return recipientsRepository.sweepAbandonedUploads(this.#db);
  }
}
