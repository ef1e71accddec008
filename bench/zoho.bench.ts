import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { startZohoSimulator } from '../src/simulators/zoho/zoho.simulator.ts';
import { loadConfig } from '../src/platform/config.ts';
import { createRuntime } from '../src/platform/bootstrap.ts';
import { createLogger } from '../src/platform/logger.ts';
import { modules } from '../src/modules/index.ts';
import { benchDatabase, benchModes, cpuOf } from './support.ts';

/**
 * Code login against a Puente process: latency at a steady 500 requests/s and the closed-loop
 * maximum, with the count of calls Zoho received. Then a product sync of 20,000 items, first and
 * incremental. `npm run bench -- zoho [rate=500] [seconds=10] [items=20000] [modes=pglite,postgres]`
 */
export async function run(args: string[]) {
  const rate = Number(args[0] ?? 500),
    seconds = Number(args[1] ?? 10),
    items = Number(args[2] ?? 20_000);
  const creds = { clientId: '1000.BENCH', clientSecret: 'bench-secret', refreshToken: '1000.bench' };
  const sim = await startZohoSimulator({ ...creds, initialCode: 'BENCH-CODE', items, inventoryRatePerMinute: 1_000_000 });
  const env = {
    ZOHO_ACCOUNTS_URL: sim.accountsUrl,
    ZOHO_API_URL: sim.apiUrl,
    ZOHO_CLIENT_ID: creds.clientId,
    ZOHO_CLIENT_SECRET: creds.clientSecret,
    ZOHO_REFRESH_TOKEN: creds.refreshToken,
    ZOHO_CREATOR_OWNER: 'puente-owner',
    ZOHO_CREATOR_APP: 'puente-app',
    ZOHO_CREATOR_REPORT: 'Access_Codes',
    ZOHO_ORGANIZATION_ID: '60000000001',
    ZOHO_SYNC_INTERVAL_MINUTES: '0',
    JWT_SECRET: 'bench-secret-bench-secret-bench-secret-0000',
  };
  try {
    const modes = benchModes(args[3] ?? 'pglite,postgres');
    for (const mode of modes) await loginBench(env, sim, rate, seconds, mode);
    await productBench(env, items, modes);
  } finally {
    await sim.close();
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

async function loginBench(env: Record<string, string>, sim: Awaited<ReturnType<typeof startZohoSimulator>>, rate: number, seconds: number, mode: string) {
  const dataDir = mkdtempSync(join(tmpdir(), 'puente-bench-'));
  const db = await benchDatabase(mode, 'puente_bench_login');
  const dbEnv = db.url ? { DATABASE_URL: db.url } : {};
  const port = await freePort();
  // Logs at warn: per-request info lines written to a pipe would be measured too.
  // BENCH_TRACE=1 (embedded database only): every statement timed in the server (bench/pglite-trace.ts),
  // reported for 10 s of idling first, then for each steady run.
  const trace = process.env.BENCH_TRACE === '1' && mode !== 'postgres';
  const preload = trace ? ['--import', fileURLToPath(new URL('./pglite-trace.ts', import.meta.url))] : [];
  const server = spawn(process.execPath, [...preload, fileURLToPath(new URL('../src/main.ts', import.meta.url)), 'serve'], {
    env: {
      PATH: process.env.PATH,
      ...env,
      ...dbEnv,
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      LOGIN_RATE_LIMIT_PER_MINUTE: '10000000',
      // BENCH_PUENTE_NODE_OPTIONS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`) reaches the server: a profile of a run.
      NODE_OPTIONS: process.env.BENCH_PUENTE_NODE_OPTIONS ?? '',
      // The job queue's settings, when given, reach the server (to compare intervals).
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('JOB_'))),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    const url = `http://127.0.0.1:${port}`;
    // Up to two minutes: a start-up (migrations, the embedded database's first open) on a busy machine.
    for (let i = 0; i < 600; i++) {
      if (
        await fetch(`${url}/health`).then(
          (r) => r.ok,
          () => false,
        )
      )
        break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const agent = new Agent({ connections: 64, keepAliveTimeout: 30_000 });
    const login = async () => {
      const t = performance.now();
      const res = await request(`${url}/auth/login`, {
        method: 'POST',
        dispatcher: agent,
        headers: { 'content-type': 'application/json' },
        body: '{"code":"BENCH-CODE"}',
      });
      await res.body.text();
      if (res.statusCode !== 200) throw new Error(`login ${res.statusCode}`);
      return performance.now() - t;
    };
    for (let i = 0; i < 10 && (await login().catch(() => null)) === null; i++) await new Promise((r) => setTimeout(r, 500)); // start-up code sync
    for (let i = 0; i < 200; i++) await login(); // warm-up
    const health = async () => {
      const t = performance.now();
      const res = await request(`${url}/health`, { dispatcher: agent });
      await res.body.text();
      return performance.now() - t;
    };
    for (let i = 0; i < 200; i++) await health(); // warm-up
    const creatorBefore = sim.creatorCalls,
      tokenBefore = sim.tokenRequests;
    // The floor first, then login, at the same steady rate against the same process.
    // CPU the Puente process spent per request in each run (its background work included): what a
    // login costs beyond /health, whatever share of the machine other work leaves it.
    const pid = [server.pid!];
    const traced = async (what: string) => {
      if (!trace) return;
      process.stderr.write(`[${mode}] statements in the server, ${what}: `);
      server.kill('SIGUSR2');
      await new Promise((r) => setTimeout(r, 100));
    };
    if (trace) {
      await traced('warm-up (discarded)');
      const idleCpu = cpuOf(pid);
      await new Promise((r) => setTimeout(r, 10_000));
      process.stdout.write(`[${mode}] Puente CPU while idle: ${((cpuOf(pid) - idleCpu) / 10).toFixed(1)} ms/s\n`);
      await traced('idle 10 s');
    }
    let cpu = cpuOf(pid);
    const floor = (await steady(health, rate, seconds)).latencies;
    const healthCpu = (cpuOf(pid) - cpu) / floor.length;
    await traced('during /health');
    cpu = cpuOf(pid);
    const { latencies, achieved } = await steady(login, rate, seconds);
    const loginCpu = (cpuOf(pid) - cpu) / latencies.length;
    await traced('during login');
    let done = 0;
    const until = performance.now() + 5000;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (performance.now() < until) {
          await login();
          done++;
        }
      }),
    );
    process.stdout.write(
      [
        `[${mode}] code login at a steady ${rate}/s for ${seconds} s: achieved ${achieved.toFixed(0)}/s, p50 ${pct(latencies, 50).toFixed(2)} ms, p99 ${pct(latencies, 99).toFixed(2)} ms, max ${pct(latencies, 100).toFixed(2)} ms`,
        `[${mode}] floor, GET /health at the same rate: p50 ${pct(floor, 50).toFixed(2)} ms, p99 ${pct(floor, 99).toFixed(2)} ms, max ${pct(floor, 100).toFixed(2)} ms`,
        `[${mode}] ratio login / health: p50 ${(pct(latencies, 50) / pct(floor, 50)).toFixed(2)}×, p99 ${(pct(latencies, 99) / pct(floor, 99)).toFixed(2)}× (target p99 ≤ 2×)`,
        `[${mode}] Puente CPU per request: login ${loginCpu.toFixed(2)} ms, /health ${healthCpu.toFixed(2)} ms`,
        `[${mode}] code login closed loop (32 concurrent, 5 s): ${(done / 5).toFixed(0)} requests/s`,
        `calls to Zoho during the runs: creator ${sim.creatorCalls - creatorBefore}, token ${sim.tokenRequests - tokenBefore}`,
        '',
      ].join('\n'),
    );
    await agent.close();
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
    await db.drop();
  }
}

