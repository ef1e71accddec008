import { z } from 'zod';
import type { RuntimeContext } from '../../platform/context.ts';
import { defineJob } from '../../platform/jobs/job-definition.ts';
import { runPushAll, settleLostPushAll } from './push-all.service.ts';

export const WHMCS_PUSH_ALL = 'whmcs.push-all';

export function whmcsJobs({ config, jobs, services }: RuntimeContext) {
  return [
    defineJob({
      type: WHMCS_PUSH_ALL,
      payload: z.object({}),
      singleton: true,
      retryLimit: 2,
      retryDelaySeconds: 10,
      timeoutSeconds: 6 * 3600,
      heartbeatSeconds: config.JOB_HEARTBEAT_SECONDS,
      // A retry resumes after the last saved batch; linked users are not unlinked customers any more.
      retry: {},
      settleLost: (_tx, job) => settleLostPushAll(job),
      startMessage: () => 'Enviando a WHMCS los clientes sin vincular',
      handler: (ctx) => runPushAll({ whmcs: services.whmcs, users: services.users, jobs, config }, ctx),
    }),
  ];
}
