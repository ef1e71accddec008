import { z } from 'zod';
import type { AppContext } from '../../platform/context.ts';
import { defineJob } from '../../platform/jobs/job-definition.ts';
import { bulkParams, progressOf, runBulkSend } from './bulk-send.dispatcher.ts';
import { devicesRepository } from './devices.repository.ts';
import { receiptsRepository } from './receipts.repository.ts';
import { recipientsRepository, type ItemRow } from './recipients.repository.ts';
import { splitValues } from './template.renderer.ts';

/** A recipient as `GET /jobs/{id}/items` shows it: the file's values, the device by name. */
export function recipientItem(r: ItemRow) {
  return {
    key: String(r.seq),
    seq: r.seq,
    status: r.status === 'queued' ? 'not_sent' : r.status,
    reason_code: r.reason_code,
    reason: r.error,
    label: r.phone ?? r.raw_phone,
    phone: r.phone,
    raw_phone: r.raw_phone,
    values: splitValues(r.vals),
    device_id: r.device_id,
    device_name: r.device_name,
    provider_message_id: r.provider_message_id,
    attempts: r.attempts,
    updated_at: r.updated_at,
    failed_after_send: r.failed_after_send ?? false,
    delivered_at: r.delivered_at ?? null,
    read_at: r.read_at ?? null,
  };
}

export const BULK_SEND = 'messaging.bulk-send';

export function messagingJobs(app: AppContext) {
  return [
    defineJob({
      type: BULK_SEND,
      // The send's parameters are its record's params (`bulkParams`), written with its staged recipients.
      payload: z.object({}),
      // Retries resume from the recipients' rows; nothing already sent or in flight is sent again.
      retryLimit: 3,
      retryDelaySeconds: 5,
      // pg-boss's longest expiry; a longer send is released at that point and resumes at once.
      timeoutSeconds: 24 * 3600,
      heartbeatSeconds: app.config.JOB_HEARTBEAT_SECONDS,
      concurrency: 2,
      startMessage: (job) => `Iniciando envío masivo de ${bulkParams.shape.total_numbers.catch(0).parse(job.params.total_numbers)} mensajes`,
      handler: (ctx) => runBulkSend({ db: app.db, config: app.config, secrets: app.secrets, drivers: app.services.drivers }, ctx),
      // The worker died on the last attempt: what it had in flight may have gone out, so it is uncertain.
      settleLost: async (tx, job) => {
        await recipientsRepository.markInFlightUncertain(tx, job.id);
        await devicesRepository.release(tx, job.id);
        const c = await recipientsRepository.counts(tx, job.id);
        const params = bulkParams.parse(job.params);
        const progress = progressOf(c, await receiptsRepository.forJob(tx, job.id));
        const { percentage: _p, ...summary } = progress;
        return {
          progress,
          results: { ...summary, unsent: c.queued, invalid_numbers: params.invalid_numbers, duplicates: params.duplicates },
        };
      },
      // Sent recipients are never sent again; uncertain ones only when the operator asks for it.
      retry: {
        carryOver: async (tx, from, to, { includeUncertain }) => {
          await recipientsRepository.copyForRetry(tx, from.id, to.id, includeUncertain);
          return { progress: progressOf(await recipientsRepository.counts(tx, to.id)) };
        },
      },
      items: {
        async page(jobId, query) {
          const db = app.db.orm;
          const f = { ...query, status: query.status === 'not_sent' ? 'queued' : query.status };
          const [rows, total] = await Promise.all([recipientsRepository.items(db, jobId, f), recipientsRepository.countItems(db, jobId, f)]);
          return { items: rows.map(recipientItem), total };
        },
        async failures(jobId) {
          return (await recipientsRepository.failureGroups(app.db.orm, jobId)).map((g) => ({ reason_code: g.reason_code, reason: g.reason, count: g.n }));
        },
      },
    }),
  ];
}
