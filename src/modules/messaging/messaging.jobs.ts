import { z } from 'zod';
import type { AppContext } from '../../platform/context.ts';
import { defineJob } from '../../platform/jobs/job-definition.ts';
import { runBulkSend } from './dispatcher.ts';

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
    }),
  ];
}
