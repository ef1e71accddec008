/** Request and reply schemas of seed 002's `/api/whmcs` routes (imports only zod and contract files). */
import { z } from 'zod';
import { isoDate, jobReply } from '../../platform/http/contract.ts';

export const localIdParams = z.object({ id: z.coerce.number().int().positive() });
export const whmcsIdParams = z.object({ whmcs_id: z.coerce.number().int().positive() });
const entityType = z.string().trim().min(1).max(40).default('client');
/** The seed names the local id `laravel_id`; Puente also accepts `local_id`. */
export const localRef = { laravel_id: z.coerce.number().int().positive().optional(), local_id: z.coerce.number().int().positive().optional() };

export const pushBody = z.object({ force_create: z.boolean().default(false) }).nullish();
export const pullBody = z.object(localRef).nullish();
export const listBody = z
  .object({
    offset: z.coerce.number().int().min(0).default(0),
    limit: z.coerce.number().int().min(1).max(500).default(25),
    search: z.string().trim().max(200).optional(),
  })
  .nullish();
export const linksQuery = z.object({
  ids: z
    .string()
    .max(2000)
    .transform((v, c) => {
      const ids = v.split(',').filter(Boolean).map(Number);
      if (ids.length > 200 || ids.some((n) => !Number.isInteger(n) || n < 1))
        c.addIssue({ code: 'custom', message: 'ids: up to 200 positive integers, comma-separated' });
      return ids;
    }),
});
export const linkBody = z.object({ entity_type: z.literal('client').default('client'), whmcs_id: z.coerce.number().int().positive(), ...localRef });
export const unlinkBody = z.object({ entity_type: entityType, ...localRef });
export const logsBody = z
  .object({
    entity_type: z.string().trim().max(40).optional(),
    status: z.enum(['success', 'error']).optional(),
    operation: z.string().trim().max(40).optional(),
    whmcs_id: z.coerce.number().int().positive().optional(),
    ...localRef,
    days: z.coerce.number().int().min(1).max(3650).default(7),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    offset: z.coerce.number().int().min(0).default(0),
  })
  .nullish();

/** Seed 002's timestamps: `YYYY-MM-DD HH:MM:SS` (UTC). */
const seedTime = z.string().describe('YYYY-MM-DD HH:MM:SS (UTC)');

/** A local client's link with WHMCS. */
export const linkState = {
  synced: z.boolean(),
  whmcs_id: z.number().int().nullable(),
  sync_status: z.enum(['synced', 'pending', 'error']).nullable(),
  last_synced_at: seedTime.nullable(),
  last_error: z.string().nullable(),
  sync_map_id: z.number().int().nullable(),
};

export const testReply = z.object({ success: z.literal(true), message: z.string(), whmcs_version: z.string(), response_time_ms: z.number() });
export type TestReply = z.input<typeof testReply>;
export const pushReply = z.object({
  success: z.literal(true),
  message: z.string(),
  whmcs_id: z.number().int(),
  sync_map_id: z.number().int(),
  operation: z.enum(['created', 'updated']),
});
export type PushReply = z.input<typeof pushReply>;
export const updateReply = z.object({ success: z.literal(true), message: z.string(), whmcs_id: z.number().int() });
export const pullReply = z.object({
  success: z.literal(true),
  message: z.string(),
  whmcs_client: z.looseObject({ id: z.union([z.number(), z.string()]), email: z.string().nullish() }),
  laravel_data: z.record(z.string(), z.unknown()),
  local_id: z.number().int(),
  sync_map_id: z.number().int(),
  operation: z.string(),
});
export type PullReply = z.input<typeof pullReply>;
/** A WHMCS client as `GetClients` lists it, with the local client it is linked to. */
export const whmcsClientRow = z.looseObject({ id: z.union([z.number(), z.string()]), local_id: z.number().int().nullable() });
export type WhmcsClientRow = z.input<typeof whmcsClientRow>;
export const listReply = z.object({
  success: z.literal(true),
  total: z.number().int(),
  offset: z.number().int(),
  limit: z.number().int(),
  count: z.number().int(),
  cached: z.boolean(),
  clients: z.array(whmcsClientRow),
});
export type WhmcsListReply = z.input<typeof listReply>;
export const checkReply = z.object({ success: z.literal(true), ...linkState, exists_in_whmcs: z.boolean().nullable(), remote_error: z.string().optional() });
export type CheckReply = z.input<typeof checkReply>;
export const linksReply = z.object({ success: z.literal(true), links: z.array(z.object({ laravel_id: z.number().int(), ...linkState })) });
export type LinksReply = z.input<typeof linksReply>;
export const linkReply = z.object({ success: z.literal(true), message: z.string(), ...linkState });
export const unlinkReply = z.object({ success: z.literal(true), message: z.string(), whmcs_id: z.number().int().nullable() });
export const syncLog = z.looseObject({
  id: z.union([z.number().int(), z.string()]).describe('bigserial: PostgreSQL sends it as a string'),
  entity_type: z.string(),
  laravel_id: z.number().int().nullable(),
  whmcs_id: z.number().int().nullable(),
  operation: z.string(),
  action: z.string(),
  status: z.enum(['success', 'error']),
  error_message: z.string().nullable(),
  duration_ms: z.number().nullable(),
  created_at: isoDate,
});
export type SyncLog = z.input<typeof syncLog>;
export const logsReply = z.object({
  success: z.literal(true),
  total: z.number().int(),
  limit: z.number().int(),
  offset: z.number().int(),
  logs: z.array(syncLog),
});
export type LogsReply = z.input<typeof logsReply>;
export const statsReply = z.object({
  success: z.literal(true),
  stats: z.object({
    total_synced: z.number().int(),
    total_pending: z.number().int(),
    total_errors: z.number().int(),
    by_entity_type: z.record(z.string(), z.number()),
    last_activity_at: isoDate.nullable(),
  }),
});
export type WhmcsStatsReply = z.input<typeof statsReply>;
export const pushAllReply = z.object({ success: z.literal(true), already_running: z.boolean(), job_id: z.string(), job: jobReply });
