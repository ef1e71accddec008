import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startWhatsAppSimulator, type WaDeviceOptions, type WaSimDevice, type WaSimulator } from '../src/simulators/whatsapp/whatsapp.simulator.ts';
import { eventually, freshStorage, modes, runsIn, startPuente, testEnv, waitForJob, type Storage, type TestPuente } from './support/puente.ts';
import { spawnPuente, type PuenteProcess } from './support/spawn.ts';

const MAX_BYTES = 20 * 1024 * 1024;

export async function uploadBulk(
  p: { url: string; token: string },
  content: string | Uint8Array,
  o: { message?: string; devices_limit?: string; filename?: string; extra?: Record<string, string>; path?: string } = {},
) {
  const form = new FormData();
  form.append('file', new Blob([content]), o.filename ?? 'clientes.csv');
  if (o.message !== undefined || !('message' in o)) form.append('message', o.message ?? 'Hola @valor1, tu pedido @valor2');
  if (o.devices_limit !== undefined) form.append('devices_limit', o.devices_limit);
  for (const [k, v] of Object.entries(o.extra ?? {})) form.append(k, v);
  const res = await fetch(`${p.url}${o.path ?? '/messages/send-bulk-file'}`, { method: 'POST', headers: { authorization: `Bearer ${p.token}` }, body: form });
  return { status: res.status, body: (await res.json()) as any };
}

