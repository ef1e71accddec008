/** Request and reply schemas of `/jobs` (imports only zod and other contract files). */
import { z } from 'zod';
import { jobReply, jobStatus, pageMeta } from '../http/contract.ts';

export const jobIdParams = z.object({ job_id: z.string().min(1).max(64) });

export const retryBody = z
  .object({
    /** Bulk sends: also send to recipients whose first send may have reached them (they may get it twice). */
    include_uncertain: z.boolean().optional(),
  })
  .strict()
  .nullish();

export const listJobsQuery = z.object({
  type: z.string().max(64).optional(),
  status: jobStatus.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  offset: z.coerce.number().int().min(0).default(0),
  // page/per_page, when given, win over limit/offset (the dashboard pages with them).
  page: z.coerce.number().int().min(1).optional(),
  per_page: z.coerce.number().int().min(1).max(500).optional(),
  scheduled: z.enum(['true', 'false']).optional(),
});

export const jobItemsQuery = z.object({
  status: z.string().max(32).optional(),
  reason: z.string().max(200).optional(),
  page: z.coerce.number().int().min(1).default(1),
  per_page: z.coerce.number().int().min(1).max(500).default(50),
});

export const jobList = z.array(jobReply);

/** One record of a job and what it came to; fields of the record (phone, name, …) sit next to these. */
export const jobItem = z.looseObject({
  key: z.string(),
  status: z.string(),
  reason_code: z.string().nullable(),
  reason: z.string().nullable(),
  label: z.string().nullable(),
});
export type JobItem = z.input<typeof jobItem>;

export const jobItemsReply = z.object({
  status: z.literal('success'),
  job_id: z.string(),
  type: z.string(),
  items: z.array(jobItem),
  meta: pageMeta,
});
export type JobItemsReply = z.input<typeof jobItemsReply>;

export const failureGroup = z.object({ reason_code: z.string().nullable(), reason: z.string().nullable(), count: z.number().int() });
export const failureSummaryReply = z.object({
  status: z.literal('success'),
  job_id: z.string(),
  type: z.string(),
  outcome: jobReply.shape.outcome,
  total_failed: z.number().int(),
  groups: z.array(failureGroup),
});
export type FailureSummaryReply = z.input<typeof failureSummaryReply>;

export const jobControlReply = z.object({ status: z.literal('success'), message: z.string(), job: jobReply });
export type JobControlReply = z.input<typeof jobControlReply>;

export const jobRetryReply = z.object({ status: z.literal('success'), message: z.string(), job_id: z.string(), job: jobReply });
export type JobRetryReply = z.input<typeof jobRetryReply>;
