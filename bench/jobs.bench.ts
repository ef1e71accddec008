import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PgBoss } from 'pg-boss';
import { benchDatabase, benchModes, pct, spawnPuente } from './support.ts';

/**
 * Job start: from sending `POST /api/users/sync-wispro-all` to the job's `started_at` (set by the
 * worker that claims it; PostgreSQL and PGlite both stamp it from this machine's clock). Embedded:
 * one `serve` process. PostgreSQL: `serve` with its own workers, and `serve --no-worker` beside a
 * `worker` process (the wake crosses processes over Redis). Floors measured in the same run: a
 * no-op HTTP request (`GET /health`) and, on PostgreSQL, a bare pg-boss send → fetch.
 * `npm run bench -- jobs [jobs=20] [modes=pglite,postgres]`
 */
export async function run(args: string[]) {
  const n = Number(args[0] ?? 20);
  const sim = await startSim();
  try {
    for (const mode of benchModes(args[1] ?? 'pglite,postgres')) {
      if (mode === 'pglite') await measure('pglite', 'serve (embedded)', n, sim.url, false);
      else {
        await measure('postgres', 'serve with workers', n, sim.url, false);
        await measure('postgres', 'serve --no-worker + worker process', n, sim.url, true);
      }
    }
  } finally {
    sim.stop();
  }
}

async function measure(mode: string, label: string, n: number, wisproUrl: string, split: boolean) {
  const dataDir = mkdtempSync(join(tmpdir(), 'puente-bench-'));
  const db = await benchDatabase(mode, 'puente_bench_jobs');
  const env = {
    DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    WISPRO_API_URL: wisproUrl,
    WISPRO_API_TOKEN: 'bench-token',
    ALLOW_INSECURE_PROVIDER_URLS: 'true',
    ADMIN_EMAIL: 'bench@puente.local',
    ADMIN_PASSWORD: 'bench-password-1',
    JWT_SECRET: 'bench-secret-bench-secret-bench-secret-0000',
    LOGIN_RATE_LIMIT_PER_MINUTE: '100000',
    ...(db.url ? { DATABASE_URL: db.url, REDIS_URL: 'redis://127.0.0.1:6379', REDIS_PREFIX: db.name } : {}),
  };
  // The listening line is logged at info; the server's own logs stay at warn otherwise.
  const server = spawnPuente(split ? ['serve', '--no-worker'] : ['serve'], { ...env, LOG_LEVEL: 'info' });
  const worker = split ? spawnPuente(['worker'], { ...env, LOG_LEVEL: 'info' }, { waitFor: /Puente worker (running)/ }) : null;
  try {
    const url = await server.ready;
    await worker?.ready;
    const call = async (path: string, init: { body?: unknown; token?: string } = {}) => {
      const r = await fetch(url + path, {
        method: init.body ? 'POST' : 'GET',
        headers: { ...(init.token ? { authorization: `Bearer ${init.token}` } : {}), ...(init.body ? { 'content-type': 'application/json' } : {}) },
        body: init.body ? JSON.stringify(init.body) : undefined,
      });
      return r.json() as Promise<any>;
    };
    const { access_token: token } = await call('/auth/login', { body: { email: env.ADMIN_EMAIL, password: env.ADMIN_PASSWORD } });
    const starts: number[] = [],
      replies: number[] = [],
      health: number[] = [];
    for (let i = 0; i < n + 2; i++) {
      // Requests land at random points of the workers' poll cycle, as users' clicks do.
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 900));
      let t = performance.now();
      await call('/health');
      const h = performance.now() - t;
      const sent = Date.now();
      t = performance.now();
      const started = await call('/api/users/sync-wispro-all', { body: {}, token });
      const reply = performance.now() - t;
      let job: any;
      for (;;) {
        job = await call(`/jobs/${started.job_id}`, { token });
        job = job.job ?? job;
        if (['completed', 'failed', 'cancelled'].includes(job.status)) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      if (job.status !== 'completed') throw new Error(`job ${job.status}`);
      if (i < 2) continue; // warm-up
      starts.push(Date.parse(job.started_at) - sent);
      replies.push(reply);
      health.push(h);
    }
    const floor = mode === 'postgres' ? await bossRoundTrips(db.url!, n) : null;
    const line = `| ${mode} | ${label} | ${pct(starts, 50).toFixed(0)} / ${pct(starts, 95).toFixed(0)} / ${pct(starts, 100).toFixed(0)} ms | ${pct(replies, 50).toFixed(1)} ms | ${pct(health, 50).toFixed(1)} ms | ${floor ? `${pct(floor, 50).toFixed(1)} / ${pct(floor, 100).toFixed(1)} ms` : '—'} |`;
    process.stdout.write(
      `| database | processes | request → job started p50 / p95 / max | POST reply p50 | floor: GET /health p50 | floor: pg-boss send → fetch p50 / max |\n|---|---|---|---|---|---|\n${line}\n`,
    );
  } finally {
    await worker?.stop();
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
    await db.drop();
  }
}

/** A bare pg-boss send followed at once by a fetch of that queue: what a queue hand-off costs at the least. */
async function bossRoundTrips(url: string, n: number) {
  const boss = new PgBoss({ connectionString: url, schema: 'pgboss_floor', max: 2, supervise: false, schedule: false });
  boss.on('error', () => {});
  await boss.start();
  await boss.createQueue('floor');
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await boss.send('floor', { i });
    const [job] = await boss.fetch('floor');
    times.push(performance.now() - t);
    if (job) await boss.complete('floor', job.id);
  }
  await boss.stop({ graceful: false, close: true });
  return times;
}

function startSim() {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./wispro-sim.process.ts', import.meta.url)), '10'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise<{ url: string; stop(): void }>((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) => resolve({ url: d.toString().trim(), stop: () => child.kill('SIGTERM') }));
    child.once('exit', (code) => reject(new Error(`simulator exited with ${code}`)));
  });
}
