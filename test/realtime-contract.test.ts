import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { io } from 'socket.io-client';
import { Parser } from '@asyncapi/parser';
import { startWhatsAppSimulator, type WaSimulator } from '../src/simulators/whatsapp/whatsapp.simulator.ts';
import { jobSocketEvent, type JobSocketEvent } from '../src/platform/realtime/job-socket.contract.ts';
import { ordersPending, syncConnectError, syncHandshakeAuth } from '../src/modules/sync-feed/sync-feed.contract.ts';
import { eventChecker, eventContractViolations } from '../src/platform/realtime/event-check.ts';
import { realtimeDoc, realtimeDocPath } from '../src/platform/realtime/asyncapi-docs.ts';
import { jobSocketChannel } from '../src/platform/realtime/asyncapi.ts';
import { syncChannel } from '../src/modules/sync-feed/sync-feed.realtime.ts';
import { eventually, freshStorage, modes, runsIn, startPuente, testEnv, type Storage, type TestPuente } from './support/puente.ts';

/** Opens a job socket and keeps every frame, each parsed with the contract (a frame that does not match fails the test). */
function follow(url: string, jobId: string, token?: string) {
  const events: JobSocketEvent[] = [];
  const raw: unknown[] = [];
  const ws = new WebSocket(`${url.replace('http', 'ws')}/ws/job/${encodeURIComponent(jobId)}${token ? `?token=${token}` : ''}`);
  ws.on('message', (m) => {
    const json = JSON.parse(String(m));
    raw.push(json);
    events.push(jobSocketEvent.parse(json));
  });
  const opened = new Promise<void>((resolve, reject) => ws.once('open', () => resolve()).once('error', reject));
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  return { ws, events, raw, opened, closed };
}

describe('socket contracts: the AsyncAPI document', () => {
  test('the document served at /docs/asyncapi.json is valid AsyncAPI (parsed and linted offline) and lists every event', async () => {
    const storage = await freshStorage('embedded');
    const p = await startPuente(testEnv(storage.env), { work: false });
    try {
      const res = await fetch(`${p.url}/docs/asyncapi.json`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /application\/json/);
      const doc = (await res.json()) as any;
      const { document, diagnostics } = await new Parser().parse(JSON.stringify(doc));
      // Spectral severities: 0 error, 1 warning, 2 information, 3 hint.
      const problems = diagnostics.filter((d) => d.severity <= 1).map((d) => `${d.code} ${d.message} at ${d.path.join('.')}`);
      assert.deepEqual(problems, [], 'no errors or warnings');
      assert.ok(document, 'the parser produced a document');
      assert.deepEqual(
        document
          .channels()
          .all()
          .map((c) => c.address())
          .sort(),
        ['/sync', '/ws/job/{jobId}'],
      );
      const names = (address: string, action: 'send' | 'receive') =>
        document
          .operations()
          .all()
          .filter((o) => o.channels().all()[0]?.address() === address && o.action() === action)
          .flatMap((o) =>
            o
              .messages()
              .all()
              .map((m) => m.name()),
          )
          .sort();
      assert.deepEqual(names('/ws/job/{jobId}', 'send'), Object.keys(jobSocketChannel.send).sort());
      assert.deepEqual(names('/ws/job/{jobId}', 'receive'), ['ping']);
      assert.deepEqual(names('/sync', 'send'), ['changes:pending', 'orders:pending', 'rate_limited']);
      assert.deepEqual(names('/sync', 'receive'), ['sync:orders']);
      // The job socket's events, as the union the server code sends with.
      assert.deepEqual(Object.keys(jobSocketChannel.send).sort(), jobSocketEvent.options.map((o) => o.shape.type.value).sort());
      assert.equal(doc.servers.puente.host, new URL(p.url).host, 'the server is the address the document was asked through');
      assert.ok(doc.components.schemas.Order && doc.components.schemas.JobProgress, 'shared shapes are components');
    } finally {
      await p.close();
      await storage.dispose();
    }
  });

  test('docs/realtime.md is the document as generated from the contracts', () => {
    assert.equal(readFileSync(realtimeDocPath, 'utf8'), realtimeDoc(), 'docs/realtime.md is out of date: run npm run docs:sockets');
    assert.ok(Object.keys(syncChannel.send).every((e) => realtimeDoc().includes(`#### \`${e}\``)));
  });

  test("under test, an event that does not match its schema is recorded (and the server's close then fails)", () => {
    const logged: unknown[] = [];
    const logger = { error: (...a: unknown[]) => logged.push(a) } as never;
    const check = eventChecker('test', logger);
    check('/ws/job progress', jobSocketEvent, { type: 'progress', job_id: 'j', progress: { sent: 'many' } });
    check('/ws/job pong', jobSocketEvent, { type: 'pong', job_id: 'j', timestamp: 'T' });
    const found = eventContractViolations.splice(0);
    assert.equal(found.length, 1);
    assert.match(found[0]!, /\/ws\/job progress: .* progress\.sent/);
    assert.equal(logged.length, 1);
    eventChecker('production', logger)('/ws/job progress', jobSocketEvent, { type: 'nope' });
    assert.equal(eventContractViolations.length, 0, 'production does not check');
  });
});

