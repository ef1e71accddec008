import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { loadConfig } from '../../src/platform/config.ts';
import { createRuntime } from '../../src/platform/bootstrap.ts';
import { openDatabase } from '../../src/platform/db/client.ts';
import { migrate } from '../../src/platform/db/migrate.ts';
import { startServer, type RunningServer } from '../../src/platform/server.ts';
import { modules } from '../../src/modules/index.ts';
import type { RuntimeContext } from '../../src/platform/context.ts';
import type { Logger } from '../../src/platform/logger.ts';
import { eventContractViolations } from '../../src/platform/realtime/event-check.ts';

export const ADMIN = { email: 'admin@test.local', password: 'admin-password-123' };

/** The two ways Puente runs: embedded (PGlite, in-process bus) and scaled out (PostgreSQL + Redis). */
export type Mode = 'embedded' | 'scaled';
export const modes: Mode[] = (process.env.PUENTE_TEST_MODES?.split(',') as Mode[] | undefined) ?? ['embedded', 'scaled'];

const adminUrl = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
export const redisUrl = process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379';

/** Resolves when a Redis server answers PING at `url`, rejects with the reason otherwise. */
function pingRedis(url: string): Promise<void> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port || 6379), timeout: 2000 });
    const fail = (why: string) => {
      socket.destroy();
      reject(new Error(why));
    };
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (chunk) => (chunk.toString().startsWith('+PONG') ? (socket.end(), resolve()) : fail(chunk.toString().trim())));
    socket.once('timeout', () => fail('no answer within 2 s'));
    socket.once('error', (err: NodeJS.ErrnoException) => fail(err.code ?? err.message));
  });
}

/** Why the scaled-out tests cannot run on this machine, or null when PostgreSQL and Redis both answer. */
async function scaledUnavailable(): Promise<string | null> {
  const db = new URL(adminUrl);
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 2000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return `PostgreSQL not reachable at ${db.host || 'localhost'} (${e.code ?? e.message}); set TEST_DATABASE_URL to a server where the user may create databases`;
  } finally {
    await client.end().catch(() => {});
  }
  const redis = new URL(redisUrl);
  try {
    await pingRedis(redisUrl);
  } catch (err) {
    return `Redis not reachable at ${redis.host || 'localhost'} (${(err as Error).message}); set TEST_REDIS_URL to a server`;
  }
  return null;
}

const unavailable: Record<Mode, string | null> = {
  embedded: null,
  scaled: modes.includes('scaled') ? await scaledUnavailable() : `PUENTE_TEST_MODES=${process.env.PUENTE_TEST_MODES}`,
};

/**
 * Options for a mode's `describe`: skipped, with the reason in the test report, when the mode's
 * services are not reachable. Embedded mode needs nothing but Node.js; scaled needs PostgreSQL and Redis.
 */
export function runsIn(mode: Mode): { skip?: string } {
  const why = unavailable[mode];
  return why ? { skip: `${mode} mode skipped: ${why}` } : {};
}

export interface Storage {
  env: Record<string, string>;
  dispose(): Promise<void>;
}

let migratedTemplate: Promise<string> | undefined;

/** A PGlite database with every migration applied, made once per test process; copies of it start in a second. */
function migratedPglite(): Promise<string> {
  migratedTemplate ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'puente-template-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const db = await openDatabase({ DATA_DIR: dir, DATABASE_URL: undefined, DATABASE_POOL_SIZE: 1 } as Parameters<typeof openDatabase>[0]);
    try {
      await migrate(db);
    } finally {
      await db.close();
    }
    return join(dir, 'pglite');
  })();
  return migratedTemplate;
}

/**
 * A fresh place to keep data: a temporary PGlite folder, or a new PostgreSQL database and Redis prefix.
 * With `migrated`, an embedded database starts as a copy of one already migrated in this process (the
 * schema a first start would create, without the seconds PGlite takes to apply every migration); for
 * files that give each test its own Puente.
 */
