import { z } from 'zod';
import type { RuntimeContext } from '../../platform/context.ts';
import { defineJob } from '../../platform/jobs/job-definition.ts';
import { bulkParams, runBulkSend } from './bulk-send.dispatcher.ts';
import { carryOverBulkSend, failureGroupsOf, itemsPageOf, settleLostBulkSend } from './bulk-send.records.ts';

export const BULK_SEND = 'messaging.bulk-send';

export function messagingJobs({ config, db, secrets, services }: RuntimeContext) {
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
      heartbeatSeconds: config.JOB_HEARTBEAT_SECONDS,
      concurrency: 2,
      startMessage: (job) => `Iniciando envío masivo de ${bulkParams.shape.total_numbers.catch(0).parse(job.params.total_numbers)} mensajes`,
      handler: (ctx) => runBulkSend({ db, config, secrets, drivers: services.drivers }, ctx),
      settleLost: (tx, job) => settleLostBulkSend(tx, job),
      retry: { carryOver: (tx, from, to, options) => carryOverBulkSend(tx, from, to, options) },
      items: { page: (jobId, query) => itemsPageOf(db.orm, jobId, query), failures: (jobId) => failureGroupsOf(db.orm, jobId) },
    }),
  ];
}
