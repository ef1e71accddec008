import { isIP } from 'node:net';
import { z } from 'zod';

const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off', ''])
    .optional()
    .transform((v) => (v === undefined || v === '' ? fallback : ['true', '1', 'yes', 'on'].includes(v)));

const int = (fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max).optional().default(fallback);

/** Minutes a cron schedule can repeat evenly: a divisor of an hour, whole hours dividing a day, or a day; 0 turns it off. */
export const evenMinutes = (m: number) => m === 0 || (m < 60 && 60 % m === 0) || (m % 60 === 0 && 1440 % m === 0);
const interval = (fallback: number) =>
  int(fallback, 0).refine(evenMinutes, {
    message:
      'no se repite de forma regular / does not repeat evenly: use 1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60, 120, 180, 240, 360, 480, 720 or 1440 (0 = off)',
  });

const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const url = z.string().url();

function isTimeZone(tz: string) {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const looksLikeIana = (tz: string) => /^[A-Za-z][A-Za-z_+-]*(\/[A-Za-z0-9_+-]+)+$/.test(tz) || /^(UTC|GMT)$/i.test(tz);

/** A five-field cron expression, or `off`/empty (→ null: no schedule). */
const cronOrOff = (fallback: string) =>
  z
    .string()
    .optional()
    .transform((v) => (v === undefined ? fallback : v.trim()))
    .pipe(
      z
        .string()
        .refine((v) => v === '' || v.toLowerCase() === 'off' || /^(\S+\s+){4}\S+$/.test(v), 'must be a five-field cron expression (e.g. "0 3 * * *") or "off"'),
    )
    .transform((v) => (v === '' || v.toLowerCase() === 'off' ? null : v));

const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: int(5000, 0, 65535),
  HOST: z.string().default('0.0.0.0'),
  DATA_DIR: z.string().default('./data'),
  DATABASE_URL: optionalText.pipe(z.string().startsWith('postgres', 'must be a postgres:// URL').optional()),
  DATABASE_POOL_SIZE: int(10, 1, 200),
  REDIS_URL: optionalText.pipe(z.string().startsWith('redis', 'must be a redis:// URL').optional()),
  REDIS_HOST: optionalText,
  REDIS_PORT: int(6379, 1, 65535),
  REDIS_PREFIX: z.string().default('puente'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** How replies are checked against the API contract: `warn` logs a mismatch, `strict` records it (the test suite fails on it). */
  CONTRACT_CHECK: z.enum(['off', 'warn', 'strict']).default('warn'),
  JWT_SECRET: optionalText.pipe(z.string().min(32, 'must be at least 32 characters').optional()),
  JWT_ACCESS_TTL_SECONDS: int(900, 60),
  JWT_REFRESH_TTL_SECONDS: int(7 * 24 * 3600, 300),
  ADMIN_EMAIL: optionalText.pipe(z.string().email().optional()),
  ADMIN_PASSWORD: optionalText.pipe(z.string().min(8, 'must be at least 8 characters').optional()),
  LOGIN_RATE_LIMIT_PER_MINUTE: int(10, 1),
  TRUST_PROXY: optionalText.transform((v, c) => parseTrustProxy(v, c)),
  LOGIN_ACCOUNT_FREE_FAILURES: int(5, 1),
  LOGIN_ACCOUNT_MAX_DELAY_SECONDS: int(900, 1),
  LOGIN_ACCOUNT_CEILING_PER_HOUR: int(50, 1),
  CODE_LOGIN_FAILURES_PER_MINUTE: int(30, 1),
  API_KEY_FAILURES_PER_MINUTE: int(20, 1),
  SECRET_KEY: optionalText.pipe(z.string().min(32, 'must be at least 32 characters').optional()),
  SECRET_KEY_PREVIOUS: optionalText,
  ALLOW_INSECURE_PROVIDER_URLS: bool(false),
  CLOUD_API_KEY: optionalText.pipe(z.string().min(8, 'must be at least 8 characters').optional()),
  DEFAULT_COUNTRY: z.string().length(2).toUpperCase().default('VE'),
  /** Unset: 10 s on PostgreSQL, 60 s on the embedded database (see jobIntervals). */
  JOB_MONITOR_INTERVAL_SECONDS: z.coerce.number().int().min(1).optional(),
  JOB_HEARTBEAT_SECONDS: int(30, 10),
  JOB_LEASE_SECONDS: int(4, 3),
  /** Unset: 1 s on PostgreSQL, 30 s on the embedded database (see jobIntervals). */
  JOB_POLL_INTERVAL_SECONDS: z.coerce.number().min(0.5).optional(),
  SHUTDOWN_TIMEOUT_SECONDS: int(20, 1),
  JOB_RECONCILE_INTERVAL_SECONDS: int(30, 1),

  WISPRO_API_URL: url.default('https://www.cloud.wispro.co/api/v1'),
  WISPRO_API_TOKEN: optionalText,
  WISPRO_PER_PAGE: int(100, 1, 1000),
  WISPRO_TIMEOUT_MS: int(30_000, 100),
  WISPRO_ZONE_FIELD: z.string().default('zone_name'),
  /** The nightly customer sync (seed 000 recommends 2–4 AM); `off` disables it. */
  WISPRO_SYNC_CRON: cronOrOff('0 3 * * *'),
  /** Time zone of every cron schedule; the process's own zone (or UTC) when unset. */
  // Only names that look like IANA zones are checked: POSIX forms some images set (`:/etc/localtime`,
  // `EST5EDT`) are left to the process and schedules use its zone.
  TZ: optionalText.pipe(
    z
      .string()
      .refine((v) => !looksLikeIana(v) || isTimeZone(v), 'must be an IANA time zone such as America/Caracas')
      .optional(),
  ),

  WHMCS_API_URL: optionalText.pipe(url.optional()),
  WHMCS_API_IDENTIFIER: optionalText,
  WHMCS_API_SECRET: optionalText,
  WHMCS_API_ACCESS_KEY: optionalText,
  WHMCS_API_TIMEOUT: int(30, 1),
  WHMCS_ENABLED: bool(true),
  WHMCS_CACHE_ENABLED: bool(true),
  WHMCS_CACHE_TTL_SECONDS: int(300, 1),
  WHMCS_LOG_ENABLED: bool(true),
  WHMCS_LOG_REQUESTS: bool(true),
  WHMCS_LOG_RESPONSES: bool(true),
  WHMCS_FIELD_MAPPING_FILE: optionalText,
  WHMCS_FIELD_MAPPING: optionalText,
  WHMCS_DEFAULT_CITY: optionalText,
  WHMCS_DEFAULT_STATE: optionalText,
  WHMCS_DEFAULT_POSTCODE: optionalText,
  WHMCS_DEFAULT_COUNTRY: optionalText.pipe(z.string().length(2, 'must be an ISO-3166 two-letter code').toUpperCase().optional()),
  WHMCS_RATE_LIMIT_PER_SECOND: int(20, 1),
  /** AddClient e-mails every new client unless told not to; a bulk push must not. */
  WHMCS_SEND_WELCOME_EMAIL: bool(false),

  ZOHO_ACCOUNTS_URL: url.default('https://accounts.zoho.com'),
  ZOHO_API_URL: url.default('https://www.zohoapis.com'),
  ZOHO_CLIENT_ID: optionalText,
  ZOHO_CLIENT_SECRET: optionalText,
  ZOHO_REFRESH_TOKEN: optionalText,
  ZOHO_CREATOR_OWNER: optionalText,
  ZOHO_CREATOR_APP: optionalText,
  ZOHO_CREATOR_REPORT: optionalText,
  ZOHO_MAP_ACCESS_NAME: z.string().default('default_access'),
  ZOHO_CODE_FIELD: z.string().default('Code'),
  ZOHO_ORGANIZATION_ID: optionalText,
  ZOHO_SYNC_INTERVAL_MINUTES: interval(5),
  ZOHO_CODE_SYNC_INTERVAL_MINUTES: interval(30),
  /** The full product pass that catches what incremental syncs missed and deleted items; `off` disables it. */
  ZOHO_RECONCILE_CRON: cronOrOff('30 2 * * *'),

  MESSAGING_MAX_FILE_BYTES: int(200 * 1024 * 1024, 1),
  MESSAGING_MAX_RECIPIENTS: int(1_000_000, 1),
  MESSAGING_DUPLICATE_WINDOW_MINUTES: int(24 * 60, 0),
  DEVICE_HEALTH_INTERVAL_SECONDS: int(60, 1),
  MESSAGING_MAX_LINE_BYTES: int(64 * 1024, 256, 16 * 1024 * 1024),

  // Limits against slow, flooding or hostile clients (docs/security.md).
  HTTP_REQUEST_TIMEOUT_MS: int(10 * 60_000, 1000),
  HTTP_HEADERS_TIMEOUT_MS: int(30_000, 500),
  HTTP_CONNECTION_TIMEOUT_MS: int(60_000, 500),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: int(72_000, 500),
  CORS_ORIGINS: z
    .string()
    .optional()
    .transform((v) =>
      (v ?? '')
        .split(',')
        .map((o) => o.trim().replace(/\/$/, ''))
        .filter(Boolean),
    )
    .pipe(z.array(z.union([z.literal('*'), z.string().url('must be a comma-separated list of origins (https://host[:port]) or *')]))),
  REALTIME_MAX_CONNECTIONS_PER_ADDRESS: int(2000, 1),
  SOCKET_EVENTS_PER_SECOND: int(20, 1),
  SYNC_FEED_WINDOW: int(10_000, 0),
  SYNC_KEY_CACHE_SECONDS: int(30, 0),

  // WhatsApp receipts, opt-outs and provider checks (docs/messaging.md).
  PUBLIC_URL: optionalText.pipe(url.optional()),
  MESSAGING_SETTLE_HOURS: z.coerce
    .number()
    .min(0)
    .max(24 * 30)
    .default(24),
  MESSAGING_OPT_OUT_WORDS: z.string().default('BAJA,STOP,NO MAS,CANCELAR'),
  MESSAGING_RECEIPT_BATCH_MS: int(50, 1, 5000),
  MESSAGING_RECEIPT_BATCH_ROWS: int(500, 1, 50_000),
  WAHA_CHECK_CACHE_SECONDS: int(6 * 3600, 0),
  DEVICE_RECEIPT_FAILURE_RATE: z.coerce.number().min(0).max(1).default(0.5),
  DEVICE_RECEIPT_MIN_SAMPLE: int(50, 1),
});