export async function freshStorage(mode: Mode, opts: { migrated?: boolean } = {}): Promise<Storage> {
  const dataDir = mkdtempSync(join(tmpdir(), 'puente-test-'));
  const cleanDir = () => rmSync(dataDir, { recursive: true, force: true });
  if (mode === 'embedded') {
    if (opts.migrated) cpSync(await migratedPglite(), join(dataDir, 'pglite'), { recursive: true });
    return { env: { DATA_DIR: dataDir }, dispose: async () => cleanDir() };
  }
  if (unavailable.scaled) throw new Error(`${unavailable.scaled} (a scaled test without runsIn('scaled') on its describe)`);
  const name = `puente_t_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    env: { DATA_DIR: dataDir, DATABASE_URL: url.toString(), REDIS_URL: redisUrl, REDIS_PREFIX: name },
    async dispose() {
      cleanDir();
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
      await c.end();
    },
  };
}

export function testEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.PUENTE_TEST_LOG ?? 'silent',
    // Every reply is checked against the OpenAPI document; `close()` fails when one disagreed.
    CONTRACT_CHECK: 'strict',
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    JWT_SECRET: 'test-secret-test-secret-test-secret-0123456789',
    JOB_POLL_INTERVAL_SECONDS: '0.5',
    JOB_MONITOR_INTERVAL_SECONDS: '2',
    JOB_HEARTBEAT_SECONDS: '10',
    SHUTDOWN_TIMEOUT_SECONDS: '5',
    CLOUD_API_KEY: 'test-cloud-api-key',
    // The device simulators listen on plain http; a test of the https rule turns this off.
    ALLOW_INSECURE_PROVIDER_URLS: 'true',
    // Tests send the same small file many times; the ones about the duplicate-send guard turn it on.
    MESSAGING_DUPLICATE_WINDOW_MINUTES: '0',
    // Nightly schedules stay off unless a test turns them on: a tick at 3 AM must not land mid-test.
    WISPRO_SYNC_CRON: 'off',
    ZOHO_RECONCILE_CRON: 'off',
    ...extra,
  };
}

export interface TestPuente {
  url: string;
  ctx: RuntimeContext;
  server: RunningServer;
  /** An admin access token. */
  token: string;
  /** fetch against Puente with the admin token; JSON bodies are encoded for you. */
  api(
    path: string,
    init?: { method?: string; body?: unknown; token?: string | null; headers?: Record<string, string> },
  ): Promise<{ status: number; body: any; headers: Headers }>;
  close(): Promise<void>;
}

export async function startPuente(env: NodeJS.ProcessEnv, opts: { work?: boolean; logger?: Logger } = {}): Promise<TestPuente> {
  const runtime = await createRuntime(loadConfig(env), modules, opts.logger);
  const server = await startServer(runtime, { port: 0, host: '127.0.0.1', work: opts.work ?? true });
  const api: TestPuente['api'] = async (path, init = {}) => {
    const headers: Record<string, string> = { ...init.headers };
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    const auth = init.token === undefined ? token : init.token;
    if (auth) headers.authorization = `Bearer ${auth}`;
    const res = await fetch(server.url + path, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {}
    return { status: res.status, body, headers: res.headers };
  };
  let token = '';
  const login = await api('/auth/login', { body: ADMIN, token: null });
  if (login.status !== 200) throw new Error(`admin login failed: ${JSON.stringify(login.body)}`);
  token = login.body.access_token;
  const close = async () => {
    await server.close();
    // Every reply matched its route's declared schema (see response-check.ts), and every socket event
    // the server sent while this test ran matched its contract schema.
    const replies = contractProblems(server);
    const events = eventContractViolations.splice(0);
    const problems = [
      ...(replies.length
        ? [`${replies.length} repl${replies.length === 1 ? 'y' : 'ies'} did not match the API contract:`, ...replies.map((r) => `  ${r}`)]
        : []),
      ...(events.length ? ['socket events that do not match their contract:', ...events] : []),
    ];
    // Not thrown: the test's other clean-up (simulators, storage) must still run. The file fails by its exit code.
    if (problems.length) {
      process.exitCode = 1;
      console.error(problems.join('\n'));
    }
  };
  return { url: server.url, ctx: runtime.ctx, server, token, api, close };
}

/** The replies a server sent that disagreed with their route's declared schema (see response-check.ts), once each. */
export function contractProblems(server: RunningServer): string[] {
  return [...new Set((server.app.contractViolations ?? []).map((v) => `${v.method} ${v.url} -> ${v.status}: ${v.problem}`))];
}

/**
 * Polls until `check` returns a truthy value, or fails after `timeoutMs`; `explain`, when given, says
 * in the failure message where things stood then.
 */
export async function eventually<T>(
  check: () => Promise<T | null | undefined | false>,
  timeoutMs = 30_000,
  what = 'condition',
  explain?: () => Promise<string>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const state = explain ? `: ${await explain().catch((err: Error) => `(could not say more: ${err.message})`)}` : '';
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}${state}`);
}

/** Waits for a job to reach a terminal status and returns its public record. */
export async function waitForJob(p: TestPuente, jobId: string, timeoutMs = 60_000, explain?: () => Promise<string>) {
  return eventually(
    async () => {
      const { body } = await p.api(`/jobs/${jobId}`);
      return ['completed', 'failed', 'cancelled'].includes(body.status) ? body : null;
    },
    timeoutMs,
    `job ${jobId} to finish`,
    explain,
  );
}
