import { z } from 'zod';
import type { RuntimeContext } from '../context.ts';
import { defineJob } from './job-definition.ts';
import { jobsRepository } from './jobs.repository.ts';

const JOBS_CLEANUP = 'platform.jobs-cleanup';
/** Finished runs of scheduled jobs are kept this long; jobs people started are kept. */
const SCHEDULED_RETENTION_DAYS = 7;

/** Scheduled syncs every few minutes would otherwise add hundreds of job records a day. */
export function maintenanceJobs({ db }: RuntimeContext) {
  return [
    defineJob({
      type: JOBS_CLEANUP,
      payload: z.object({}).passthrough(),
      singleton: true,
      retryLimit: 1,
      schedule: () => '17 3 * * *',
      startMessage: () => 'Limpiando registros de jobs programados antiguos',
      handler: async () => ({ deleted: await jobsRepository.deleteOldScheduled(db.orm, SCHEDULED_RETENTION_DAYS) }),
    }),
  ];
}
