import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWhatsAppSimulator, type WaSimulator } from '../src/simulators/whatsapp/whatsapp.simulator.ts';
import { startWisproSimulator, type WisproSimulator } from '../src/simulators/wispro/wispro.simulator.ts';
import { startWhmcsSimulator, type WhmcsSimulator } from '../src/simulators/whmcs/whmcs.simulator.ts';
import { addUser } from './support/customers.ts';
import { eventually, freshStorage, modes, runsIn, startPuente, testEnv, waitForJob, type Storage, type TestPuente } from './support/puente.ts';

async function uploadBulk(p: TestPuente, content: string, o: { message: string; filename?: string; extra?: Record<string, string>; path?: string }) {
  const form = new FormData();
  form.append('message', o.message);
  for (const [k, v] of Object.entries(o.extra ?? {})) form.append(k, v);
  form.append('file', new Blob([content]), o.filename ?? 'clientes.csv');
  const res = await fetch(`${p.url}${o.path ?? '/messages/send-bulk-file'}`, { method: 'POST', headers: { authorization: `Bearer ${p.token}` }, body: form });
  return { status: res.status, body: (await res.json()) as any };
}

const numbers = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `+58414${String(2_000_000 + from + i)}`);

for (const mode of modes) {
  describe(`job items, failure summaries and the duplicate-send guard (${mode})`, runsIn(mode), () => {
    let storage: Storage;
    let wa: WaSimulator;
    let wispro: WisproSimulator;
    let p: TestPuente;

    before(async () => {
      storage = await freshStorage(mode);
      wa = await startWhatsAppSimulator();
      wispro = await startWisproSimulator({ token: 'items-token', clients: 240 });
      p = await startPuente(testEnv({ ...storage.env, MESSAGING_DUPLICATE_WINDOW_MINUTES: '30', WISPRO_API_URL: wispro.url, WISPRO_API_TOKEN: 'items-token' }));
      const dev = wa.addDevice({ provider: 'simulator' });
      const d = await p.api('/devices', { body: { name: 'Ventas 1', provider: 'simulator', base_url: dev.baseUrl, credentials: dev.credentials } });
      assert.equal(d.status, 201, JSON.stringify(d.body));
    });
    after(async () => {
      await p?.close();
      await wispro?.close();
      await wa?.close();
      await storage?.dispose();
    });

    test('the same file with the same message is refused with 409 naming the earlier job, and goes with confirm_duplicate=true', async () => {
      const file =
        numbers(3, 900)
          .map((n, i) => `${n}|Cliente ${i}`)
          .join('\n') + '\n';
      const first = await uploadBulk(p, file, { message: 'Promo @valor1', filename: 'promo.csv' });
      assert.equal(first.status, 200, JSON.stringify(first.body));
      const again = await uploadBulk(p, file, { message: 'Promo @valor1', filename: 'promo-copia.csv' });
      assert.equal(again.status, 409, JSON.stringify(again.body));
      assert.equal(again.body.status, 'error');
      assert.equal(again.body.code, 'messaging.duplicate_send');
      assert.equal(again.body.job_id, first.body.job.id);
      assert.equal(again.body.duplicate_of.file_name, 'promo.csv');
      assert.equal(again.body.job_id, first.body.job.id);
      // Nothing of the refused upload is left behind.
      const [left] = await p.ctx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM message_recipients WHERE job_id NOT IN (SELECT id FROM jobs)`);
      assert.equal(left!.n, 0);
      // Another message, or another file, is not a duplicate.
      assert.equal((await uploadBulk(p, file, { message: 'Otra promo @valor1' })).status, 200);
      // The preview says so before the click.
      const preview = await uploadBulk(p, file, { message: 'Promo @valor1', path: '/messages/preview' });
      assert.equal(preview.body.duplicate_of.job_id, first.body.job.id);
      const confirmed = await uploadBulk(p, file, { message: 'Promo @valor1', extra: { confirm_duplicate: 'true' } });
      assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
      assert.notEqual(confirmed.body.job.id, first.body.job.id);
      for (const id of [first.body.job.id, confirmed.body.job.id]) await waitForJob(p, id);
    });

    test('two uploads of the same file at once create one job; the other gets the 409', async () => {
      const file =
        numbers(2, 950)
          .map((n) => `${n}|x`)
          .join('\n') + '\n';
      const both = await Promise.all([uploadBulk(p, file, { message: 'A la vez' }), uploadBulk(p, file, { message: 'A la vez' })]);
      assert.deepEqual(both.map((r) => r.status).sort(), [200, 409]);
      const jobs = (await p.api('/jobs?type=messaging.bulk-send&per_page=500')).body.filter((j: any) => j.message === 'A la vez');
      assert.equal(jobs.length, 1);
      await waitForJob(p, jobs[0].id);
    });

    test('the preview names a wrong separator and an @valorN the file has no column for', async () => {
      const commas =
        'telefono,nombre\n' +
        numbers(4)
          .map((n) => `${n},Ana`)
          .join('\n') +
        '\n';
      const r = await uploadBulk(p, commas, { message: 'Hola @valor1', path: '/messages/preview' });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const sep = r.body.warnings.find((w: any) => w.code === 'messaging.wrong_separator');
      assert.equal(sep?.separator, ',');
      const semis = await uploadBulk(
        p,
        numbers(4)
          .map((n) => `${n};Ana;12`)
          .join('\n'),
        { message: 'Hola', path: '/messages/preview' },
      );
      assert.equal(semis.body.warnings[0]?.separator, ';');
      const good = await uploadBulk(
        p,
        numbers(4)
          .map((n) => `${n}|Ana`)
          .join('\n'),
        { message: 'Hola @valor1, pedido @valor3', path: '/messages/preview' },
      );
      assert.equal(good.body.columns, 1);
      assert.deepEqual(
        good.body.warnings.map((w: any) => [w.code, w.placeholder]),
        [['messaging.missing_column', '@valor3']],
      );
    });

    test('a bulk send with failures: items by status and reason, with the values and the device by name; the summary groups them', async () => {
      const noWa = numbers(3, 100);
      for (const n of noWa) wa.notOnWhatsapp.add(n.slice(1));
      const rows = [...numbers(5, 100), '12345'].map((n, i) => `${n}|Cliente ${i}|${500 + i}`);
      const up = await uploadBulk(p, rows.join('\n') + '\n', { message: 'Hola @valor1', filename: 'mixto.csv' });
      assert.equal(up.status, 200, JSON.stringify(up.body));
      const job = await waitForJob(p, up.body.job.id);
      assert.equal(job.status, 'completed');
      assert.equal(job.outcome, 'with_errors', 'not a plain "completed": 4 of 6 did not go out');
      assert.deepEqual([job.progress.sent, job.progress.failed], [2, 4]);

      const summary = await p.api(`/jobs/${job.id}/failures/summary`);
      assert.equal(summary.status, 200);
      assert.equal(summary.body.total_failed, 4);
      assert.deepEqual(
        summary.body.groups.map((g: any) => [g.reason_code, g.count]),
        [
          ['messaging.not_on_whatsapp', 3],
          ['messaging.invalid_number', 1],
        ],
      );

      const failed = await p.api(`/jobs/${job.id}/items?status=failed&per_page=2`);
      assert.equal(failed.body.meta.total, 4);
      assert.equal(failed.body.items.length, 2);
      const page2 = await p.api(`/jobs/${job.id}/items?status=failed&per_page=2&page=2`);
      assert.equal(page2.body.items.length, 2);
      const noWhatsapp = await p.api(`/jobs/${job.id}/items?reason=messaging.not_on_whatsapp`);
      assert.deepEqual(
        noWhatsapp.body.items.map((i: any) => i.phone),
        noWa,
      );
      const one = noWhatsapp.body.items[0];
      assert.deepEqual(one.values, ['Cliente 0', '500']);
      assert.equal(one.device_name, 'Ventas 1');
      const invalid = (await p.api(`/jobs/${job.id}/items?reason=messaging.invalid_number`)).body.items;
      assert.equal(invalid[0].raw_phone, '12345');
      // Receipts move sent messages on to delivered and read: the two that went out are among the three.
      // One read of every item: three reads by status could count a message twice as a receipt moves it between them.
      const all = (await p.api(`/jobs/${job.id}/items?per_page=100`)).body.items as { status: string }[];
      assert.equal(all.length, 6);
      assert.equal(all.filter((i) => ['sent', 'delivered', 'read'].includes(i.status)).length, 2);

      // The results CSV: device by name, the file's values, the reason in words, headers in the asked language.
      const csv = async (q: string) => (await fetch(`${p.url}/jobs/${job.id}/results.csv${q}`, { headers: { authorization: `Bearer ${p.token}` } })).text();
      const en = (await csv('?lang=en'))
        .replace(/^\uFEFF/, '')
        .trim()
        .split('\n');
      assert.equal(
        en[0],
        '#,phone,phone in the file,outcome,device id,message id,provider error,attempts,updated,device,values,reason,failed after send,delivered,read',
      );
      const noWaLine = en.find((l) => l.includes(noWa[0]!))!;
      assert.match(noWaLine, /,failed,.*,Ventas 1,Cliente 0 \| 500,number without WhatsApp,false,,$/);
      assert.doesNotMatch(noWaLine, /[{}]/, 'no raw JSON');
      const es = (await csv('?lang=es'))
        .replace(/^\uFEFF/, '')
        .trim()
        .split('\n');
      assert.match(es[0]!, /^n\.º,teléfono,/);
      // Found by its column (the number as written), not anywhere in the line: a provider's message id may contain "12345".
      assert.match(es.find((l) => l.split(',')[2]?.includes('12345'))!, /,falló,.*número inválido,false,,$/);
      assert.match(
        (await csv('')).replace(/^\uFEFF/, ''),
        /^seq,phone,raw_phone,status,device_id,provider_message_id,error,attempts,updated_at,device_name,values,reason,failed_after_send,delivered_at,read_at\n/,
      );
    });

    test("a Wispro sync records each client's outcome; skipped and failed ones are listed with the reason and grouped", async () => {
      const twin = wispro.clients.find((c) => c.national_identification_number && /\d{6}/.test(c.national_identification_number))!;
      wispro.clients.push({ ...twin, id: '00000000-0000-4000-8000-00000000d0b1', name: 'Gemela Duplicada', public_id: 99_999 });
      // Neither a Wispro id nor a cédula: skipped, and listed under its page and position.
      wispro.clients.push({ ...twin, id: null as unknown as string, name: 'Sin Identidad', national_identification_number: null, public_id: 99_998 });
      const start = await p.api('/api/users/sync-wispro-all', { method: 'POST' });
      const job = await waitForJob(p, start.body.job_id);
      assert.equal(job.status, 'completed');
      const c = job.progress;
      const items = await p.api(`/jobs/${job.id}/items?per_page=500`);
      assert.equal(items.body.meta.total, wispro.clients.length, 'one item per Wispro client');
      const by = (s: string) => items.body.items.filter((i: any) => i.status === s).length;
      assert.deepEqual([by('created'), by('updated'), by('unchanged'), by('skipped'), by('failed')], [c.created, c.updated, c.unchanged, c.skipped, c.errors]);
      const twinItem = items.body.items.find((i: any) => i.wispro_id === '00000000-0000-4000-8000-00000000d0b1');
      assert.equal(twinItem.status, 'skipped');
      assert.equal(twinItem.reason_code, 'wispro.duplicate_id_number');
      assert.equal(twinItem.label, 'Gemela Duplicada');
      assert.match(twinItem.reason, /duplicada/);
      const nobody = items.body.items.find((i: any) => i.label === 'Sin Identidad');
      assert.equal(nobody.status, 'skipped');
      assert.equal(nobody.reason_code, 'wispro.no_id_number');
      assert.equal(nobody.wispro_id, null);
      assert.match(nobody.key, /^p\d+-\d+$/);
      // A created client is listed with its Wispro id, cédula and name.
      const created = items.body.items.filter((i: any) => i.status === 'created');
      assert.ok(created.length > 0);
      for (const item of created) {
        const client = wispro.clients.find((cl) => cl.id === item.wispro_id);
        assert.ok(client, `created item ${JSON.stringify(item)} is a Wispro client`);
        assert.equal(item.label, client.name.trim());
        assert.equal(item.reason_code, null);
        const nin = client.national_identification_number ?? '';
        const digits = nin.replace(/\D/g, '').replace(/^0+/, '');
        const letter = /^\s*([VEJGP])/i.exec(nin)?.[1]?.toUpperCase() ?? 'V';
        assert.equal(item.id_number, digits ? `${letter}-${digits}` : null);
      }

      const summary = (await p.api(`/jobs/${job.id}/failures/summary`)).body;
      assert.equal(summary.total_failed, c.skipped + c.errors);
      const dup = summary.groups.find((g: any) => g.reason_code === 'wispro.duplicate_id_number');
      assert.ok(dup.count >= 1);
      const listed = (await p.api(`/jobs/${job.id}/items?reason=wispro.duplicate_id_number&per_page=500`)).body;
      assert.equal(listed.meta.total, dup.count);
      assert.equal(job.outcome, 'with_errors');

      // A second run: the same clients are now unchanged, recorded under the new job.
      const again = await waitForJob(p, (await p.api('/api/users/sync-wispro-all', { method: 'POST' })).body.job_id);
      const unchanged = (await p.api(`/jobs/${again.id}/items?status=unchanged&per_page=1`)).body.meta.total;
      assert.equal(unchanged, again.progress.unchanged);
      assert.ok(unchanged >= c.created);
    });

    test('GET /jobs pages with page/per_page, filters by type and status, and can hide scheduled runs', async () => {
      // Jobs of its own, whatever ran before: two Wispro syncs and four small sends.
      for (let i = 0; i < 2; i++) {
        const sync = await waitForJob(p, (await p.api('/api/users/sync-wispro-all', { method: 'POST' })).body.job_id);
        assert.equal(sync.status, 'completed', sync.error);
      }
      for (let i = 0; i < 4; i++) {
        const sent = await uploadBulk(p, numbers(1, 700 + i).join('\n'), { message: `Listado ${i}`, filename: `listado-${i}.csv` });
        assert.equal(sent.status, 200, JSON.stringify(sent.body));
        await waitForJob(p, sent.body.job.id);
      }
      const all = await p.api('/jobs?per_page=500');
      const total = Number(all.headers.get('x-total-count'));
      assert.ok(total >= 6);
      const page1 = await p.api('/jobs?page=1&per_page=2');
      const page2 = await p.api('/jobs?page=2&per_page=2');
      assert.equal(page1.body.length, 2);
      assert.equal(Number(page2.headers.get('x-total-count')), total);
      assert.deepEqual(
        [...page1.body, ...page2.body].map((j: any) => j.id),
        all.body.slice(0, 4).map((j: any) => j.id),
      );
      const syncs = await p.api('/jobs?type=wispro.sync&status=completed');
      assert.ok(syncs.body.length >= 2 && syncs.body.every((j: any) => j.type === 'wispro.sync' && j.status === 'completed'));
      // Existing callers keep limit/offset.
      assert.equal((await p.api('/jobs?limit=1&offset=1')).body[0].id, all.body[1].id);
      await p.ctx.db.query(
        `INSERT INTO jobs (id, type, status, created_by) VALUES ('11111111-1111-4111-8111-111111111111', 'platform.jobs-cleanup', 'completed', 'schedule')`,
      );
      const people = await p.api('/jobs?scheduled=false&per_page=500');
      assert.ok(people.body.every((j: any) => !j.scheduled));
      assert.equal(Number(people.headers.get('x-total-count')), total);
      const scheduled = await p.api('/jobs?scheduled=true');
      assert.deepEqual(
        scheduled.body.map((j: any) => [j.id, j.scheduled]),
        [['11111111-1111-4111-8111-111111111111', true]],
      );
      await eventually(async () => (await p.api('/jobs/11111111-1111-4111-8111-111111111111/failures/summary')).body.total_failed === 0);
    });
  });
}

for (const mode of modes) {
  describe(`WHMCS push-all items (${mode})`, runsIn(mode), () => {
    const CREDS = { identifier: 'items-identifier', secret: 'items-secret-value', accessKey: 'items-access-key' };
    let storage: Storage;
    let whmcs: WhmcsSimulator;
    let p: TestPuente;
    before(async () => {
      storage = await freshStorage(mode);
      whmcs = await startWhmcsSimulator({ ...CREDS, clients: 5 });
      p = await startPuente(
        testEnv({
          ...storage.env,
          WHMCS_API_URL: whmcs.url,
          WHMCS_API_IDENTIFIER: CREDS.identifier,
          WHMCS_API_SECRET: CREDS.secret,
          WHMCS_API_ACCESS_KEY: CREDS.accessKey,
          WHMCS_API_TIMEOUT: '5',
          WHMCS_DEFAULT_POSTCODE: '1010',
        }),
      );
    });
    after(async () => {
      await p?.close();
      await whmcs?.close();
      await storage?.dispose();
    });

    test('each customer of a push-all is an item; the ones WHMCS refused are grouped by reason', async () => {
      const add = (name: string, email: string | null, address: string | null = 'Calle 1') => addUser(p, { name, email, address });
      const ok = await add('Ana Pérez', 'ana.items@puente.test');
      const taken = await add('Luis Gómez', whmcs.clients()[0]!.email);
      const noAddress = await add('Rosa Díaz', 'rosa.items@puente.test', null);
      const start = await p.api('/api/whmcs/clients/push-all', { method: 'POST' });
      assert.equal(start.status, 200, JSON.stringify(start.body));
      const job = await waitForJob(p, start.body.job_id);
      assert.equal(job.status, 'completed', JSON.stringify(job));
      assert.equal(job.outcome, 'with_errors');
      const items = (await p.api(`/jobs/${job.id}/items`)).body;
      assert.equal(items.meta.total, 3);
      const by = new Map(items.items.map((i: any) => [i.user_id, i]));
      assert.equal((by.get(ok) as any).status, 'created');
      assert.equal((by.get(ok) as any).label, 'Ana Pérez');
      assert.equal((by.get(taken) as any).reason_code, 'whmcs.email_exists');
      assert.equal((by.get(noAddress) as any).reason_code, 'whmcs.missing_fields');
      assert.deepEqual((by.get(noAddress) as any).missing, ['address1']);
      const summary = (await p.api(`/jobs/${job.id}/failures/summary`)).body;
      assert.deepEqual(summary.groups.map((g: any) => [g.reason_code, g.count]).sort(), [
        ['whmcs.email_exists', 1],
        ['whmcs.missing_fields', 1],
      ]);
    });
  });
}