/**
 * Which proxies may set X-Forwarded-For: off (the default: the peer address is the client), a hop count,
 * or a comma-separated list of addresses and CIDR ranges. `true` (trust anyone) is refused on purpose:
 * any client could then choose its own address and walk past every per-address limit.
 */
function parseTrustProxy(v: string | undefined, c: z.RefinementCtx): false | number | string[] {
  if (v === undefined || ['false', '0', 'off', 'no'].includes(v.toLowerCase())) return false;
  if (/^\d+$/.test(v)) return Number(v);
  const list = v
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  const bad = list.filter((x) => {
    const [addr, bits, ...rest] = x.split('/');
    const family = isIP(addr ?? '');
    if (!family || rest.length) return true;
    return bits !== undefined && !(/^\d+$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
  });
  if (bad.length || !list.length)
    c.addIssue({ code: 'custom', message: `must be a hop count or a list of addresses/CIDR ranges (bad: ${bad.join(', ') || v})` });
  return list;
}

/** Rules between variables; checked on the raw environment so they are reported with every other problem. */
function crossIssues(env: NodeJS.ProcessEnv): string[] {
  const issues: string[] = [];
  if (env.ADMIN_EMAIL?.trim() && !env.ADMIN_PASSWORD?.trim()) issues.push('ADMIN_PASSWORD: is required when ADMIN_EMAIL is set');
  return issues;
}

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  readonly issues: string[];
  constructor(issues: string[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** Parses the environment once; every problem is reported together, each naming its variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const result = configSchema.safeParse(env);
  const issues = [...(result.success ? [] : result.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`)), ...crossIssues(env)];
  if (issues.length || !result.success) throw new ConfigError(issues);
  return result.data;
}

/** The zone cron schedules run in: `TZ`, else the process's own, else UTC. */
export function scheduleTimeZone(config: Config): string {
  if (config.TZ && isTimeZone(config.TZ)) return config.TZ;
  return Intl.DateTimeFormat().resolvedOptions().timeZone ?? 'UTC';
}

export function redisUrlOf(config: Config): string | undefined {
  if (config.REDIS_URL) return config.REDIS_URL;
  if (config.REDIS_HOST) return `redis://${config.REDIS_HOST}:${config.REDIS_PORT}`;
  return undefined;
}

/**
 * How often idle workers poll the queue and the queue checks heartbeats and timeouts. On the embedded
 * database every job is created in this process, which wakes its workers at once (and retries and
 * delayed jobs by a timer when they fall due), so the poll is only a safety net; and every statement
 * runs on this thread, where a poll or a check holds up whatever request lands behind it. So the
 * defaults there are 30 s and 60 s; on PostgreSQL, whose workers may live in processes without an
 * event bus between them, 1 s and 10 s.
 */
export function jobIntervals(config: Pick<Config, 'JOB_POLL_INTERVAL_SECONDS' | 'JOB_MONITOR_INTERVAL_SECONDS'>, embedded: boolean) {
  return {
    pollSeconds: config.JOB_POLL_INTERVAL_SECONDS ?? (embedded ? 30 : 1),
    monitorSeconds: config.JOB_MONITOR_INTERVAL_SECONDS ?? (embedded ? 60 : 10),
  };
}
