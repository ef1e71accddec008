import { z } from 'zod';
import type { AppContext } from '../../platform/context.ts';
import { defineJob } from '../../platform/jobs/job-definition.ts';
import { runPushAll, type Counters } from './push-all.service.ts';

export const WHMCS_PUSH_ALL = 'whmcs.push-all';

export function whmcsJobs(app: AppContext) {
  return [
    defineJob({
      type: WHMCS_PUSH_ALL,
      payload: z.object({}),
      singleton: true,
      retryLimit: 2,
      retryDelaySeconds: 10,
      timeoutSeconds: 6 * 3600,
      heartbeatSeconds: app.config.JOB_HEARTBEAT_SECONDS,
      // A retry resumes after the last saved batch; linked users are not unlinked customers any more.
      retry: {},
      // The checkpoint commits after each batch; the progress written may be a moment behind it.
      settleLost: async (_tx, job) => {
        const saved = job.checkpoint as { counters: Counters } | null;
        if (!saved) return {};
        const c = saved.counters;
        return { progress: { ...job.progress, ...c, percentage: c.total ? Math.round((c.processed / c.total) * 1000) / 10 : 100 } };
      },
      startMessage: () => 'Enviando a WHMCS los clientes sin vincular',
      handler: (ctx) => runPushAll({ whmcs: app.services.whmcs, users: app.services.users, jobs: app.jobs, config: app.config }, ctx),
    }),
  ];
}
