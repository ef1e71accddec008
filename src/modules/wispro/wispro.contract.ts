/** Reply schemas of the Wispro routes (imports only zod and contract files). */
import { z } from 'zod';
import { isoDate, jobReply, jobStatus } from '../../platform/http/contract.ts';

export const schedule = z
  .object({
    enabled: z.boolean(),
    cron: z.string().nullable(),
    timezone: z.string(),
    next_run_at: isoDate.nullable(),
  })
  .meta({ id: 'Schedule' });
export type Schedule = z.input<typeof schedule>;

export const wisproSyncStarted = z.object({
  success: z.literal(true),
  message: z.string(),
  already_running: z.boolean().describe('A sync was already pending or running: nothing new started, this is that job'),
  job_id: z.string(),
  job: jobReply,
});
export type WisproSyncStarted = z.input<typeof wisproSyncStarted>;

export const wisproSyncStatus = z.object({
  success: z.literal(true),
  configured: z.boolean(),
  schedule,
  last_sync: z
    .object({
      job_id: z.string(),
      status: jobStatus,
      trigger: z.string(),
      started_at: isoDate.nullable(),
      finished_at: isoDate.nullable(),
      error: z.string().nullable(),
      progress: z.record(z.string(), z.unknown()),
    })
    .nullable(),
});
export type WisproSyncStatus = z.input<typeof wisproSyncStatus>;
