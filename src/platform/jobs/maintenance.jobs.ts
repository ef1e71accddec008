import { z } from 'zod';
import { sql } from 'drizzle-orm';
import type { AppContext } from '../context.ts';
import { rows } from '../db/client.ts';
import { defineJob } from './job-definition.ts';

export const JOBS_CLEANUP = 'platform.jobs-cleanup';
/** Finished runs of scheduled jobs are kept this long; jobs people started are kept. */
export const SCHEDULED_RETENTION_DAYS = 7;

/** Scheduled syncs every few minutes would otherwise add hundreds of job records a day. */
export function maintenanceJobs(app: AppContext) {
  return [
    defineJob({
      type: JOBS_CLEANUP,
      payload: z.object({}).passthrough(),
      singleton: true,
      retryLimit: 1,
      schedule: () => '17 3 * * *',
      startMessage: () => 'Limpiando registros de jobs programados antiguos',
      handler: async () => {
        const deleted = await rows<{ id: string }>(app.db.orm, sql`
          DELETE FROM jobs WHERE created_by = 'schedule' AND status IN ('completed', 'cancelled')
            AND finished_at < now() - make_interval(days => ${SCHEDULED_RETENTION_DAYS})
          RETURNING id`);
        return { deleted: deleted.length };
      },
    }),
  ];
}
