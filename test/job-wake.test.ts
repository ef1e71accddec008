import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWisproSimulator, type WisproSimulator } from '../src/simulators/wispro/wispro.simulator.ts';
import { eventually, freshStorage, modes, runsIn, startPuente, testEnv, waitForJob, type Storage, type TestPuente } from './support/puente.ts';
import { spawnPuente, type PuenteProcess } from './support/spawn.ts';

const TOKEN = 'wispro-wake-token';
// Workers poll this rarely, so a job that starts within a few seconds was woken, not polled for.
const SLOW_POLL = { JOB_POLL_INTERVAL_SECONDS: '60' };

/** Seconds from the request that created the job to the moment a worker claimed it. */
async function startDelay(p: TestPuente) {
  const sent = Date.now();
  const res = await p.api('/api/users/sync-wispro-all', { method: 'POST' });
  assert.equal(res.status, 200);
  const job = await waitForJob(p, res.body.job_id, 120_000);
  assert.equal(job.status, 'completed');
  return (Date.parse(job.started_at) - sent) / 1000;
}

for (const mode of modes) {
  describe(`job wake (${mode})`, runsIn(mode), () => {
    let storage: Storage;
    let sim: WisproSimulator;
    let p: TestPuente;
    before(async () => {
      storage = await freshStorage(mode);
      sim = await startWisproSimulator({ token: TOKEN, clients: 30, seed: 5 });
      p = await startPuente(testEnv({ ...storage.env, ...SLOW_POLL, WISPRO_API_URL: sim.url, WISPRO_API_TOKEN: TOKEN }));
    });
    after(async () => {
      await p?.close();
      await sim?.close();
      await storage?.dispose();
    });

    test('a job sent to the queue starts at once in the same process, not at the next poll', async () => {
      // A window: the workers' start-up fetch (which would take the job without any wake) is over and
      // they sleep for a minute. Nothing outside pg-boss shows when that fetch ends.
      await new Promise((r) => setTimeout(r, 1000));
      for (let i = 0; i < 3; i++) assert.ok((await startDelay(p)) < 10, 'started by the wake');
    });

    test('a failed attempt is retried when its delay falls due, not at the next poll', async () => {
      sim.setFaults({ failPages: [1] });
      const res = await p.api('/api/users/sync-wispro-all', { method: 'POST' });
      assert.equal(res.status, 200);
      const id = res.body.job_id as string;
      try {
        await eventually(
          async () => (await p.ctx.db.query<{ error: string | null }>('SELECT error FROM jobs WHERE id = $1', [id]))[0]?.error,
          60_000,
          'the first attempt to fail',
        );
      } finally {
        sim.setFaults({});
      }
      const failedAt = Date.now();
      const job = await waitForJob(p, id, 120_000);
      assert.equal(job.status, 'completed');
      assert.ok(job.attempts >= 2, 'a second attempt ran');
      // The retry falls due 5–10 s after the failure (5 s doubled, with jitter); the poll is a minute away.
      const waited = (Date.now() - failedAt) / 1000;
      assert.ok(waited < 25, `retried ${waited.toFixed(1)} s after the failure`);
    });

    test('a job a statement makes runnable (a cron tick, a script) wakes the workers through the database', {
      skip: mode === 'embedded' ? false : 'LISTEN/NOTIFY wakes workers on the embedded database only',
    }, async () => {
      const sent = new Date();
      // As the scheduler sends a tick: straight to the queue, with nobody calling the runner's wake.
      await p.ctx.runner.boss.send('wispro.sync', {});
      const row = await eventually(
        async () =>
          (
            await p.ctx.db.query<{ started_at: Date }>(
              `SELECT started_at FROM jobs WHERE type = 'wispro.sync' AND created_by = 'schedule' AND created_at >= $1 AND started_at IS NOT NULL`,
              [sent],
            )
          )[0],
        60_000,
        'the scheduled run to start',
      );
      const waited = (new Date(row.started_at).getTime() - sent.getTime()) / 1000;
      assert.ok(waited < 10, `started ${waited.toFixed(1)} s after it was queued`);
    });

    test('a queue made before workers were woken by notifications is switched to them at start', {
      skip: mode === 'embedded' ? false : 'LISTEN/NOTIFY wakes workers on the embedded database only',
    }, async () => {
      // As an earlier version left it: the queue exists, without notifications.
      await p.ctx.runner.boss.updateQueue('wispro.sync', { notify: false });
      await p.close();
      p = await startPuente(testEnv({ ...storage.env, ...SLOW_POLL, WISPRO_API_URL: sim.url, WISPRO_API_TOKEN: TOKEN }));
      assert.equal((await p.ctx.runner.boss.getQueue('wispro.sync'))?.notify, true);
    });
  });
}

if (modes.includes('scaled')) {
  describe('job wake across processes (scaled)', runsIn('scaled'), () => {
    let storage: Storage;
    let sim: WisproSimulator;
    let api: TestPuente;
    let worker: PuenteProcess;
    before(async () => {
      storage = await freshStorage('scaled');
      sim = await startWisproSimulator({ token: TOKEN, clients: 30, seed: 6 });
      const env = testEnv({ ...storage.env, ...SLOW_POLL, WISPRO_API_URL: sim.url, WISPRO_API_TOKEN: TOKEN });
      api = await startPuente(env, { work: false });
      worker = await spawnPuente(['worker'], env);
    });
    after(async () => {
      await worker?.kill();
      await api?.close();
      await sim?.close();
      await storage?.dispose();
    });

    test('a job created by a server process wakes a worker process over the event bus', async () => {
      // A window: the worker process's start-up fetch is over and it sleeps for a minute (not observable
      // from here), so a job that starts at once was started by the wake.
      await new Promise((r) => setTimeout(r, 1000));
      for (let i = 0; i < 3; i++) assert.ok((await startDelay(api)) < 10, 'started by the wake');
    });
  });
}
