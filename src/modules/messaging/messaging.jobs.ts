import { z } from 'zod';
import type { AppContext } from '../../platform/context.ts';
import { defineJob } from '../../platform/jobs/job-definition.ts';
import { progressOf, runBulkSend, type BulkParams } from './dispatcher.ts';
import { devicesRepository } from './devices.repository.ts';
import { recipientsRepository } from './recipients.repository.ts';

export const BULK_SEND = 'messaging.bulk-send';

export function messagingJobs(app: AppContext) {
  return [
    defineJob({
      type: BULK_SEND,
      payload: z.object({}).passthrough(),
      // Retries resume from the recipients' rows; nothing already sent or in flight is sent again.
      retryLimit: 3,
      retryDelaySeconds: 5,
      // pg-boss's longest expiry; a longer send is released at that point and resumes at once.
      timeoutSeconds: 24 * 3600,
      heartbeatSeconds: app.config.JOB_HEARTBEAT_SECONDS,
      concurrency: 2,
      startMessage: (job) => `Iniciando envío masivo de ${Number((job.params as { total_numbers?: number }).total_numbers ?? 0)} mensajes`,
      handler: (ctx) => runBulkSend(app, ctx),
      // The worker died on the last attempt: what it had in flight may have gone out, so it is uncertain.
      settleLost: async (tx, job) => {
        await recipientsRepository.markInFlightUncertain(tx, job.id);
        await devicesRepository.release(tx, job.id);
        const c = await recipientsRepository.counts(tx, job.id);
        const params = job.params as unknown as BulkParams;
        return {
          progress: progressOf(c),
          results: { sent: c.sent, failed: c.failed, uncertain: c.uncertain, unsent: c.queued, total: c.total, invalid_numbers: params.invalid_numbers, duplicates: params.duplicates },
        };
      },
      // Sent recipients are never sent again; uncertain ones only when the operator asks for it.
      retry: {
        carryOver: async (tx, from, to, { includeUncertain }) => {
          await recipientsRepository.copyForRetry(tx, from.id, to.id, includeUncertain);
          return { progress: progressOf(await recipientsRepository.counts(tx, to.id)) };
        },
      },
    }),
  ];
}