/** Calls `fn` at a steady `rate` a second for `seconds`, not waiting for replies to send the next. */
async function steady(fn: () => Promise<number>, rate: number, seconds: number) {
  const latencies: number[] = [];
  const started = performance.now();
  const pending: Promise<void>[] = [];
  for (let n = 0; n < rate * seconds; n++) {
    const wait = started + (n * 1000) / rate - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    pending.push(fn().then((ms) => void latencies.push(ms)));
  }
  await Promise.all(pending);
  return { latencies, achieved: latencies.length / ((performance.now() - started) / 1000) };
}

async function productBench(env: Record<string, string>, items: number, modes: string[]) {
  for (const mode of modes) {
    const dataDir = mkdtempSync(join(tmpdir(), 'puente-bench-'));
    const db = await benchDatabase(mode, 'puente_bench_zoho');
    const config = loadConfig({
      ...env,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      ZOHO_CODE_SYNC_INTERVAL_MINUTES: '0',
      ...(db.url ? { DATABASE_URL: db.url } : {}),
    });
    const runtime = await createRuntime(config, modules, createLogger({ LOG_LEVEL: 'warn' }));
    try {
      const zoho = runtime.ctx.services.zoho;
      let t = performance.now();
      const first = await zoho.syncProducts(false, () => {});
      const firstS = (performance.now() - t) / 1000;
      t = performance.now();
      const second = await zoho.syncProducts(false, () => {});
      const secondS = (performance.now() - t) / 1000;
      process.stdout.write(
        `product sync of ${items} items (${mode}): first ${firstS.toFixed(2)} s (${first.upserted} items, ${first.pages} pages), incremental ${secondS.toFixed(2)} s (${second.upserted} items re-read in the overlap)\n`,
      );
    } finally {
      await runtime.close();
      rmSync(dataDir, { recursive: true, force: true });
      await db.drop();
    }
  }
}
