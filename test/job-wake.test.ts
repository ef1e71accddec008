import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWisproSimulator, type WisproSimulator } from '../src/simulators/wispro/wispro.simulator.ts';
import { freshStorage, modes, runsIn, startPuente, testEnv, waitForJob, type Storage, type TestPuente } from './support/puente.ts';
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
