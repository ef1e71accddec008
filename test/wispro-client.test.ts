import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { startWisproSimulator, type WisproSimulator } from '../src/simulators/wispro/wispro.simulator.ts';
import { WisproClient } from '../src/modules/wispro/wispro.client.ts';
import { UpstreamError } from '../src/platform/http/errors.ts';
import { PermanentJobError } from '../src/platform/jobs/job-definition.ts';

const TOKEN = 'wispro-client-token';

// The client retries in one place only: each page is asked at most 1 + 3 times, whatever the failure.
describe('Wispro client retries', () => {
  let sim: WisproSimulator;
  const client = () => new WisproClient({ baseUrl: sim.url, token: TOKEN, timeoutMs: 2000, logger: pino({ level: 'silent' }) });
  /** How many times a page has been asked for since the simulator started (other tests ask too: compare with a count taken before). */
  const asked = (page: number) => sim.requests.filter((r) => r.path.endsWith('/clients') && r.query.page === String(page)).length;

  before(async () => {
    sim = await startWisproSimulator({ token: TOKEN, clients: 60, seed: 3 });
  });
  after(async () => {
    await sim?.close();
  });

  test('a good page is asked once', async () => {
    sim.setFaults({});
    const c = client();
    const before = asked(1);
    try {
      const page = await c.listClients(1, 20);
      assert.equal(page.clients.length, 20);
      assert.equal(asked(1) - before, 1);
    } finally {
      await c.close();
    }
  });

  test('a page that keeps answering HTTP 500 is asked four times, then fails', async () => {
    sim.setFaults({ failPages: [2] });
    const c = client();
    const before = asked(2);
    try {
      await assert.rejects(c.listClients(2, 20), UpstreamError);
      assert.equal(asked(2) - before, 4);
    } finally {
      await c.close();
    }
  });

  test('a page whose body keeps saying status 500 (in an HTTP 200) is asked four times, then fails', async () => {
    sim.setFaults({ status500Rate: 1 });
    const c = client();
    const before = asked(3);
    try {
      await assert.rejects(c.listClients(3, 20), (err: unknown) => err instanceof UpstreamError && /estado 500/.test(err.message));
      assert.equal(asked(3) - before, 4);
    } finally {
      await c.close();
    }
  });

  test('a rejected token is not asked again', async () => {
    sim.setFaults({});
    const c = new WisproClient({ baseUrl: sim.url, token: 'wrong', timeoutMs: 2000, logger: pino({ level: 'silent' }) });
    try {
      const before = sim.requests.length;
      await assert.rejects(c.listClients(1, 20), PermanentJobError);
      assert.equal(sim.requests.length - before, 1);
    } finally {
      await c.close();
    }
  });
});
