import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { startWhatsAppSimulator, type WaDeviceOptions, type WaSimulator } from '../src/simulators/whatsapp/whatsapp.simulator.ts';
import { eventually, freshStorage, modes, runsIn, startPuente, testEnv, waitForJob, type Storage, type TestPuente } from './support/puente.ts';

async function uploadBulk(p: TestPuente, content: string, o: { message?: string; extra?: Record<string, string>; path?: string } = {}) {
  const form = new FormData();
  form.append('file', new Blob([content]), 'clientes.csv');
  form.append('message', o.message ?? 'Hola @valor1');
  for (const [k, v] of Object.entries(o.extra ?? {})) form.append(k, v);
  const res = await fetch(`${p.url}${o.path ?? '/messages/send-bulk-file'}`, { method: 'POST', headers: { authorization: `Bearer ${p.token}` }, body: form });
  return { status: res.status, body: (await res.json()) as any };
}

async function resultsCsv(p: TestPuente, jobId: string) {
  const text = await (await fetch(`${p.url}/jobs/${jobId}/results.csv`, { headers: { authorization: `Bearer ${p.token}` } })).text();
  const [head, ...lines] = text
    .replace(/^\uFEFF/, '')
    .trim()
    .split('\n');
  const cols = head!.split(',');
  // Error texts may hold commas: they are quoted; the columns used here come before or after them.
  return lines.map((l) => {
    const cells: string[] = [];
    let cur = '',
      quoted = false;
    for (let i = 0; i < l.length; i++) {
      const ch = l[i]!;
      if (quoted) {
        if (ch === '"' && l[i + 1] === '"') {
          cur += '"';
          i++;
        } else if (ch === '"') quoted = false;
        else cur += ch;
      } else if (ch === '"') quoted = true;
      else if (ch === ',') {
        cells.push(cur);
        cur = '';
      } else cur += ch;
    }
    cells.push(cur);
    // A cell that a spreadsheet would read as a formula (+51…) carries a leading apostrophe.
    return Object.fromEntries(cols.map((c, i) => [c, (cells[i] ?? '').replace(/^'(?=[=+\-@])/, '')]));
  });
}

const sign256 = (secret: string, raw: string) => `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;

for (const mode of modes) {
  describe(`WhatsApp receipts, opt-outs and provider checks (${mode})`, runsIn(mode), () => {
    let storage: Storage;
    let sim: WaSimulator;
    let p: TestPuente;
    const ids: number[] = [];

    /** A simulator device registered in Puente; only it is active afterwards. */
    async function device(o: WaDeviceOptions, credentials: Record<string, string> = {}) {
      const dev = sim.addDevice(o);
      const r = await p.api('/devices', {
        body: { name: `${o.provider}-${dev.id}`, provider: o.provider, base_url: dev.baseUrl, credentials: { ...dev.credentials, ...credentials } },
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      const id = r.body.device.id as number;
      for (const other of ids) await p.api(`/devices/${other}`, { method: 'PATCH', body: { status: 'paused' } });
      ids.push(id);
      return { dev, id, reply: r.body.device };
    }
    const job = async (id: string) => (await p.api(`/jobs/${id}`)).body;
    /** A Cloud device whose callback (as set in Meta's dashboard) is Puente's, signed with its app secret. */
    async function cloudDevice(o: Partial<WaDeviceOptions> = {}) {
      const appSecret = `app-secret-${Math.random().toString(36).slice(2)}`;
      const d = await device({ provider: 'cloud', ...o }, { app_secret: appSecret, verify_token: 'verifica-123' });
      d.dev.set({ webhook: { url: `${p.url}/webhooks/cloud/${d.id}`, appSecret } });
      return { ...d, appSecret };
    }

    before(async () => {
      storage = await freshStorage(mode);
      sim = await startWhatsAppSimulator({ receipts: { deliveredAfterMs: [20, 60], readAfterMs: [20, 60], readRate: 1, replyAfterMs: [10, 30] } });
      p = await startPuente(testEnv({ ...storage.env, DEFAULT_COUNTRY: 'PE', DEVICE_RECEIPT_MIN_SAMPLE: '8', DEVICE_RECEIPT_FAILURE_RATE: '0.5' }));
    });
    after(async () => {
      await p?.close();
      await sim?.close();
      await storage?.dispose();
    });

    test('receipts move the counts: delivered and read climb after sent, for Evolution, WAHA and the native device', async () => {
      for (const [k, provider] of (['evolution', 'waha', 'simulator'] as const).entries()) {
        const { dev } = await device({ provider });
        const rows = Array.from({ length: 12 }, (_, i) => `+5198${k}${String(100_000 + i)}|n${i}`).join('\n');
        const r = await uploadBulk(p, rows);
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.deepEqual(Object.keys(r.body.job.progress).sort(), [
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
        const done = await waitForJob(p, r.body.job.id);
        assert.equal(done.status, 'completed', provider);
        const settled = await eventually(
          async () => {
            const j = await job(r.body.job.id);
            return j.progress.read === 12 && j.progress.delivered === 12 ? j : null;
          },
          30_000,
          `${provider}: every message delivered and read`,
        );
        assert.equal(settled.progress.sent, 12, 'read messages are still sent');
        assert.equal(settled.results.delivered, 12, 'the summary follows the receipts');
        assert.equal(settled.results.read, 12);
        assert.equal(settled.results.failed_after_send, 0);
        assert.ok(Date.parse(settled.results.settles_at) > Date.now() + 23 * 3600_000, 'receipts are expected for 24 h');
        const csv = await resultsCsv(p, r.body.job.id);
        assert.deepEqual([...new Set(csv.map((c) => c.status))], ['read'], provider);
        assert.ok(csv.every((c) => c.delivered_at && c.read_at));
        assert.ok(sim.webhooks.sent > 0 && dev, 'the engine posted to Puente');
      }
    });

    test("a missing or bad signature is refused and changes nothing; Meta's verification echoes the challenge", async () => {
      const cloud = await cloudDevice({ requireTemplateForCold: false });
      cloud.dev.set({ webhook: undefined }); // the test posts the receipts itself
      const r = await uploadBulk(p, '+51987300001|a\n');
      await waitForJob(p, r.body.job.id);
      const [row] = await resultsCsv(p, r.body.job.id);
      assert.equal(row!.status, 'sent');
      const body = JSON.stringify({
        object: 'whatsapp_business_account',
        entry: [
          {
            id: '1',
            changes: [
              {
                field: 'messages',
                value: {
                  messaging_product: 'whatsapp',
                  metadata: { phone_number_id: cloud.dev.id },
                  statuses: [{ id: row!.provider_message_id, status: 'read', timestamp: '1', recipient_id: '51987300001' }],
                },
              },
            ],
          },
        ],
      });
      const post = (headers: Record<string, string>, raw = body) =>
        fetch(`${p.url}/webhooks/cloud/${cloud.id}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: raw });
      const unsigned = await post({});
      assert.equal(unsigned.status, 401);
      assert.equal(((await unsigned.json()) as any).code, 'webhooks.bad_signature');
      assert.equal((await post({ 'x-hub-signature-256': sign256('not-the-secret', body) })).status, 401);
      // A signature of other bytes (the same JSON re-serialised with spaces) is not this body's.
      assert.equal((await post({ 'x-hub-signature-256': sign256(cloud.appSecret, JSON.stringify(JSON.parse(body), null, 1)) })).status, 401);
      assert.equal((await fetch(`${p.url}/webhooks/waha/${cloud.id}`, { method: 'POST', body: '{}' })).status, 404, "the provider must be the device's");
      // A short window proving nothing happens: a refused webhook must not apply later either.
      await new Promise((res) => setTimeout(res, 300));
      assert.equal((await resultsCsv(p, r.body.job.id))[0]!.status, 'sent', 'a refused webhook moved nothing');
      assert.equal((await post({ 'x-hub-signature-256': sign256(cloud.appSecret, body) })).status, 200);
      await eventually(async () => (await resultsCsv(p, r.body.job.id))[0]!.status === 'read', 10_000, 'the signed receipt applied');

      const verify = (token: string) => fetch(`${p.url}/webhooks/cloud/${cloud.id}?hub.mode=subscribe&hub.verify_token=${token}&hub.challenge=1158201444`);
      const ok = await verify('verifica-123');
      assert.deepEqual([ok.status, await ok.text()], [200, '1158201444']);
      assert.equal((await verify('otro')).status, 403);

      const waha = await device({ provider: 'waha' });
      const wahaBody = JSON.stringify({ event: 'message', session: waha.dev.id, payload: { from: '51987300009@c.us', fromMe: false, body: 'BAJA' } });
      const forged = await fetch(`${p.url}/webhooks/waha/${waha.id}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-webhook-hmac': createHmac('sha512', 'guess').update(wahaBody).digest('hex') },
        body: wahaBody,
      });
      assert.equal(forged.status, 401);
      const evo = await device({ provider: 'evolution' });
      assert.equal(
        (
          await fetch(`${p.url}/webhooks/evolution/${evo.id}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: '{"event":"messages.upsert"}',
          })
        ).status,
        401,
      );
      assert.equal(
        (await p.api('/suppressions')).body.suppressions.some((s: any) => s.phone === '+51987300009'),
        false,
        'a forged opt-out is not taken',
      );
      const secrets = (await p.api(`/devices/${cloud.id}`)).body.device.credentials;
      assert.deepEqual([secrets.app_secret, secrets.verify_token], ['********', '********'], 'webhook secrets are never shown');
    });

    test('repeated and out-of-order receipts move a recipient forward only; unknown ids are counted and dropped', async () => {
      const cloud = await cloudDevice({ requireTemplateForCold: false });
      cloud.dev.set({ webhook: undefined });
      const r = await uploadBulk(p, '+51987310001|a\n+51987310002|b\n');
      await waitForJob(p, r.body.job.id);
      const [a, b] = await resultsCsv(p, r.body.job.id);
      const post = async (statuses: object[]) => {
        const raw = JSON.stringify({
          object: 'whatsapp_business_account',
          entry: [
            { id: '1', changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { phone_number_id: cloud.dev.id }, statuses } }] },
          ],
        });
        const res = await fetch(`${p.url}/webhooks/cloud/${cloud.id}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-hub-signature-256': sign256(cloud.appSecret, raw) },
          body: raw,
        });
        assert.equal(res.status, 200);
      };
      const st = (id: string, status: string, extra: object = {}) => ({ id, status, timestamp: '1', recipient_id: '1', ...extra });
      // read arrives before delivered and sent; then everything again; then a failure after the read.
      await post([st(a!.provider_message_id!, 'read')]);
      await post([st(a!.provider_message_id!, 'delivered')]);
      await post([st(a!.provider_message_id!, 'sent')]);
      for (let i = 0; i < 3; i++) await post([st(a!.provider_message_id!, 'read'), st(a!.provider_message_id!, 'delivered')]);
      await post([st(a!.provider_message_id!, 'failed', { errors: [{ code: 131026, title: 'Message undeliverable' }] })]);
      // b: a failure crosses a delivery (then delivered again): the delivery proves it arrived.
      await post([st(b!.provider_message_id!, 'failed', { errors: [{ code: 131000, title: 'Something went wrong' }] })]);
      await post([st(b!.provider_message_id!, 'delivered')]);
      await post([st(b!.provider_message_id!, 'delivered'), st(b!.provider_message_id!, 'sent')]);
      await post([st('wamid.nobody-has-this', 'sent'), st('wamid.nobody-has-this-either', 'delivered')]);
      const settled = await eventually(
        async () => {
          const j = await job(r.body.job.id);
          return j.progress.delivered === 2 && j.progress.read === 1 ? j : null;
        },
        15_000,
        'receipts applied',
        async () => `${JSON.stringify((await job(r.body.job.id)).progress)} ${JSON.stringify(await resultsCsv(p, r.body.job.id))}`,
      );
      // A short window proving nothing more happens: no receipt is counted twice after the counts settle.
      await new Promise((res) => setTimeout(res, 500));
      const final = await job(r.body.job.id);
      assert.deepEqual(
        {
          sent: final.progress.sent,
          failed: final.progress.failed,
          delivered: final.progress.delivered,
          read: final.progress.read,
          fas: final.progress.failed_after_send,
        },
        { sent: 2, failed: 0, delivered: 2, read: 1, fas: 0 },
        JSON.stringify(settled.progress),
      );
      const rows = await resultsCsv(p, r.body.job.id);
      assert.deepEqual(
        rows.map((x) => x.status),
        ['read', 'delivered'],
      );
      const unknown = await eventually(
        async () => {
          const [row] = await p.ctx.db.query<{ n: string }>('SELECT receipts_unknown::text AS n FROM devices WHERE id = $1', [cloud.id]);
          return Number(row!.n) === 2 ? 2 : null;
        },
        30_000,
        'unknown receipts counted',
      );
      assert.equal(unknown, 2);
    });

    test('a receipt carrying a NUL character does not sink the batch it arrives with', async () => {
      const cloud = await cloudDevice({ requireTemplateForCold: false });
      cloud.dev.set({ webhook: undefined });
      const r = await uploadBulk(p, '+51987380001|a\n');
      await waitForJob(p, r.body.job.id);
      const [row] = await resultsCsv(p, r.body.job.id);
      // JSON escapes NUL as \u0000; PostgreSQL refuses it in text and jsonb.
      const raw = JSON.stringify({
        object: 'whatsapp_business_account',
        entry: [
          {
            id: '1',
            changes: [
              {
                field: 'messages',
                value: {
                  messaging_product: 'whatsapp',
                  metadata: { phone_number_id: cloud.dev.id },
                  statuses: [
                    { id: 'wamid.odd\u0000id', status: 'failed', timestamp: '1', recipient_id: '1', errors: [{ code: 131026, title: 'bad\u0000title' }] },
                    { id: row!.provider_message_id, status: 'delivered', timestamp: '1', recipient_id: '51987380001' },
                  ],
                  messages: [{ from: '51987380009', id: 'wamid.in', timestamp: '1', type: 'text', text: { body: 'BA\u0000JA' } }],
                },
              },
            ],
          },
        ],
      });
      const res = await fetch(`${p.url}/webhooks/cloud/${cloud.id}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-hub-signature-256': sign256(cloud.appSecret, raw) },
        body: raw,
      });
      assert.equal(res.status, 200);
      await eventually(async () => (await resultsCsv(p, r.body.job.id))[0]!.status === 'delivered', 10_000, 'the good receipt applied');
      assert.ok(
        (await p.api('/suppressions?per_page=500')).body.suppressions.some((x: any) => x.phone === '+51987380009'),
        'the opt-out, NUL removed, was taken',
      );
    });

    test("Cloud API: a number without WhatsApp is accepted, then ends failed with Meta's reason from a signed webhook", async () => {
      const cloud = await cloudDevice({ requireTemplateForCold: false });
      sim.notOnWhatsapp.add('51987320002');
      const r = await uploadBulk(p, '+51987320001|vivo\n+51987320002|muerto\n');
      const done = await waitForJob(p, r.body.job.id);
      assert.equal(done.status, 'completed');
      assert.equal(sim.messages.filter((m) => m.deviceId === cloud.dev.id).length, 2, 'Meta accepted both');
      const settled = await eventually(
        async () => {
          const j = await job(r.body.job.id);
          return j.progress.failed_after_send === 1 && j.progress.read === 1 ? j : null;
        },
        30_000,
        "the dead number's failure arrived",
      );
      assert.deepEqual(
        { sent: settled.progress.sent, failed: settled.progress.failed, percentage: settled.progress.percentage },
        { sent: 1, failed: 1, percentage: 100 },
      );
      assert.deepEqual({ sent: settled.results.sent, failed: settled.results.failed }, { sent: 1, failed: 1 });
      const dead = (await resultsCsv(p, r.body.job.id)).find((c) => c.phone === '+51987320002')!;
      assert.equal(dead.status, 'failed');
      assert.equal(dead.failed_after_send, 'true');
      assert.match(dead.error!, /^131026 Message undeliverable/);
    });

    test('an opt-out reply ("Baja") suppresses the number: the next preview and upload count and skip it', async () => {
      const evo = await device({ provider: 'evolution', replies: { '51987330002': 'Baja', '51987330003': 'gracias, llegó bien' } });
      const file = '+51987330001|a\n+51987330002|b\n+51987330003|c\n';
      const first = await uploadBulk(p, file);
      await waitForJob(p, first.body.job.id);
      const entry = await eventually(
        async () => (await p.api('/suppressions')).body.suppressions.find((s: any) => s.phone === '+51987330002'),
        20_000,
        'the opt-out recorded',
      );
      assert.equal(entry.source, 'reply:evolution');
      assert.ok(entry.created_at);
      // An accent and mixed case are the same words; a conversation is not an opt-out.
      await sim.inbound(evo.dev.id, '51987330004', 'No Más', 'evolution');
      await eventually(async () => (await p.api('/suppressions')).body.suppressions.some((s: any) => s.phone === '+51987330004'), 10_000, 'No Más');
      const list = (await p.api('/suppressions?per_page=500')).body.suppressions.map((s: any) => s.phone);
      assert.ok(!list.includes('+51987330003'));

      const preview = await uploadBulk(p, `${file}+51987330004|d\n`, { path: '/messages/preview' });
      assert.equal(preview.body.suppressed, 2);
      assert.ok(!preview.body.samples.some((s: any) => s.phone === '+51987330002'));
      const before = sim.messages.length;
      const second = await uploadBulk(p, `${file}+51987330004|d\n`);
      assert.equal(second.body.job.suppressed, 2);
      assert.equal(second.body.job.progress.suppressed, 2);
      const done = await waitForJob(p, second.body.job.id);
      assert.deepEqual({ sent: done.results.sent, suppressed: done.results.suppressed, total: done.results.total }, { sent: 2, suppressed: 2, total: 4 });
      const sentTo = sim.messages
        .slice(before)
        .map((m) => m.to)
        .sort();
      assert.deepEqual(sentTo, ['51987330001', '51987330003'], 'nothing went to the suppressed numbers');
      const csv = await resultsCsv(p, second.body.job.id);
      assert.equal(csv.filter((c) => c.status === 'suppressed').length, 2);

      // Admin routes: add, import, remove.
      assert.equal((await p.api('/suppressions', { body: { phone: '0987 330 009', reason: 'pidió por teléfono' } })).status, 201);
      const form = new FormData();
      form.append('file', new Blob(['telefono\n+51987330010\n+51987330011\nbasura\n+51987330010\n']), 'bajas.csv');
      const imported = (await (
        await fetch(`${p.url}/suppressions/import`, { method: 'POST', headers: { authorization: `Bearer ${p.token}` }, body: form })
      ).json()) as any;
      assert.deepEqual({ added: imported.added, invalid: imported.invalid }, { added: 2, invalid: 1 });
      assert.equal((await p.api('/suppressions/+51987330002', { method: 'DELETE' })).status, 200);
      assert.equal((await p.api('/suppressions/+51987330002', { method: 'DELETE' })).status, 404);
      assert.equal((await p.api('/suppressions', { token: null })).status, 401);
      assert.equal((await p.api('/suppressions', { token: null, body: { phone: 12, junk: true } })).status, 401, 'auth comes before the body');
      assert.equal(
        (await p.api('/api/admin/users', { body: { name: 'Op', email: 'op-bajas@test.local', password: 'operator-pass-1', role: 'operator' } })).status,
        201,
      );
      const op = (await p.api('/auth/login', { body: { email: 'op-bajas@test.local', password: 'operator-pass-1' }, token: null })).body.access_token;
      assert.equal((await p.api('/suppressions', { token: op })).status, 403, 'the list is for admins');
      assert.equal((await p.api('/suppressions/+51987330004', { method: 'DELETE', token: op })).status, 403);
    });

    test('an opt-out that arrives while a job is sending stops that job from reaching the number', async () => {
      const slow = await device({ provider: 'evolution' });
      await p.api(`/devices/${slow.id}`, { method: 'PATCH', body: { messages_per_minute: 600 } });
      const rows = Array.from({ length: 60 }, (_, i) => `+51987370${String(100 + i)}|x`).join('\n');
      const before = sim.messages.length;
      const r = await uploadBulk(p, rows);
      await eventually(async () => sim.messages.length > before, 10_000, 'sending started');
      await sim.inbound(slow.dev.id, '51987370159', 'STOP', 'evolution');
      await eventually(async () => (await p.api('/suppressions')).body.suppressions.some((s: any) => s.phone === '+51987370159'), 10_000, 'STOP recorded');
      const done = await waitForJob(p, r.body.job.id, 60_000);
      assert.equal(done.status, 'completed');
      assert.equal(
        done.results.suppressed,
        1,
        JSON.stringify({ results: done.results, sent: sim.countFor('51987370159'), row: (await resultsCsv(p, r.body.job.id)).at(-1) }),
      );
      assert.equal(done.results.sent, 59);
      assert.equal(sim.countFor('51987370159'), 0, 'the last number, who wrote STOP mid-job, got nothing');
    });

    test('a template Meta rejects stops the job with the reason instead of failing every recipient', async () => {
      await cloudDevice({ templates: ['aviso_pedido'] });
      const before = sim.messages.length;
      const rows = Array.from({ length: 30 }, (_, i) => `+51987340${String(100 + i)}|x`).join('\n');
      const r = await uploadBulk(p, rows, { extra: { template: 'plantilla_inexistente', template_language: 'es' } });
      const done = await waitForJob(p, r.body.job.id);
      assert.equal(done.status, 'failed');
      assert.match(done.error, /132001/);
      assert.equal(sim.messages.length, before);
      const csv = await resultsCsv(p, r.body.job.id);
      assert.equal(csv.filter((c) => c.status === 'failed').length, 0, 'no recipient is blamed for the template');
      assert.equal(csv.filter((c) => c.status === 'not_sent').length, 30);
    });

    test('WAHA: each number is checked first; the returned chatId is used (52 / 521); no WhatsApp fails without a send; answers are cached', async () => {
      const waha = await device({ provider: 'waha' });
      sim.notOnWhatsapp.add('51987350002');
      const before = sim.messages.length;
      const checksBefore = sim.checks.length;
      const file = '+51987350001|a\n+51987350002|b\n+52 55 1234 9876|mx\n';
      const r = await uploadBulk(p, file);
      const done = await waitForJob(p, r.body.job.id);
      assert.deepEqual({ sent: done.results.sent, failed: done.results.failed }, { sent: 2, failed: 1 });
      const sent = sim.messages
        .slice(before)
        .filter((m) => m.deviceId === waha.dev.id)
        .map((m) => m.to)
        .sort();
      assert.deepEqual(sent, ['51987350001', '5215512349876'], 'nothing was sent to the number without WhatsApp');
      assert.deepEqual(sim.checks.slice(checksBefore).sort(), ['51987350001', '51987350002', '5215512349876']);
      const dead = (await resultsCsv(p, r.body.job.id)).find((c) => c.phone === '+51987350002')!;
      assert.match(dead.error!, /not on WhatsApp/);
      const again = await uploadBulk(p, file, { message: 'otra vez @valor1' });
      await waitForJob(p, again.body.job.id);
      assert.equal(sim.checks.length, checksBefore + 3, 'the second job reused the answers');
    });

    test('a device whose receipts are mostly failures is paused with the reason', async () => {
      const cloud = await cloudDevice({ requireTemplateForCold: false });
      const rows = Array.from({ length: 10 }, (_, i) => `+51987360${String(100 + i)}|x`);
      for (const r of rows) sim.notOnWhatsapp.add(r.slice(1, 12));
      const r = await uploadBulk(p, rows.join('\n'));
      await waitForJob(p, r.body.job.id);
      const paused = await eventually(
        async () => {
          const d = (await p.api(`/devices/${cloud.id}`)).body.device;
          return d.status === 'paused' ? d : null;
        },
        30_000,
        'device paused',
      );
      assert.match(paused.status_reason, /fallaron tras el envío/);
    });
  });
}