for (const mode of modes) {
  describe(`socket contracts: every event matches its schema (${mode})`, runsIn(mode), () => {
    let storage: Storage;
    let sim: WaSimulator;
    let p: TestPuente;

    before(async () => {
      storage = await freshStorage(mode);
      sim = await startWhatsAppSimulator();
      p = await startPuente(testEnv({ ...storage.env, DEFAULT_COUNTRY: 'PE' }));
    });
    after(async () => {
      await p?.close();
      await sim?.close();
      await storage?.dispose();
    });

    test("/ws/job/{id}: a bulk send's events, pause and resume, errors, pings (JSON, bare, malformed), anonymous and unknown jobs", async () => {
      const good = sim.addDevice({ provider: 'simulator', latencyMs: 2 });
      const banned = sim.addDevice({ provider: 'simulator', banAfter: 3 });
      const deviceIds: number[] = [];
      for (const d of [good, banned]) {
        const r = await p.api('/devices', { body: { name: `contract-${d.id}`, provider: 'simulator', base_url: d.baseUrl, credentials: d.credentials } });
        assert.equal(r.status, 201, JSON.stringify(r.body));
        deviceIds.push(r.body.device.id);
      }
      // Both devices are busy with another send until the job is resumed: the job waits for them, so
      // everything it sends (its chunk, the ban, its progress) comes after the sockets below are open.
      // Unheld, a fast device can take every recipient before the pause lands.
      const otherSend = randomUUID();
      await p.ctx.db.query(`UPDATE devices SET job_id = $1, job_lease_until = now() + interval '10 minutes' WHERE id = ANY($2::int[])`, [otherSend, deviceIds]);
      const rows = Array.from({ length: 60 }, (_, i) => `+5198${String(8_000_000 + i)}|n${i}`).join('\n');
      const form = new FormData();
      form.append('file', new Blob([`${rows}\n123|bad number\n`]), 'contract.csv');
      form.append('message', 'Hola @valor1');
      form.append('devices_limit', '2');
      const upload = await fetch(`${p.url}/messages/send-bulk-file`, { method: 'POST', headers: { authorization: `Bearer ${p.token}` }, body: form });
      const jobId = ((await upload.json()) as any).job.id as string;
      const pause = await p.api(`/jobs/${jobId}/pause`, { method: 'POST' });
      assert.equal(pause.status, 200, JSON.stringify(pause.body));

      const staff = follow(p.url, jobId, p.token);
      const anonymous = follow(p.url, jobId);
      await Promise.all([staff.opened, anonymous.opened]);
      staff.ws.send(JSON.stringify({ type: 'ping', timestamp: 'T1' }));
      staff.ws.send(JSON.stringify({ type: 'ping', timestamp: 1700000000 }));
      staff.ws.send('ping');
      staff.ws.send('{"type":"ping","timestamp":{"not":"allowed"}}');
      staff.ws.send('{"type":"subscribe"}');
      staff.ws.send('not json');
      await eventually(
        async () => staff.events.filter((e) => e.type === 'pong').length >= 3 && staff.events.some((e) => e.type === 'job_paused' || e.type === 'progress'),
        10_000,
        'pongs',
      );
      await p.ctx.db.query('UPDATE devices SET job_id = NULL, job_lease_until = NULL WHERE job_id = $1', [otherSend]);
      const resumed = await p.api(`/jobs/${jobId}/resume`, { method: 'POST' });
      assert.equal(resumed.status, 200, JSON.stringify(resumed.body));
      await eventually(
        async () => staff.events.find((e) => e.type === 'job_completed'),
        60_000,
        'job_completed',
        async () => `the job: ${JSON.stringify((await p.api(`/jobs/${jobId}`)).body)}; the socket saw ${staff.events.map((e) => e.type).join(', ')}`,
      );
      assert.equal(await anonymous.closed, 1000, 'an anonymous viewer is let go after the terminal event');
      staff.ws.close();

      const types = new Set(staff.events.map((e) => e.type));
      for (const t of ['subscribed', 'job_resumed', 'job_started', 'chunk_processing', 'progress', 'error', 'job_completed', 'pong'] as const)
        assert.ok(types.has(t), `${t} was received (got ${[...types]})`);
      const pongs = staff.events.filter((e) => e.type === 'pong').map((e) => e.type === 'pong' && e.timestamp);
      assert.equal(pongs.length, 3, 'the malformed ping and the other messages are ignored');
      assert.deepEqual(pongs.slice(0, 2), ['T1', 1700000000]);
      assert.equal(typeof pongs[2], 'string', "a bare ping gets the server's time");
      const paused = staff.events.find((e) => e.type === 'error' && e.message);
      assert.ok(paused, 'the banned device gave an error event with a message');
      assert.ok(!JSON.stringify(anonymous.raw).includes('98800000'), 'the anonymous viewer saw masked numbers');
      assert.ok(anonymous.events.length >= 2);

      const unknown = follow(p.url, '00000000-0000-4000-8000-000000000000', p.token);
      assert.equal(await unknown.closed, 4404);
      assert.deepEqual(
        unknown.events.map((e) => e.type),
        ['subscribed', 'job_failed'],
      );
      const failed = unknown.events[1]!;
      assert.ok(failed.type === 'job_failed' && failed.error === 'not_found');

      // A late subscriber gets the final event right after `subscribed`.
      const late = follow(p.url, jobId, p.token);
      await eventually(async () => late.events.length >= 2, 5000, 'late events');
      late.ws.close();
      assert.deepEqual(
        late.events.slice(0, 2).map((e) => e.type),
        ['subscribed', 'job_completed'],
      );
    });

    test('/sync: handshake refusals, changes:pending with no payload, sync:orders → orders:pending', async () => {
      const refused = await Promise.all(
        [{}, { apiKey: 'nope' }].map(
          (auth) =>
            new Promise<unknown>((resolve) => {
              const s = io(`${p.url}/sync`, { auth, transports: ['websocket'], reconnection: false, forceNew: true });
              s.once('connect_error', (err: Error & { data?: unknown }) => {
                s.close();
                resolve({ message: err.message, ...(err.data ? { data: err.data } : {}) });
              });
            }),
        ),
      );
      assert.deepEqual(
        refused.map((r) => syncConnectError.parse(r).message),
        ['API key required', 'Invalid API key'],
      );

      const auth = syncHandshakeAuth.parse({ apiKey: 'test-cloud-api-key' });
      const s = io(`${p.url}/sync`, { auth, transports: ['websocket'], reconnection: false, forceNew: true });
      try {
        const received: { event: string; args: unknown[] }[] = [];
        s.onAny((event: string, ...args: unknown[]) => received.push({ event, args }));
        await new Promise<void>((resolve, reject) => s.once('connect', resolve).once('connect_error', reject));
        const told = eventually(async () => received.find((r) => r.event === 'changes:pending'), 10_000, 'changes:pending');
        const order = await p.api('/orders', {
          body: { items: [{ sku: 'A-1', name: 'Router', quantity: 1, price: 30 }], external_ref: `contract-${Date.now()}` },
        });
        assert.equal(order.status, 201);
        assert.deepEqual((await told).args, [], 'changes:pending carries no payload');
        s.emit('sync:orders', { ignored: true });
        const answer = await eventually(async () => received.find((r) => r.event === 'orders:pending'), 10_000, 'orders:pending');
        assert.equal(answer.args.length, 1);
        const payload = ordersPending.parse(answer.args[0]);
        assert.ok(payload.orders.some((o) => o.id === order.body.order.id));
        assert.equal(payload.count, payload.orders.length);
        // Every event this socket received is one the contract names.
        assert.deepEqual(
          [...new Set(received.map((r) => r.event))].filter((e) => !(e in syncChannel.send)),
          [],
        );
      } finally {
        s.close();
      }
    });
  });
}
