import { randomUUID } from 'node:crypto';
import type { AppContext } from '../../platform/context.ts';
import { badRequest, notFound } from '../../platform/http/errors.ts';
import type { ParsedRow, ParseStats } from './bulk-file.ts';
import { NO_DEVICES, progressOf, type BulkParams } from './dispatcher.ts';
import { BULK_SEND } from './messaging.jobs.ts';
import { recipientsRepository } from './recipients.repository.ts';

export interface BulkRequest {
  stats: ParseStats;
  fileName: string;
  message: string;
  devicesLimit: number;
  template: BulkParams['template'];
  createdBy: string | null;
}

/**
 * A bulk send's life outside the dispatcher: its recipients are staged as the file is read, under
 * the job id it will have, and become a job only once the whole file was good; otherwise they go.
 */
export class BulkSendService {
  readonly #ctx: AppContext;
  constructor(ctx: AppContext) {
    this.#ctx = ctx;
  }
  get #db() {
    return this.#ctx.db.orm;
  }

  /** "No devices" is decided before a large file is read, and again once it has been. */
  async requireDevices() {
    if (!(await this.#ctx.services.devices.available(1)).length) throw badRequest(NO_DEVICES);
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
      const r = await read((rows) => recipientsRepository.insertBatch(db, jobId, rows));
      await this.requireDevices();
      const params: BulkParams = {
        message: r.message, total_numbers: r.stats.recipients, devices_limit: r.devicesLimit, file_name: r.fileName,
        invalid_numbers: r.stats.invalid, duplicates: r.stats.duplicates, template: r.template,
      };
      const { job } = await this.#ctx.jobs.start(BULK_SEND, {}, {
        id: jobId, params: { ...params, header_skipped: r.stats.headerSkipped },
        progress: progressOf({ sent: 0, failed: r.stats.invalid, uncertain: 0, total: r.stats.recipients }), createdBy: r.createdBy,
      });
      await recipientsRepository.finishUpload(db, jobId);
      return { job, total: r.stats.recipients, fileName: r.fileName };
    } catch (err) {
      await recipientsRepository.discardUpload(db, jobId).catch(() => {});
      throw err;
    }
  }

  /** Each recipient's outcome, page by page in file order. */
  async *results(jobId: string) {
    const job = await this.#ctx.jobs.get(jobId);
    if (!job) throw notFound('Job no encontrado / Job not found');
    if (job.type !== BULK_SEND) throw notFound('Este job no es un envío masivo: no tiene resultados por destinatario / Not a bulk send');
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
