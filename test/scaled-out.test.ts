import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startWisproSimulator, type WisproSimulator } from '../src/simulators/wispro/wispro.simulator.ts';
import { eventually, freshStorage, runsIn, startPuente, testEnv, waitForJob, type Storage, type TestPuente } from './support/puente.ts';
import { spawnPuente, type PuenteProcess } from './support/spawn.ts';
import { openDatabase } from '../src/platform/db/client.ts';
import { migrate } from '../src/platform/db/migrate.ts';
import { ProgressReporter } from '../src/platform/jobs/progress-reporter.ts';
import { jobsRepository } from '../src/platform/jobs/jobs.repository.ts';
import pg from 'pg';

const TOKEN = 'wispro-scaled-token';

describe('scaled out: PostgreSQL + Redis, several processes', runsIn('scaled'), () => {
  let storage: Storage;
  let sim: WisproSimulator;
  let api: TestPuente;
  let env: NodeJS.ProcessEnv;
  const workers: PuenteProcess[] = [];

  /** Waits until the job has saved at least `page` pages. */
  const checkpointReaches = (jobId: string, page: number) =>
    eventually(
      async () => {
        const [row] = await api.ctx.db.query<any>('SELECT checkpoint FROM jobs WHERE id = $1', [jobId]);
        return row?.checkpoint?.next_page >= page ? row : null;
      },
      60_000,
      `page ${page} to be saved`,
    );

  before(async () => {
    storage = await freshStorage('scaled');
    sim = await startWisproSimulator({ token: TOKEN, clients: 600, seed: 11 });
    env = testEnv({ ...storage.env, WISPRO_API_URL: sim.url, WISPRO_API_TOKEN: TOKEN, WISPRO_PER_PAGE: '20' });
    // This process serves HTTP and sockets only; jobs run in separate worker processes.
    api = await startPuente(env, { work: false });
  });
  after(async () => {
    for (const w of workers) await w.kill();
    await api?.close();
    await sim?.close();
    await storage?.dispose();
  });

  test('a job run by a worker process streams to a socket held by the server process', async () => {
    // Slow enough that the sync outlasts the worker's first progress publication (every 200 ms).
    sim.setFaults({ latencyMs: 60 });
    // The job waits in the queue until a worker exists; a worker woken at once could start it before the socket is open.
    const res = await api.api('/api/users/sync-wispro-all', { method: 'POST' });
    const events: any[] = [];
    const ws = new WebSocket(`${api.url.replace('http', 'ws')}/ws/job/${res.body.job_id}?token=${api.token}`);
    ws.on('message', (m) => events.push(JSON.parse(String(m))));
    await eventually(async () => events.find((e) => e.type === 'subscribed'), 5000, 'subscribed');
    workers.push(await spawnPuente(['worker'], env));
    const job = await waitForJob(api, res.body.job_id, 60_000);
    await eventually(async () => events.find((e) => e.type === 'job_completed'), 5000, 'job_completed on the socket');
    ws.close();
    assert.equal(job.status, 'completed');
    assert.ok(
      events.some((e) => e.type === 'job_started'),
      'job_started crossed processes',
    );
    assert.ok(
      events.some((e) => e.type === 'progress'),
      'progress crossed processes',
    );
    const done = events.find((e) => e.type === 'job_completed');
    assert.equal(done.results.created, job.progress.created, 'final counts are exact');
    await workers.pop()!.stop();
    sim.setFaults({});
  });

  test('a worker killed mid-sync: another worker resumes from the last saved page, with no duplicates', async () => {
    await api.ctx.db.query('DELETE FROM users WHERE role = 0');
    sim.setFaults({ latencyMs: 120 });
    const first = await spawnPuente(['worker'], env);
    workers.push(first);
    const res = await api.api('/api/users/sync-wispro-all', { method: 'POST' });
    const jobId = res.body.job_id;
    await checkpointReaches(jobId, 8);
    await first.kill();
    const killedAt = sim.requests.length;
    const [saved] = await api.ctx.db.query<any>('SELECT checkpoint FROM jobs WHERE id = $1', [jobId]);
    sim.setFaults({});
    workers.push(await spawnPuente(['worker'], env));
    const job = await waitForJob(api, jobId, 90_000);
    await workers.pop()!.stop();
    assert.equal(job.status, 'completed');
    const refetched = sim.requests.slice(killedAt).map((r) => Number(r.query.page));
    assert.ok(Math.min(...refetched) >= saved.checkpoint.next_page - 1, `resumed near page ${saved.checkpoint.next_page}, fetched ${Math.min(...refetched)}`);
    assert.ok(!refetched.includes(1), 'did not start over');
    const [{ n, distinct }] = await api.ctx.db.query<any>(`SELECT count(*)::int AS n, count(DISTINCT id_wispro)::int AS distinct FROM users WHERE role = 0`);
    assert.equal(n, distinct);
    assert.equal(n, job.progress.created, 'every created user counted once across both workers');
    const [attempts] = await api.ctx.db.query<any>('SELECT attempts FROM jobs WHERE id = $1', [jobId]);
    assert.equal(attempts.attempts, 2);
  });

  test("a job's final progress is not overwritten by a progress write still under way when it ends", async () => {
    const [row] = await api.ctx.db.query<{ id: string }>(
      `INSERT INTO jobs (id, type, status) VALUES (gen_random_uuid(), 'wispro.sync', 'processing') RETURNING id`,
    );
    const jobId = row!.id;
    const reporter = new ProgressReporter(jobId, api.ctx.db, api.ctx.bus, () => {});
    // Another session holds the job's row, so the first progress write waits and the second queues behind it.
    const holder = new pg.Client({ connectionString: env.DATABASE_URL });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM jobs WHERE id = $1 FOR UPDATE', [jobId]);
      reporter.update({ n: 1 });
      void reporter.flush();
      await new Promise((r) => setTimeout(r, 100));
      reporter.update({ n: 2 });
      void reporter.flush();
      reporter.update({ n: 3 });
      setTimeout(() => void holder.query('COMMIT'), 300);
      // What the job runner does when a handler returns: stop reporting, then write the final progress.
      await reporter.stop();
      await jobsRepository.finish(api.ctx.db.orm, jobId, {
        status: 'completed',
        progress: reporter.latest ?? undefined,
        results: {},
        onlyFrom: ['processing'],
      });
    } finally {
      await holder.end();
    }
    await new Promise((r) => setTimeout(r, 200));
    const [job] = await api.ctx.db.query<{ status: string; progress: { n: number } }>('SELECT status, progress FROM jobs WHERE id = $1', [jobId]);
    assert.deepEqual([job!.status, job!.progress.n], ['completed', 3]);
  });

  test('a worker stopped with SIGTERM releases its job, which finishes elsewhere without spending a retry', async () => {
    await api.ctx.db.query('DELETE FROM users WHERE role = 0');
    sim.setFaults({ latencyMs: 100 });
    const first = await spawnPuente(['worker'], env);
    const res = await api.api('/api/users/sync-wispro-all', { method: 'POST' });
    const jobId = res.body.job_id;
    await checkpointReaches(jobId, 4);
    assert.equal(await first.stop(), 0, 'graceful exit');
    const [released] = await api.ctx.db.query<any>('SELECT status, error FROM jobs WHERE id = $1', [jobId]);
    assert.equal(released.status, 'pending');
    assert.match(released.error, /released/);
    const [{ attempts }] = await api.ctx.db.query<any>('SELECT attempts FROM jobs WHERE id = $1', [jobId]);
    sim.setFaults({});
    workers.push(await spawnPuente(['worker'], env));
    const job = await waitForJob(api, jobId, 60_000);
    assert.equal(job.status, 'completed');
    const [row] = await api.ctx.db.query<any>('SELECT attempts FROM jobs WHERE id = $1', [jobId]);
    assert.equal(row.attempts, attempts + 1, 'the release did not count as a failed attempt');
    const bossJobs = await api.ctx.db.query<any>(`SELECT retry_count FROM pgboss.job WHERE data->>'jobId' = $1`, [jobId]);
    assert.ok(
      bossJobs.every((j: any) => j.retry_count === 0),
      'no queue retry was spent',
    );
  });
});

describe('processes starting together on an empty database', runsIn('scaled'), () => {
  test('every one migrates it (they take turns), and each migration is applied once', async () => {
    const storage = await freshStorage('scaled');
    try {
      const config = { DATABASE_URL: storage.env.DATABASE_URL, DATA_DIR: storage.env.DATA_DIR, DATABASE_POOL_SIZE: 2 };
      const dbs = await Promise.all(Array.from({ length: 10 }, () => openDatabase(config as Parameters<typeof openDatabase>[0])));
      try {
        const applied = await Promise.all(dbs.map((db) => migrate(db)));
        const all = applied.flat();
        assert.ok(all.length > 0, 'the migrations were applied');
        assert.equal(new Set(all).size, all.length, 'no migration applied twice');
        const [ledger] = await dbs[0]!.query<{ n: number }>('SELECT count(*)::int AS n FROM puente_migrations');
        assert.equal(ledger!.n, all.length);
      } finally {
        await Promise.all(dbs.map((db) => db.close()));
      }
    } finally {
      await storage.dispose();
    }
  });
});
