/** Request and reply schemas of the Zoho routes (imports only zod and contract files). */
import { z } from 'zod';
import { isoDate, jobReply, jobStatus, pageMeta, pageQuery } from '../../platform/http/contract.ts';
import { schedule } from '../wispro/wispro.contract.ts';

export const revealQuery = z.object({
  reveal: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
});
export const historyQuery = revealQuery.extend({ limit: z.coerce.number().int().min(1).max(500).default(50) });

export const accessCode = z.object({
  id: z.number().int(),
  created_at: isoDate,
  expired_at: isoDate.nullable(),
  active: z.boolean(),
  age_seconds: z.number().int(),
  zoho_code: z.string().optional().describe('Only with ?reveal=true (admins)'),
});
export type AccessCode = z.input<typeof accessCode>;

export const codeReply = z.object({ success: z.literal(true), data: accessCode.nullable() });
export const codeHistoryReply = z.object({ success: z.literal(true), data: z.array(accessCode) });
export type CodeReply = z.input<typeof codeReply>;
export type CodeHistoryReply = z.input<typeof codeHistoryReply>;

const lastRun = z
  .object({
    job_id: z.string(),
    status: jobStatus,
    started_at: isoDate.nullable(),
    finished_at: isoDate.nullable(),
    error: z.string().nullable(),
    results: z.record(z.string(), z.unknown()).nullable(),
  })
  .nullable();

export const zohoStats = z.object({
  total_codes: z.number().int(),
  expired_codes: z.number().int(),
  active_code: z.object({ id: z.number().int(), created_at: isoDate, age_seconds: z.number().int() }).nullable(),
  code_sync_interval_minutes: z.number(),
  product_sync_interval_minutes: z.number(),
  last_code_sync: lastRun,
  last_product_sync: lastRun,
  product_reconcile_schedule: schedule,
  last_product_reconcile: lastRun,
});
export type ZohoStats = z.input<typeof zohoStats>;
export const statsReply = z.object({ success: z.literal(true), stats: zohoStats });
export type ZohoStatsReply = z.input<typeof statsReply>;

/** A job started now (or the one already pending, `already_running`). */
export const zohoJobStarted = z.object({
  success: z.literal(true),
  already_running: z.boolean(),
  retried_now: z.boolean().describe('A run waiting out a retry backoff was run at once'),
  job_id: z.string(),
  job: jobReply,
});
export type ZohoJobStarted = z.input<typeof zohoJobStarted>;

export const productsQuery = pageQuery.extend({ search: z.string().trim().max(200).optional(), active: z.enum(['true', 'false']).optional() });
/** A product synced from Zoho Inventory. */
const decimal = z.union([z.string(), z.number()]).describe('A decimal (PostgreSQL numeric: may be a string)');
export const product = z
  .object({
    id: z.number().int(),
    item_id: z.string(),
    name: z.string(),
    sku: z.string().nullable(),
    rate: decimal.nullable(),
    status: z.string(),
    active: z.boolean(),
    stock_on_hand: decimal.nullable(),
    unit: z.string().nullable(),
    description: z.string().nullable(),
    last_modified_time: isoDate.nullable(),
    synced_at: isoDate,
  })
  .meta({ id: 'Product' });
export type Product = z.input<typeof product>;
export const productsReply = z.object({ success: z.literal(true), data: z.array(product), meta: pageMeta });
export type ProductsReply = z.input<typeof productsReply>;

/** Optional: no body (or an empty one) is `{"full": false}`. */
export const productSyncBody = z.object({ full: z.boolean().default(false) }).nullish();
