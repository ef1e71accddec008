import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWhmcsSimulator } from '../src/simulators/whmcs/whmcs.simulator.ts';
import { loadConfig } from '../src/platform/config.ts';
import { createRuntime } from '../src/platform/bootstrap.ts';
import { startServer } from '../src/platform/server.ts';
import { modules } from '../src/modules/index.ts';
import { benchDatabase, benchModes } from './support.ts';

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

/**
 * Bulk push of N local users to the WHMCS simulator (no pacing), on PGlite and PostgreSQL:
 * throughput, and Puente's time per WHMCS call over the simulator's own.
 * `npm run bench -- whmcs [users=10000]`
 */
export async function run(args: string[]) {
  const users = Number(args[0] ?? 10_000);
  for (const mode of benchModes('pglite,postgres') as ('pglite' | 'postgres')[]) await once(mode, users);
}

async function once(mode: 'pglite' | 'postgres', users: number) {
  const creds = { identifier: 'bench-id', secret: 'bench-secret', accessKey: 'bench-key' };
  const sim = await startWhmcsSimulator({ ...creds, clients: 0 });
  const dataDir = mkdtempSync(join(tmpdir(), 'puente-bench-whmcs-'));
  const db = await benchDatabase(mode, 'puente_bench_whmcs');
  const env = {
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    JWT_SECRET: 'bench-secret-bench-secret-bench-secret-0000',
    ADMIN_EMAIL: 'bench@puente.local',
    ADMIN_PASSWORD: 'bench-password',
    WHMCS_API_URL: sim.url,
    WHMCS_API_IDENTIFIER: creds.identifier,
    WHMCS_API_SECRET: creds.secret,
    WHMCS_API_ACCESS_KEY: creds.accessKey,
    WHMCS_RATE_LIMIT_PER_SECOND: '100000',
    WHMCS_DEFAULT_POSTCODE: '1010',
    JOB_POLL_INTERVAL_SECONDS: '0.5',
    ...(db.url ? { DATABASE_URL: db.url } : {}),
  };
  const runtime = await createRuntime(loadConfig(env), modules);
  const server = await startServer(runtime, { port: 0, host: '127.0.0.1', work: true });
  try {
    await runtime.ctx.db.query(`
      INSERT INTO users (name, email, phone, address, city, state)
      SELECT 'Cliente ' || g || ' Bench Pérez', 'bench' || g || '@puente.test', '+58414' || lpad(g::text, 7, '0'), 'Calle ' || g, 'Caracas', 'Miranda'
      FROM generate_series(1, ${users}) g`);
    const login = (await (
      await fetch(`${server.url}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: env.ADMIN_EMAIL, password: env.ADMIN_PASSWORD }),
      })
    ).json()) as { access_token: string };
    const auth = { authorization: `Bearer ${login.access_token}` };
    sim.serviceTimeMs.length = 0;
    const started = performance.now();
    const { job_id } = (await (await fetch(`${server.url}/api/whmcs/clients/push-all`, { method: 'POST', headers: auth })).json()) as { job_id: string };
    let job: any;
    for (;;) {
      job = await (await fetch(`${server.url}/jobs/${job_id}`, { headers: auth })).json();
      if (['completed', 'failed', 'cancelled'].includes(job.status)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const seconds = (performance.now() - started) / 1000;
    const calls = sim.serviceTimeMs.length;
    const durations = (await runtime.ctx.db.query<{ d: string }>(`SELECT duration_ms AS d FROM whmcs_sync_logs WHERE job_id = $1`, [job_id])).map((r) =>
      Number(r.d),
    );
    const simMedian = pct(sim.serviceTimeMs, 50);
    const callMedian = pct(durations, 50);
    process.stdout.write(
      [
        `whmcs bulk push (${mode}): ${users} users, job ${job.status} in ${seconds.toFixed(2)} s — ${(users / seconds).toFixed(0)} users/s, ${(calls / seconds).toFixed(0)} WHMCS calls/s (${calls} calls)`,
        `  created ${job.results.created}, conflicts ${job.results.conflicts}, errors ${job.results.errors}; simulator has ${sim.clients().length} clients`,
        `  per call: median round trip seen by Puente ${callMedian.toFixed(2)} ms, simulator's own time ${simMedian.toFixed(3)} ms → overhead ${(callMedian - simMedian).toFixed(2)} ms at the median (p95 round trip ${pct(durations, 95).toFixed(2)} ms)`,
        `  wall time per call across the job (8 in flight, DB writes included): ${((seconds * 1000) / calls).toFixed(3)} ms`,
        '',
      ].join('\n'),
    );
  } finally {
    await server.close();
    await sim.close();
    await db.drop().catch(() => {});
    rmSync(dataDir, { recursive: true, force: true });
  }
}
