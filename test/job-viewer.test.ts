import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { loadConfig } from '../src/platform/config.ts';
import { createRuntime } from '../src/platform/bootstrap.ts';
import { startServer, type RunningServer } from '../src/platform/server.ts';
import { modules } from '../src/modules/index.ts';
import { jobChannel } from '../src/platform/jobs/job-definition.ts';
import { eventContractViolations } from '../src/platform/realtime/event-check.ts';
import { ADMIN, eventually, freshStorage, testEnv, type Storage } from './support/puente.ts';

// Phone masking is messaging's view of an event; a deployment without messaging must not show
// numbers to viewers without a staff token either.
describe('job socket viewers when messaging is not loaded', () => {
  let storage: Storage;
  let server: RunningServer;
  let token: string;
  const port = () => new URL(server.url).port;

  const openJob = async () => {
    const [row] = await server.runtime.ctx.db.query<{ id: string }>(
      `INSERT INTO jobs (id, type, status) VALUES (gen_random_uuid(), 'wispro.sync', 'processing') RETURNING id`,
    );
    return row!.id;
  };

  /** Opens a job socket, publishes `events` once subscribed, and returns what it received when the last one arrived. */
  const watch = async (jobId: string, auth: string | null, events: Record<string, unknown>[]) => {
    const seen: Record<string, unknown>[] = [];
    const ws = new WebSocket(`ws://127.0.0.1:${port()}/ws/job/${jobId}${auth ? `?token=${auth}` : ''}`);
    ws.on('message', (m) => seen.push(JSON.parse(String(m))));
    try {
      await eventually(async () => seen.some((e) => e.type === 'subscribed'), 10_000, 'subscribed');
      for (const e of events) await server.runtime.ctx.bus.publish(jobChannel(jobId), { ...e, job_id: jobId });
      await eventually(async () => seen.length > events.length, 10_000, 'every event');
      return seen;
    } finally {
      ws.close();
    }
  };

  const stamp = '2026-12-01T03:04:05.678Z';
  const events = [
    { type: 'error', user_id: 42, at: stamp, error: 'Cliente +51 987 651 113 (tel. 0414-555-1234) rechazado', phone: '+51987651111' },
    { type: 'progress', status: 'processing', progress: { created: 3, updated: 1_250_000, percentage: 12.5 } },
    { type: 'job_completed', status: 'completed', results: { created: 3, phone: 51987651112, last: { to: '(0212) 555.12.34' } } },
  ];

  before(async () => {
    storage = await freshStorage('embedded');
    const runtime = await createRuntime(
      loadConfig(testEnv({ ...storage.env })),
      modules.filter((m) => m.name !== 'messaging'),
    );
    server = await startServer(runtime, { port: 0, host: '127.0.0.1' });
    const login = await fetch(`${server.url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ADMIN) });
    token = ((await login.json()) as { access_token: string }).access_token;
  });

  after(async () => {
    await server?.close();
    await storage?.dispose();
  });

  test('a viewer without a token sees no digits of a phone number, but ids, times, statuses and counters', async () => {
    const jobId = await openJob();
    const seen = await watch(jobId, null, events);
    assert.equal(seen[0]?.message, `Suscrito a las actualizaciones del job ${jobId}`, 'ids in text are kept');
    const text = JSON.stringify(seen);
    for (const digits of ['51987651111', '51987651112', '987 651 113', '0414-555-1234', '(0212) 555.12.34'])
      assert.ok(!text.includes(digits), `${digits} leaked: ${text}`);
    const [error, progress, completed] = [
      seen.find((e) => e.type === 'error'),
      seen.find((e) => e.type === 'progress'),
      seen.find((e) => e.type === 'job_completed'),
    ];
    assert.equal(error?.at, stamp, 'timestamps are kept');
    assert.equal(error?.user_id, 42, 'small ids are kept');
    assert.equal(error?.error, 'Cliente +** *** *** *** (tel. ****-***-****) rechazado');
    assert.deepEqual(progress?.progress, { created: 3, updated: 1_250_000, percentage: 12.5 }, 'counters are kept, however large');
    assert.equal(progress?.status, 'processing');
    assert.deepEqual(completed?.results, { created: 3, phone: '***********', last: { to: '(****) ***.**.**' } });
    assert.equal(completed?.status, 'completed');
    assert.deepEqual(eventContractViolations.splice(0), [], 'the hidden events still match the socket contract');
  });

  test('a staff token sees the events as they were sent', async () => {
    const seen = await watch(await openJob(), token, events);
    assert.equal(seen.find((e) => e.type === 'error')?.phone, '+51987651111');
    assert.deepEqual(seen.find((e) => e.type === 'job_completed')?.results, events[2]!.results);
  });
});
