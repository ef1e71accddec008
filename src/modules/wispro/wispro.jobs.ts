import { z } from 'zod';
import type { RuntimeContext } from '../../platform/context.ts';
import { defineJob } from '../../platform/jobs/job-definition.ts';
import { runWisproSync, settleLostWisproSync } from './wispro-sync.service.ts';

export const WISPRO_SYNC = 'wispro.sync';

export const wisproSyncPayload = z.object({ per_page: z.number().int().min(1).max(1000).optional() });
export type WisproSyncPayload = z.infer<typeof wisproSyncPayload>;

/** The seed's SyncWisproClients job: page by page, a checkpoint per page, 3 tries, 900 s. */
export function wisproJobs({ config, db, jobs, services }: RuntimeContext) {
  return [
    defineJob<WisproSyncPayload>({
      type: WISPRO_SYNC,
      payload: wisproSyncPayload,
      retryLimit: 2,
      retryDelaySeconds: 5,
      timeoutSeconds: 900,
      heartbeatSeconds: config.JOB_HEARTBEAT_SECONDS,
      singleton: true,
      // A retry resumes from the last saved page, with the counters so far.
      retry: {},
      settleLost: (_tx, job) => settleLostWisproSync(job),
      // Nightly by default (the seed recommends 2–4 AM), whenever Wispro is configured.
      schedule: () => (config.WISPRO_API_TOKEN ? config.WISPRO_SYNC_CRON : null),
      startMessage: () => 'Iniciando sincronización de clientes de Wispro',
      handler: (ctx) => runWisproSync({ config, db, users: services.users, jobs }, ctx),
    }),
  ];
}