/** A device in the simulator, registered in Puente. */
export async function addDevice(p: TestPuente, sim: WaSimulator, o: WaDeviceOptions, extra: Record<string, unknown> = {}) {
  const dev = sim.addDevice(o);
  const r = await p.api('/devices', {
    body: { name: `${o.provider}-${dev.id}`, provider: o.provider, base_url: dev.baseUrl, credentials: dev.credentials, ...extra },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return { dev, id: r.body.device.id as number, reply: r.body.device };
}

for (const mode of modes) {
  describe(`bulk WhatsApp (${mode})`, runsIn(mode), () => {
    let storage: Storage;
    let sim: WaSimulator;
    let p: TestPuente;
    const devices: { dev: WaSimDevice; id: number }[] = [];
    const counts = async () => {
      const [row] = await p.ctx.db.query<{ jobs: number; recipients: number; uploads: number }>(`
        SELECT (SELECT count(*)::int FROM jobs WHERE type = 'messaging.bulk-send') AS jobs,
               (SELECT count(*)::int FROM message_recipients) AS recipients, (SELECT count(*)::int FROM message_uploads) AS uploads`);
      return row!;
    };
    let everyday: { dev: WaSimDevice; id: number }[] | null = null;
    /** The three everyday devices (simulator, Evolution, WAHA) as devices[0..2], added by the first test that needs them. */
    const everydayDevices = async () => {
      if (!everyday) {
        everyday = [];
        for (const provider of ['simulator', 'evolution', 'waha'] as const) everyday.push(await addDevice(p, sim, { provider }));
        devices.unshift(...everyday);
      }
      return everyday;
    };
    /** Pauses every device but the given ones, so that a test knows where messages go. */
    const only = async (...ids: number[]) => {
      for (const d of devices) await p.api(`/devices/${d.id}`, { method: 'PATCH', body: { status: ids.includes(d.id) ? 'active' : 'paused' } });
    };

    before(async () => {
      storage = await freshStorage(mode);
      sim = await startWhatsAppSimulator();
      p = await startPuente(testEnv({ ...storage.env, MESSAGING_MAX_FILE_BYTES: String(MAX_BYTES), DEFAULT_COUNTRY: 'PE' }));
    });
    after(async () => {
      await p?.close();
      await sim?.close();
      await storage?.dispose();
    });

    test('with no connected device the upload is refused and nothing is created', async () => {
      await only();
      const before = await counts();
      const r = await uploadBulk(p, '+51987654321|Ana|1\n');
      assert.equal(r.status, 400);
      assert.equal(r.body.status, 'error');
      assert.equal(r.body.code, 'messaging.no_devices');
      assert.equal(r.body.message, 'No hay devices disponibles', "the seed's message");
      const down = await addDevice(p, sim, { provider: 'evolution', connected: false });
      assert.equal(down.reply.connected, false, 'the health check at creation saw the closed session');
      assert.equal(down.reply.credentials.api_key, '********', 'secrets never come back');
      assert.equal((await uploadBulk(p, '+51987654321|Ana|1\n')).status, 400);
      assert.deepEqual(await counts(), before);
      await p.api(`/devices/${down.id}`, { method: 'DELETE' });
    });

    test("bad files: 400 or 413 with the seed's shape, and nothing is created", async () => {
      const latin1 = Buffer.from('+51987654321|Mar\xeda|1\n', 'latin1');
      const bigRows = '+51987654321|x\n'.repeat(1_000_001);
      await everydayDevices();
      const before = await counts();
      const cases: [string, () => Promise<{ status: number; body: any }>, number, string][] = [
        ['empty file', () => uploadBulk(p, ''), 400, 'messaging.empty_file'],
        ['only a header and blank lines', () => uploadBulk(p, 'phone|@valor1|@valor2\r\n\r\n  \n'), 400, 'messaging.empty_file'],
        ['Latin-1', () => uploadBulk(p, latin1), 400, 'messaging.bad_encoding'],
        ['not .csv or .txt', () => uploadBulk(p, '+51987654321|a\n', { filename: 'lista.xlsx' }), 400, 'messaging.bad_file_type'],
        ['no message', () => uploadBulk(p, '+51987654321|a\n', { message: '' }), 400, 'messaging.message_required'],
        ['bad devices_limit', () => uploadBulk(p, '+51987654321|a\n', { devices_limit: 'muchos' }), 400, 'messaging.invalid_devices_limit'],
        ['1,000,001 rows', () => uploadBulk(p, bigRows), 413, 'messaging.too_many_recipients'],
        // Lines under the one-row cap (64 KiB), so that the size limit is what refuses it.
        [
          'over the size limit',
          () => uploadBulk(p, Buffer.from(`${'1'.repeat(60 * 1024 - 1)}\n`.repeat(Math.ceil((MAX_BYTES + 1024) / (60 * 1024))))),
          413,
          'messaging.file_too_large',
        ],
      ];
      for (const [what, run, status, code] of cases) {
        const r = await run();
        assert.equal(r.status, status, `${what}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.status, 'error', what);
        assert.equal(r.body.code, code, what);
        assert.deepEqual(await counts(), before, `${what} left nothing behind`);
      }
      const noAuth = await fetch(`${p.url}/messages/send-bulk-file`, { method: 'POST', body: new FormData() });
      assert.equal(noAuth.status, 401);
    });

    test('header, BOM, CRLF, blank lines, repeats, invalid numbers and templates', async () => {
      await everydayDevices();
      await only(devices[0]!.id);
      sim.reset();
      const file =
        '\uFEFFphone|@valor1|@valor2\r\n' +
        '+51 987 654 001|Leonardo|12345\r\n' +
        '\r\n' +
        '987654002|María|\r\n' + // national form, empty second value
        '+51987654003\r\n' + // no values at all
        '+51987654001|Otra|fila\r\n' + // a repeat: sent once
        'no-es-un-numero|x|y\r\n' +
        '+51987654004|a|b|c|d|e|f|g|h|i|diez\n';
      const message = 'Hola @valor1, pedido @valor2. Diez: @valor10. Otra vez @valor1!';
      const r = await uploadBulk(p, file, { message, devices_limit: '2' });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.status, 'success');
      assert.equal(r.body.message, "Job creado y en proceso. Procesando 5 mensajes desde archivo 'clientes.csv'.");
      const j = r.body.job;
      assert.equal(j.status, 'pending');
      assert.equal(j.total_numbers, 5);
      assert.equal(j.devices_limit, 2);
      assert.equal(j.message, message);
      assert.deepEqual(Object.keys(j.progress).sort(), [
        'delivered',
        'failed',
        'failed_after_send',
        'percentage',
        'read',
        'sent',
        'suppressed',
        'total',
        'uncertain',
      ]);
      assert.equal(j.progress.total, 5);
      assert.deepEqual(j.results, {});
      const done = await waitForJob(p, j.id);
      assert.equal(done.status, 'completed');
      assert.deepEqual({ sent: done.results.sent, failed: done.results.failed, total: done.results.total }, { sent: 4, failed: 1, total: 5 });
      assert.equal(done.results.duplicates, 1);
      assert.equal(done.results.invalid_numbers, 1);
      assert.equal(done.progress.percentage, 100);
      const texts = new Map(sim.messages.map((m) => [m.to, m.text]));
      assert.equal(sim.messages.length, 4);
      assert.equal(texts.get('51987654001'), 'Hola Leonardo, pedido 12345. Diez: ---. Otra vez Leonardo!');
      assert.equal(texts.get('51987654002'), 'Hola María, pedido ---. Diez: ---. Otra vez María!');
      assert.equal(texts.get('51987654003'), 'Hola ---, pedido ---. Diez: ---. Otra vez ---!');
      assert.equal(texts.get('51987654004'), 'Hola a, pedido b. Diez: diez. Otra vez a!', '@valor1 does not eat @valor10');

      const csv = await fetch(`${p.url}/jobs/${j.id}/results.csv`, { headers: { authorization: `Bearer ${p.token}` } });
      assert.equal(csv.status, 200);
      assert.match(csv.headers.get('content-type')!, /text\/csv/);
      const lines = (await csv.text())
        .replace(/^\uFEFF/, '')
        .trim()
        .split('\n');
      assert.equal(lines.length, 6);
      assert.match(lines[0]!, /^seq,phone,raw_phone,status,device_id,provider_message_id,error/);
      // Receipts may already have moved a sent message on to delivered or read.
      assert.equal(lines.filter((l) => /,(sent|delivered|read),/.test(l)).length, 4);
      assert.match(lines.find((l) => l.includes('no-es-un-numero'))!, /,failed,.*inv[aá]lido/);
      const unknown = await p.api('/jobs/00000000-0000-4000-8000-000000000000/results.csv');
      assert.deepEqual([unknown.status, unknown.body.status], [404, 'error']);
      const [other] = await p.ctx.db.query<{ id: string }>(
        `INSERT INTO jobs (id, type, status) VALUES (gen_random_uuid(), 'wispro.sync', 'completed') RETURNING id`,
      );
      const notBulk = await p.api(`/jobs/${other!.id}/results.csv`);
      assert.equal(notBulk.status, 404);
      assert.equal(notBulk.body.code, 'messaging.not_bulk_send');
    });

    test("values are stored as written: tabs, backslashes, carriage returns and COPY's own markers", async () => {
      await everydayDevices();
      await only(devices[0]!.id);
      sim.reset();
      const rows = [
        ['+51987655001', 'tab\there', 'back\\slash \\N \\. fin'],
        ['+51987655002', 'cr\rdentro', '\\'],
        ['+51987655003', '\\N', 'ñandú 😀'],
        // An invalid "number" longer than the 64 UTF-16 units kept, with the cut inside an emoji: the half goes.
        [`${'x'.repeat(63)}😀`, 'a\tb', ''],
      ];
      const r = await uploadBulk(p, `${rows.map((c) => c.join('|')).join('\n')}\n`, { message: '@valor1/@valor2' });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const stored = await p.ctx.db.query<{ raw_phone: string; vals: string; status: string }>(
        'SELECT raw_phone, vals, status FROM message_recipients WHERE job_id = $1 ORDER BY seq',
        [r.body.job.id],
      );
      assert.deepEqual(
        stored.slice(0, 3).map((s) => [s.raw_phone, s.vals]),
        rows.slice(0, 3).map(([phone, v1, v2]) => [phone, `${v1}|${v2}`]),
      );
      assert.deepEqual([stored[3]!.raw_phone, stored[3]!.vals, stored[3]!.status], ['x'.repeat(63), 'a\tb|', 'failed']);
      const done = await waitForJob(p, r.body.job.id);
      assert.deepEqual({ sent: done.results.sent, failed: done.results.failed }, { sent: 3, failed: 1 });
      const texts = new Map(sim.messages.map((m) => [m.to, m.text]));
      assert.equal(texts.get('51987655001'), 'tab\there/back\\slash \\N \\. fin');
      assert.equal(texts.get('51987655002'), 'cr\rdentro/\\');
      assert.equal(texts.get('51987655003'), '\\N/ñandú 😀');
    });

    test('Mexico and Argentina numbers reach each engine in the form it expects (through either path of the seed)', async () => {
      await everydayDevices();
      const cloud = await addDevice(p, sim, { provider: 'cloud', requireTemplateForCold: false });
      devices.push(cloud);
      const file = '+52 1 55 1234 5678|mx\n+54 9 11 1234-5678|ar\n';
      for (const [device, mx, ar] of [
        [devices[1]!, '5215512345678', '5491112345678'],
        [cloud, '525512345678', '5491112345678'],
      ] as const) {
        await only(device.id);
        sim.reset();
        // The seed's frontend steps post to /send-bulk-file; its endpoint list says /messages/send-bulk-file.
        const r = await uploadBulk(p, file, { message: 'hola @valor1', path: device === cloud ? '/send-bulk-file' : '/messages/send-bulk-file' });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.equal((await waitForJob(p, r.body.job.id)).status, 'completed');
        // The simulator records digits only; what differs is the Mexican `1`.
        assert.deepEqual(sim.messages.map((m) => m.to).sort(), [mx, ar].sort(), device.dev.provider);
      }
    });

    test("the Cloud API needs a template for cold recipients: free text fails with Meta's reason, a template goes out", async () => {
      const cold = await addDevice(p, sim, { provider: 'cloud', templates: ['aviso_pedido'] });
      devices.push(cold);
      await only(cold.id);
      sim.reset();
      const free = await waitForJob(p, (await uploadBulk(p, '+51987650001|Ana|7\n', { message: 'Hola @valor1' })).body.job.id);
      assert.equal(free.results.failed, 1);
      const csv = await (await fetch(`${p.url}/jobs/${free.id}/results.csv`, { headers: { authorization: `Bearer ${p.token}` } })).text();
      assert.match(csv, /131047/);
      const withTemplate = await uploadBulk(p, '+51987650001|Ana|7\n', {
        message: 'Hola @valor1',
        extra: { template: 'aviso_pedido', template_language: 'es', template_params: '@valor1|pedido @valor2' },
      });
      const done = await waitForJob(p, withTemplate.body.job.id);
      assert.equal(done.results.sent, 1, JSON.stringify(done));
      assert.deepEqual(sim.messages.at(-1)!.template, { name: 'aviso_pedido', params: ['Ana', 'pedido 7'] });
    });

    test('the socket streams subscribed → job_started → chunk_processing → progress → job_completed, and answers ping', async () => {
      await everydayDevices();
      await only(devices[0]!.id, devices[1]!.id, devices[2]!.id);
      sim.reset();
      const rows = Array.from({ length: 2500 }, (_, i) => `+5198${String(7_000_000 + i)}|n${i}`).join('\n');
      devices[0]!.dev.set({ latencyMs: 2 });
      // Paused first so that the socket is open before the job starts.
      const r = await uploadBulk(p, rows, { message: 'Hola @valor1', devices_limit: '3' });
      const jobId = r.body.job.id;
      await p.api(`/jobs/${jobId}/pause`, { method: 'POST' });
      const events: any[] = [];
      const ws = new WebSocket(`${p.url.replace('http', 'ws')}/ws/job/${jobId}?token=${p.token}`);
      ws.on('message', (m) => events.push(JSON.parse(String(m))));
      await new Promise((resolve) => ws.once('open', resolve));
      ws.send(JSON.stringify({ type: 'ping', timestamp: 'T1' }));
      await eventually(async () => events.find((e) => e.type === 'pong'), 5000, 'pong');
      await p.api(`/jobs/${jobId}/resume`, { method: 'POST' });
      await eventually(async () => events.find((e) => e.type === 'job_completed'), 60_000, 'job_completed');
      ws.close();
      devices[0]!.dev.set({ latencyMs: 0 });
      // Receipts keep the delivery counters moving after the last send (`delivery` events); the job's
      // own events are what this test follows.
      const own = events.filter((e) => e.type !== 'delivery');
      const types = own.map((e) => e.type);
      assert.equal(types[0], 'subscribed');
      assert.equal(events[0].message, `Suscrito a las actualizaciones del job ${jobId}`);
      assert.equal(events.find((e) => e.type === 'pong').timestamp, 'T1');
      const started = types.lastIndexOf('job_started');
      assert.ok(started > 0);
      assert.match(own[started].message, /Iniciando envío masivo de 2500 mensajes/);
      const chunks = events.filter((e) => e.type === 'chunk_processing');
      // A run resumed after the pause announces again the chunks it still has work in.
      assert.deepEqual([...new Set(chunks.map((c) => `${c.chunk_start}-${c.chunk_end}`))].sort(), ['0-1000', '1000-2000', '2000-2500']);
      assert.equal(chunks[0].total, 2500);
      assert.match(chunks[0].message, /^Procesando chunk \d+-\d+ de 2500$/);
      const progress = events.filter((e) => e.type === 'progress');
      assert.ok(
        progress.every((e) => typeof e.progress.delivered === 'number' && typeof e.progress.read === 'number'),
        'progress carries the delivery counters',
      );
      assert.ok(progress.length >= 1);
      assert.ok(progress.length < 200, `progress is coalesced (${progress.length} events for 2500 messages)`);
      const last = progress.at(-1);
      assert.ok(typeof last.device_id === 'number' && typeof last.phone === 'string' && last.status === 'sent');
      const completed = events.find((e) => e.type === 'job_completed');
      assert.equal(types.indexOf('job_completed'), types.length - 1, 'job_completed is the last event');
      assert.equal(completed.status, 'completed');
      assert.deepEqual(
        { sent: completed.results.sent, failed: completed.results.failed, total: completed.results.total },
        { sent: 2500, failed: 0, total: 2500 },
      );
      assert.equal(sim.messages.length, 2500);
      assert.deepEqual(sim.duplicates(), []);
      assert.equal(new Set(sim.messages.map((m) => m.deviceId)).size, 3, 'the work spread across the three devices');
    });

    test('a socket without a token sees numbers masked; a bad token is refused', async () => {
      await only((await everydayDevices())[0]!.id);
      const r = await uploadBulk(p, '+51987651111|x\n', { message: 'x' });
      const events: any[] = [];
      const ws = new WebSocket(`${p.url.replace('http', 'ws')}/ws/job/${r.body.job.id}`);
      ws.on('message', (m) => events.push(JSON.parse(String(m))));
      await waitForJob(p, r.body.job.id);
      await eventually(async () => events.find((e) => e.type === 'job_completed'), 5000, 'completion');
      ws.close();
      assert.ok(!JSON.stringify(events).includes('51987651111'));
      const bad = new WebSocket(`${p.url.replace('http', 'ws')}/ws/job/${r.body.job.id}?token=nope`);
      const status = await new Promise((resolve) => bad.on('unexpected-response', (_req, res) => resolve(res.statusCode)).on('error', () => {}));
      assert.equal(status, 401);
    });

    test('a banned device is paused and its work moves to the others, with no duplicates', async () => {
      await everydayDevices();
      await only(devices[0]!.id, devices[1]!.id);
      sim.reset();
      devices[1]!.dev.set({ banAfter: devices[1]!.dev.accepted + 20, latencyMs: 1 });
      const rows = Array.from({ length: 400 }, (_, i) => `+5198${String(6_000_000 + i)}|b${i}`).join('\n');
      const done = await waitForJob(p, (await uploadBulk(p, rows, { message: 'B @valor1', devices_limit: '2' })).body.job.id);
      assert.equal(done.status, 'completed', JSON.stringify(done));
      assert.equal(done.results.sent, 400);
      assert.equal(sim.messages.length, 400);
      assert.deepEqual(sim.duplicates(), []);
      const banned = (await p.api(`/devices/${devices[1]!.id}`)).body.device;
      assert.equal(banned.status, 'paused');
      assert.ok(banned.status_reason, 'the reason is kept');
      devices[1]!.dev.set({ banned: false, banAfter: undefined, latencyMs: 0 });
    });

    test('transient provider errors are retried with backoff; nothing is lost or doubled', async () => {
      await everydayDevices();
      await only(devices[2]!.id);
      sim.reset();
      devices[2]!.dev.set({ transientFailureRate: 0.3 });
      const rows = Array.from({ length: 60 }, (_, i) => `+5198${String(5_000_000 + i)}|t${i}`).join('\n');
      const done = await waitForJob(p, (await uploadBulk(p, rows, { message: 'T @valor1' })).body.job.id, 90_000);
      devices[2]!.dev.set({ transientFailureRate: 0 });
      assert.equal(done.status, 'completed');
      assert.equal(done.results.sent + done.results.failed, 60);
      assert.ok(done.results.sent >= 55, `most got through (${done.results.sent})`);
      assert.equal(sim.messages.length, done.results.sent);
      assert.deepEqual(sim.duplicates(), []);
    });

    test('pause, resume and cancel a paced send', async () => {
      const paced = await addDevice(p, sim, { provider: 'simulator' }, { messages_per_minute: 1200 });
      devices.push(paced);
      assert.equal(paced.reply.pacing.messages_per_minute, 1200);
      await only(paced.id);
      sim.reset();
      const rows = Array.from({ length: 200 }, (_, i) => `+5198${String(4_000_000 + i)}|p${i}`).join('\n');
      const jobId = (await uploadBulk(p, rows, { message: 'P @valor1' })).body.job.id;
      await eventually(async () => sim.messages.length >= 10, 20_000, 'some messages');
      const paused = await p.api(`/jobs/${jobId}/pause`, { method: 'POST' });
      assert.equal(paused.status, 200);
      await eventually(async () => (await p.api(`/jobs/${jobId}`)).body.status === 'paused', 10_000, 'paused');
      const atPause = sim.messages.length;
      // A short window proving nothing happens: no message goes out while paused.
      await new Promise((r) => setTimeout(r, 600));
      assert.equal(sim.messages.length, atPause, 'nothing is sent while paused');
      assert.equal((await p.api(`/jobs/${jobId}/resume`, { method: 'POST' })).status, 200);
      await eventually(async () => sim.messages.length > atPause + 10, 20_000, 'sending again');
      const cancelled = await p.api(`/jobs/${jobId}/cancel`, { method: 'POST' });
      assert.equal(cancelled.status, 200);
      const final = await waitForJob(p, jobId);
      assert.equal(final.status, 'cancelled');
      // A cancelled job reads as cancelled at once; its attempt records what it had in flight, then
      // lets go of the job (the lease a retry waits for).
      await eventually(
        async () => !(await p.ctx.db.query<{ held: boolean }>('SELECT lease IS NOT NULL AS held FROM jobs WHERE id = $1', [jobId]))[0]!.held,
        10_000,
        'the cancelled attempt to let go of the job',
      );
      // Receipts move sent messages on to delivered and read: all three were sent.
      const recipientCounts = async () =>
        (
          await p.ctx.db.query<{ sent: number; queued: number }>(
            `SELECT count(*) FILTER (WHERE status IN ('sent', 'delivered', 'read'))::int AS sent, count(*) FILTER (WHERE status = 'queued')::int AS queued FROM message_recipients WHERE job_id = $1`,
            [jobId],
          )
        )[0]!;
      const row = await eventually(
        async () => {
          const c = await recipientCounts();
          return c.sent === sim.messages.length ? c : null;
        },
        10_000,
        'every message the device took recorded as sent',
        async () => `${JSON.stringify(await recipientCounts())}, the device took ${sim.messages.length}`,
      );
      const sent = row.sent;
      assert.ok(sent < 200, 'stopped before the end');
      assert.deepEqual(sim.duplicates(), []);
      const byStatus = await p.ctx.db.query<{ status: string; n: number }>(
        'SELECT status, count(*)::int AS n FROM message_recipients WHERE job_id = $1 GROUP BY status ORDER BY status',
        [jobId],
      );
      assert.equal(row.queued, 200 - sent, `every recipient not sent is queued again: ${JSON.stringify(byStatus)}`);
      assert.equal((await p.api(`/jobs/${jobId}/resume`, { method: 'POST' })).status, 409, 'a cancelled job cannot be resumed');
    });

    test('a resume whose earlier attempt lets go just after the new one first found its lease held runs the job; it is not left pending', async () => {
      const paced = await addDevice(p, sim, { provider: 'simulator' }, { messages_per_minute: 1200 });
      devices.push(paced);
      await only(paced.id);
      sim.reset();
      const rows = Array.from({ length: 30 }, (_, i) => `+5198${String(4_100_000 + i)}|q${i}`).join('\n');
      const jobId = (await uploadBulk(p, rows, { message: 'Q @valor1' })).body.job.id;
      assert.equal((await p.api(`/jobs/${jobId}/pause`, { method: 'POST' })).status, 200);
      const idle = async () => (await p.ctx.db.query<{ status: string; lease: string | null }>('SELECT status, lease FROM jobs WHERE id = $1', [jobId]))[0]!;
      await eventually(async () => (await idle()).status === 'paused' && (await idle()).lease === null, 10_000, 'the paused attempt to let go');
      // An earlier attempt still winding down holds the lease as the job is resumed. It lets go at the
      // worst moment: inside the new attempt's claim that found the lease held (the claim's UPDATE
      // matched no row), before the new attempt looks again.
      await p.ctx.db.query(`UPDATE jobs SET lease = 'earlier-attempt', lease_until = now() + interval '30 seconds' WHERE id = $1`, [jobId]);
      await p.ctx.db.exec(`
        CREATE TABLE claim_race (job_id uuid NOT NULL, fired_in text);
        CREATE FUNCTION claim_race_let_go() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NOT EXISTS (SELECT 1 FROM changed) THEN
            UPDATE jobs SET lease = NULL, lease_until = NULL
            WHERE lease = 'earlier-attempt' AND id IN (SELECT job_id FROM claim_race WHERE fired_in IS NULL);
            IF FOUND THEN UPDATE claim_race SET fired_in = current_query(); END IF;
          END IF;
          RETURN NULL;
        END $$;
        CREATE TRIGGER claim_race AFTER UPDATE ON jobs REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION claim_race_let_go();
      `);
      try {
        await p.ctx.db.query('INSERT INTO claim_race (job_id) VALUES ($1)', [jobId]);
        assert.equal((await p.api(`/jobs/${jobId}/resume`, { method: 'POST' })).status, 200);
        const done = await waitForJob(p, jobId, 20_000, async () => JSON.stringify(await idle()));
        assert.equal(done.status, 'completed', JSON.stringify(done));
        const [race] = await p.ctx.db.query<{ fired_in: string | null }>('SELECT fired_in FROM claim_race');
        assert.match(race!.fired_in ?? '', /status = 'processing'/, 'the earlier attempt let go inside the claim that found its lease held');
        assert.equal(done.results.sent, 30);
        assert.deepEqual(sim.duplicates(), []);
      } finally {
        await p.ctx.db.exec('DROP TRIGGER claim_race ON jobs; DROP FUNCTION claim_race_let_go(); DROP TABLE claim_race');
      }
    });

    test('two jobs at once: a device sends for one at a time, so its pace holds; the other job waits for it', async () => {
      const paced = await addDevice(p, sim, { provider: 'waha' }, { messages_per_minute: 600 });
      devices.push(paced);
      await only(paced.id);
      sim.reset();
      const file = (from: number) => Array.from({ length: 15 }, (_, i) => `+5198${String(from + i)}|x`).join('\n');
      const a = (await uploadBulk(p, file(6_100_000), { message: 'A @valor1' })).body.job.id;
      const b = (await uploadBulk(p, file(6_200_000), { message: 'B @valor1' })).body.job.id;
      await eventually(async () => (await p.api(`/devices/${paced.id}`)).body.device.current_job_id, 10_000, 'the device taken by a job');
      const [ja, jb] = [await waitForJob(p, a, 60_000), await waitForJob(p, b, 60_000)];
      assert.deepEqual([ja.status, jb.status, ja.results.sent, jb.results.sent], ['completed', 'completed', 15, 15]);
      // Two jobs sharing the device would interleave their messages.
      const texts = sim.messages.map((m) => m.text[0]).join('');
      assert.match(texts, /^(A{15}B{15}|B{15}A{15})$/, 'one job after the other');
      // 600 a minute is one every 100 ms, from the first job's sends through the second's. The
      // simulator stamps arrivals on the thread that also runs Puente (and PGlite): a stall of that
      // thread stamps a send that was on time late, so the gap before it looks long and the one after
      // it short, one short gap per stall. Stalls can only delay stamps, so the span of the 30 sends
      // loses at most the interval the first stamp was late by; and most gaps are on time.
      const times = sim.messages.map((m) => m.at).sort((x, y) => x - y);
      const gaps = times.slice(1).map((t, i) => t - times[i]!);
      const median = [...gaps].sort((x, y) => x - y)[Math.floor(gaps.length / 2)]!;
      assert.ok(median >= 95, `gaps between sends: median ${median} ms`);
      const span = times.at(-1)! - times[0]!;
      assert.ok(span >= 28 * 100 - 10, `30 sends at 100 ms apart span at least 28 intervals: ${span} ms (gaps ${gaps.join(', ')})`);
      assert.equal((await p.api(`/devices/${paced.id}`)).body.device.current_job_id, null, 'released when done');
    });

    test("a device's pace carries over from one job to the next", async () => {
      const slow = await addDevice(p, sim, { provider: 'simulator' }, { messages_per_minute: 20 });
      devices.push(slow);
      await only(slow.id);
      sim.reset();
      const first = (await uploadBulk(p, '+51986100001|x\n', { message: 'uno' })).body.job.id;
      assert.equal((await waitForJob(p, first)).status, 'completed');
      // The slot the first job left the device: 3 s after its send started (20 a minute).
      const [left] = await p.ctx.db.query<{ next: Date | null }>('SELECT next_send_at AS next FROM devices WHERE id = $1', [slow.id]);
      const second = (await uploadBulk(p, '+51986100002|x\n', { message: 'dos' })).body.job.id;
      assert.equal((await waitForJob(p, second, 20_000)).status, 'completed');
      const [a, b] = sim.messages.map((m) => m.at);
      const next = left!.next!.getTime();
      // The first send started at most when it reached the simulator, so its slot ends at most 3 s after that
      // (and, the send's own transit aside, close to it); the second job waited for that slot.
      assert.ok(next - a! <= 3000 && next - a! > 2000, `the slot left ends ${next - a!} ms after the first send arrived`);
      assert.ok(b! >= next, `second job's first send came ${next - b!} ms before the slot the first job left`);
    });

    test('devices: list, edit pacing, validation', async () => {
      await everydayDevices();
      const list = await p.api('/devices?per_page=2');
      assert.equal(list.status, 200);
      assert.equal(list.body.devices.length, 2);
      assert.ok(list.body.meta.total >= devices.length, `${list.body.meta.total} listed, ${devices.length} added by this file`);
      const bad = await p.api('/devices', { body: { name: 'x', provider: 'cloud', base_url: 'http://127.0.0.1:1', credentials: {} } });
      assert.equal(bad.status, 400);
      assert.deepEqual([bad.body.code, bad.body.missing], ['devices.missing_credentials', ['access_token', 'phone_number_id']]);
      assert.equal((await p.api('/devices', { body: { name: 'x', provider: 'telegram', base_url: 'http://x', credentials: {} } })).status, 400);
      const edited = await p.api(`/devices/${devices[0]!.id}`, {
        method: 'PATCH',
        body: { min_gap_ms: 5000, max_gap_ms: 60000, daily_cap: 500, pause_after: 50, pause_seconds: 300 },
      });
      assert.equal(edited.status, 200);
      assert.deepEqual(
        { min: edited.body.device.pacing.min_gap_ms, max: edited.body.device.pacing.max_gap_ms, cap: edited.body.device.pacing.daily_cap },
        { min: 5000, max: 60000, cap: 500 },
      );
      assert.equal((await p.api(`/devices/${devices[0]!.id}`, { method: 'PATCH', body: { min_gap_ms: 9000, max_gap_ms: 100 } })).status, 400);
      assert.equal((await p.api('/devices/99999')).status, 404);
    });
  });
}

describe('bulk WhatsApp across processes (PostgreSQL + Redis)', runsIn('scaled'), () => {
  let storage: Storage;
  let sim: WaSimulator;
  let api: TestPuente;
  let env: NodeJS.ProcessEnv;
  const workers: PuenteProcess[] = [];

  before(async () => {
    storage = await freshStorage('scaled');
    sim = await startWhatsAppSimulator();
    env = testEnv({ ...storage.env, DEFAULT_COUNTRY: 'PE' });
    api = await startPuente(env, { work: false });
  });
  after(async () => {
    for (const w of workers) await w.kill();
    await api?.close();
    await sim?.close();
    await storage?.dispose();
  });

  test('a worker killed mid-send: another resumes, nobody gets a message twice, in-flight ones are uncertain', async () => {
    for (let i = 0; i < 2; i++) await addDevice(api, sim, { provider: i ? 'waha' : 'simulator', latencyMs: 15 });
    const rows = Array.from({ length: 3000 }, (_, i) => `+5198${String(3_000_000 + i)}|k${i}`).join('\n');
    const first = await spawnPuente(['worker'], env);
    workers.push(first);
    const jobId = (await uploadBulk(api, rows, { message: 'K @valor1', devices_limit: '2' })).body.job.id;
    await eventually(async () => sim.messages.length >= 600, 60_000, '600 messages sent');
    await first.kill();
    const atKill = sim.messages.length;
    // Claimed and not yet recorded when the process died: sent or not, nobody can tell.
    const [{ n: inFlight }] = (await api.ctx.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM message_recipients WHERE job_id = $1 AND status = 'sending'`,
      [jobId],
    )) as [{ n: number }];
    workers.push(await spawnPuente(['worker'], env));
    const job = await waitForJob(api, jobId, 120_000);
    await workers.pop()!.stop();
    assert.equal(job.status, 'completed', JSON.stringify(job));
    assert.deepEqual(sim.duplicates(), [], 'nobody got the same message twice');
    assert.ok(sim.messages.length > atKill, 'the second worker went on');
    const [c] = await api.ctx.db.query<{ sent: number; uncertain: number; other: number }>(
      `
      SELECT count(*) FILTER (WHERE status IN ('sent', 'delivered', 'read'))::int AS sent, count(*) FILTER (WHERE status = 'uncertain')::int AS uncertain,
             count(*) FILTER (WHERE status NOT IN ('sent', 'delivered', 'read', 'uncertain'))::int AS other
      FROM message_recipients WHERE job_id = $1`,
      [jobId],
    );
    assert.equal(c!.other, 0);
    assert.equal(c!.sent + c!.uncertain, 3000);
    assert.equal(c!.uncertain, inFlight, 'what was in flight at the crash, and only that, is uncertain');
    assert.ok(inFlight > 0 && inFlight < 600, `a crash costs at most the sends in flight and one flush interval (${inFlight})`);
    assert.equal(job.results.uncertain, c!.uncertain);
    assert.equal(job.results.sent, c!.sent);
    // Every recipient recorded as sent did reach the provider; uncertain ones may or may not have.
    assert.ok(sim.messages.length >= c!.sent && sim.messages.length <= 3000);
    const [attempts] = await api.ctx.db.query<{ attempts: number }>('SELECT attempts FROM jobs WHERE id = $1', [jobId]);
    assert.equal(attempts!.attempts, 2);
  });
});
