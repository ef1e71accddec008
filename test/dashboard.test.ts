import { describe, test, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { startWisproSimulator, type WisproSimulator } from '../src/simulators/wispro/wispro.simulator.ts';
import { startWhatsAppSimulator, type WaSimDevice, type WaSimulator } from '../src/simulators/whatsapp/whatsapp.simulator.ts';
import { startWhmcsSimulator, type WhmcsSimulator } from '../src/simulators/whmcs/whmcs.simulator.ts';
import { ADMIN, eventually, freshStorage, startPuente, testEnv, waitForJob, type TestPuente } from './support/puente.ts';
import { closedAfter, launchBrowser, needsBrowser, openPage, screenshotDir } from './support/browser.ts';
import { sendBulkFile, syncWispro } from './support/fixtures.ts';

const WHMCS_CREDS = { identifier: 'ui-whmcs-identifier', secret: 'ui-whmcs-secret-value', accessKey: 'ui-whmcs-access-key' };

/**
 * A bulk file as operators write them: a header, 27 different Venezuelan mobiles in mixed formats,
 * the first one again in its national form (a repeat), and a number that is too short.
 */
const VALID = Array.from({ length: 27 }, (_, i) => `58412${1_000_000 + i}`);
const NAMES = ['Ana', 'Luis', 'María', 'José', 'Carmen', 'Pedro', 'Rosa', 'Jesús', 'Elena'];
const BULK_FILE =
  [
    'telefono|nombre|pedido',
    ...VALID.map((d, i) => `${i % 3 === 0 ? `+58 412 ${d.slice(5)}` : i % 3 === 1 ? `+${d}` : `0412-${d.slice(5)}`}|${NAMES[i % NAMES.length]}|${1001 + i}`),
    `0412 ${VALID[0]!.slice(5)}|Ana otra vez|1099`,
    '123|Nadie|9999',
  ].join('\n') + '\n';

/** The customers the WHMCS steps use: synced from Wispro, with what WHMCS requires. */
async function pushableCustomers(p: TestPuente) {
  const { body } = await p.api('/api/users?per_page=200&role=customer');
  return (body.data as any[]).filter((u) => u.email && u.phone && u.address && u.name.trim().includes(' '));
}

describe('web dashboard in a real browser', needsBrowser, () => {
  let browser: Browser;
  const shots = screenshotDir();

  /** What one test works with: a Puente, its simulators and a browser page, all its own. */
  interface Dashboard {
    p: TestPuente;
    sim: WisproSimulator;
    wa: WaSimulator;
    whmcs: WhmcsSimulator;
    page: Page;
    /** Opens a customer's dialog from the customer list. */
    openCustomer(u: { name: string; email: string }): Promise<Locator>;
    /** A simulator device named «Ventas 1», added through the API. */
    addDevice(pacing?: { messages_per_minute?: number; min_gap_ms?: number; max_gap_ms?: number }): Promise<WaSimDevice>;
  }

  /**
   * A Puente of the test's own (an empty database, its own Wispro, WhatsApp and WHMCS simulators) and
   * a browser page of its own, logged in unless `loggedIn` is false; all closed when the test ends, so
   * no test sees what another did. Only the browser process is shared.
   */
  async function dashboard(t: TestContext, opts: { loggedIn?: boolean } = {}): Promise<Dashboard> {
    const undo = closedAfter(t);
    const storage = await freshStorage('embedded', { migrated: true });
    undo.push(() => storage.dispose());
    const sim = await startWisproSimulator({ token: 'ui-token', clients: 180 });
    undo.push(() => sim.close());
    const wa = await startWhatsAppSimulator();
    undo.push(() => wa.close());
    const whmcs = await startWhmcsSimulator({ ...WHMCS_CREDS, clients: 12 });
    undo.push(() => whmcs.close());
    const p = await startPuente(
      testEnv({
        ...storage.env,
        WISPRO_API_URL: sim.url,
        WISPRO_API_TOKEN: 'ui-token',
        WHMCS_API_URL: whmcs.url,
        WHMCS_API_IDENTIFIER: WHMCS_CREDS.identifier,
        WHMCS_API_SECRET: WHMCS_CREDS.secret,
        WHMCS_API_ACCESS_KEY: WHMCS_CREDS.accessKey,
        WHMCS_API_TIMEOUT: '5',
        WHMCS_DEFAULT_CITY: 'Caracas',
        WHMCS_DEFAULT_STATE: 'Distrito Capital',
        WHMCS_DEFAULT_POSTCODE: '1010',
      }),
    );
    undo.push(() => p.close());
    const page = await openPage(browser, undo, {
      url: p.url,
      loggedIn: opts.loggedIn,
      context: { viewport: { width: 1280, height: 900 }, acceptDownloads: true },
    });
    return {
      p,
      sim,
      wa,
      whmcs,
      page,
      async openCustomer(u) {
        await page.getByRole('link', { name: 'Clientes', exact: true }).click();
        await page.getByRole('searchbox', { name: 'Buscar' }).fill(u.email);
        await page.getByRole('searchbox', { name: 'Buscar' }).press('Enter');
        await page.locator('tbody tr').filter({ hasText: u.email }).getByRole('link', { name: u.name }).click();
        const dialog = page.getByRole('dialog', { name: u.name });
        await dialog.waitFor();
        return dialog;
      },
      async addDevice(pacing = {}) {
        const device = wa.addDevice({ provider: 'simulator' });
        const created = await p.api('/devices', {
          body: { name: 'Ventas 1', provider: 'simulator', base_url: device.baseUrl, credentials: device.credentials, ...pacing },
        });
        assert.equal(created.status, 201, JSON.stringify(created.body));
        return device;
      },
    };
  }

  before(async () => {
    assert.ok(existsSync(new URL('../web/dist/index.html', import.meta.url)), 'the dashboard is built by npm install (prepare)');
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test('a wrong password shows the error; the right one opens the dashboard', async (t) => {
    const { p, page } = await dashboard(t, { loggedIn: false });
    await page.goto(p.url + '/');
    await page.getByLabel('Correo').fill(ADMIN.email);
    await page.getByLabel('Contraseña').fill('wrong-password');
    await page.getByRole('button', { name: 'Entrar', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: 'Correo o contraseña incorrectos.' }).waitFor();
    await page.screenshot({ path: join(shots, 'login.png') });
    await page.getByLabel('Contraseña').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Entrar', exact: true }).click();
    await page.getByRole('heading', { name: 'Trabajos' }).waitFor();
  });

  test('starting a Wispro sync shows live progress and the customers appear', async (t) => {
    const { p, sim, page } = await dashboard(t);
    await page.getByRole('link', { name: 'Clientes', exact: true }).click();
    await page.getByRole('button', { name: 'Sincronizar Wispro' }).click();
    await page.locator('.live-job[data-status="completed"]').waitFor({ timeout: 30_000 });
    // Named in words, not by its id.
    await page.locator('.live-job header').getByText('Sincronización de Wispro', { exact: true }).waitFor();
    // The list refreshes when the job completes; a first load may have run mid-sync, so wait for a full page.
    const rows = page.locator('tbody tr');
    await rows.nth(19).waitFor({ timeout: 10_000 });
    assert.ok((await rows.count()) >= 20, 'a page of customers is listed');
    const total = (await p.api('/api/users?per_page=1')).body.meta.total;
    assert.ok(total > 150);
    await page.getByRole('searchbox', { name: 'Buscar' }).fill(sim.clients.find((c) => c.name)!.name.split(' ')[0]!);
    await page.getByRole('searchbox', { name: 'Buscar' }).press('Enter');
    await page.screenshot({ path: join(shots, 'customers.png'), fullPage: true });
  });

  test('bulk send: the server previews the file, and with no device ready the send is refused in the page', async (t) => {
    const { p, page } = await dashboard(t);
    await page.getByRole('link', { name: 'Envío masivo', exact: true }).click();
    await page.getByRole('heading', { name: 'Envío masivo', exact: true }).waitFor();
    await page.getByText('No hay dispositivos activos y conectados').waitFor();
    await page.getByLabel('Archivo').setInputFiles({ name: 'clientes.csv', mimeType: 'text/csv', buffer: Buffer.from(BULK_FILE) });
    const preview = page.getByRole('article', { name: 'Vista previa' });
    // The server's normalisation: `0412 …` and `+58 412 …` are one number, `123` is not one.
    await preview.getByTestId('preview-count').filter({ hasText: /^27$/ }).waitFor();
    assert.equal(await preview.getByTestId('preview-invalid').textContent(), '1');
    assert.equal(await preview.getByTestId('preview-repeats').textContent(), '1');
    await preview.getByText('Se omitió la fila de encabezado.').waitFor();
    await preview
      .locator('.samples li')
      .filter({ hasText: 'Hola Ana, tu pedido 1001 ha sido procesado' })
      .filter({ hasText: `+${VALID[0]}` })
      .waitFor();
    assert.equal(await preview.locator('.samples li').count(), 5);
    await preview.locator('.invalid-samples li').filter({ hasText: '123' }).filter({ hasText: 'número inválido' }).waitFor();

    await page.getByRole('button', { name: 'Enviar', exact: true }).click();
    await page.getByRole('dialog', { name: '¿Enviar 27 mensajes?' }).getByRole('button', { name: 'Sí, enviar' }).click();
    await page.getByRole('alert').filter({ hasText: 'No hay ningún dispositivo activo para enviar' }).waitFor();
    assert.equal((await p.api('/jobs?type=messaging.bulk-send')).body.length, 0, 'no job was created');
  });

  test('devices: a simulator device added through the form is listed as connected; pause, resume and pacing edits work', async (t) => {
    const { p, wa, page } = await dashboard(t);
    const device = wa.addDevice({ provider: 'simulator' });
    await page.getByRole('link', { name: 'Dispositivos', exact: true }).click();
    await page.getByRole('heading', { name: 'Dispositivos', exact: true }).waitFor();
    await page.getByText('Agregar dispositivo').click();
    const form = page.getByRole('form', { name: 'Agregar dispositivo' });
    await form.getByLabel('Nombre').fill('Ventas 1');
    await form.getByLabel('Proveedor').selectOption('simulator');
    await form.getByLabel('URL base').fill(device.baseUrl);
    await form.getByLabel('Token', { exact: true }).fill(device.credentials.token!);
    await form.getByLabel('ID del dispositivo').fill(device.credentials.device_id!);
    await form.getByLabel('Mensajes por minuto').fill('6000');
    await form.getByLabel('Tope diario').fill('1000');
    await form.getByRole('button', { name: 'Guardar' }).click();

    const card = page.locator('article.device').filter({ hasText: 'Ventas 1' });
    await card.and(page.locator('[data-connected="true"][data-status="active"]')).waitFor();
    await card.getByText('Conectado', { exact: true }).waitFor();
    await card.getByTestId('pacing').filter({ hasText: '6000 msg/min · 1000 por día' }).waitFor();
    const [stored] = (await p.api('/devices')).body.devices;
    assert.equal(stored.provider, 'simulator');
    assert.equal(stored.connected, true);
    assert.equal(stored.credentials.device_id, device.credentials.device_id);
    assert.equal(stored.credentials.token, '********');
    assert.deepEqual([stored.pacing.messages_per_minute, stored.pacing.daily_cap], [6000, 1000]);

    await card.getByRole('button', { name: 'Pausar «Ventas 1»', exact: true }).click();
    await card.and(page.locator('[data-status="paused"]')).waitFor();
    await card.getByText('pausado por un operador', { exact: false }).waitFor();
    await card.getByRole('button', { name: 'Reanudar «Ventas 1»', exact: true }).click();
    await card.and(page.locator('[data-status="active"][data-connected="true"]')).waitFor();
    await card.getByRole('button', { name: 'Verificar ahora «Ventas 1»', exact: true }).click();
    await card.and(page.locator('[data-connected="true"]')).waitFor();

    await card.getByRole('button', { name: 'Editar' }).click();
    const edit = page.getByRole('form', { name: 'Editar dispositivo: Ventas 1' });
    assert.equal(await edit.getByLabel('ID del dispositivo').inputValue(), device.credentials.device_id, 'public credentials are shown for editing');
    assert.equal(await edit.getByLabel('Token', { exact: true }).inputValue(), '', 'secrets never come back');
    await edit.getByLabel('Tope diario').fill('');
    await edit.getByLabel('Pausa mínima entre mensajes (ms)').fill('5');
    await edit.getByLabel('Pausa máxima entre mensajes (ms)').fill('10');
    await edit.getByRole('button', { name: 'Guardar' }).click();
    await page.getByRole('status').filter({ hasText: 'Dispositivo guardado.' }).waitFor();
    await card.getByTestId('pacing').filter({ hasText: '6000 msg/min · pausa 5–10 ms' }).waitFor();
    const updated = (await p.api(`/devices/${stored.id}`)).body.device;
    assert.deepEqual([updated.pacing.daily_cap, updated.pacing.min_gap_ms, updated.pacing.max_gap_ms], [null, 5, 10], 'an emptied daily cap means no cap');
    assert.equal(updated.credentials.token, '********');
    assert.equal(updated.connected, true, 'the token was kept');
    await page.screenshot({ path: join(shots, 'devices.png'), fullPage: true });
  });

  test('bulk send: the file goes out through the simulator device and the live job ends at completed', async (t) => {
    const { wa, page, addDevice } = await dashboard(t);
    // The device as an operator leaves it on the devices page: fast, no daily cap, a short pause between messages.
    const device = await addDevice({ messages_per_minute: 6000, min_gap_ms: 5, max_gap_ms: 10 });
    await page.getByRole('link', { name: 'Envío masivo', exact: true }).click();
    await page.getByText('Dispositivos listos para enviar: 1').waitFor();
    await page.getByLabel('Archivo').setInputFiles({ name: 'clientes.csv', mimeType: 'text/csv', buffer: Buffer.from(BULK_FILE) });
    const preview = page.getByRole('article', { name: 'Vista previa' });
    await preview.getByTestId('preview-count').filter({ hasText: /^27$/ }).waitFor();
    // A new message is previewed again by the server once typing stops.
    await page.getByLabel('Mensaje').fill('Hola @valor1, tu pedido @valor2 está en camino');
    await preview.locator('.samples li').filter({ hasText: 'Hola Ana, tu pedido 1001 está en camino' }).waitFor();
    await page.getByRole('button', { name: 'Enviar', exact: true }).click();
    await page.getByRole('dialog', { name: '¿Enviar 27 mensajes?' }).getByRole('button', { name: 'Sí, enviar' }).click();
    const live = page.locator('.live-job[data-status="completed"]');
    await live.waitFor({ timeout: 60_000 });
    await live.getByText('Enviados 27 · Fallidos 1 · Total 28').waitFor();
    // One invalid number did not go out: the send says so, with the final figures.
    await live.locator('mark[data-outcome="with_errors"]').getByText('Completado con errores').waitFor();
    await live.getByText('100.0%').waitFor();
    await live.getByRole('button', { name: 'Resultados (CSV)' }).waitFor();
    assert.equal(await page.getByRole('alert').count(), 0, 'no error is shown');

    assert.equal(wa.messages.length, 27, 'each valid number got one message');
    assert.deepEqual(wa.duplicates(), []);
    assert.deepEqual(wa.messages.map((m) => m.to).sort(), [...VALID].sort());
    assert.ok(wa.messages.every((m) => m.deviceId === device.id));
    const ana = wa.messages.find((m) => m.to === VALID[0]);
    assert.equal(ana?.text, 'Hola Ana, tu pedido 1001 está en camino');
    await page.screenshot({ path: join(shots, 'bulk-send.png'), fullPage: true });
  });

  test('the jobs page lists the sync and the bulk send as completed, with the results CSV', async (t) => {
    const { p, page, addDevice } = await dashboard(t);
    // A Wispro sync and the bulk file sent through a device, both finished.
    await syncWispro(p);
    await addDevice({ messages_per_minute: 6000, min_gap_ms: 5, max_gap_ms: 10 });
    assert.equal((await waitForJob(p, await sendBulkFile(p, 'clientes.csv', BULK_FILE, 'Hola @valor1, tu pedido @valor2 está en camino'))).status, 'completed');
    await page.getByRole('link', { name: 'Trabajos', exact: true }).click();
    await page
      .locator('tbody tr')
      .filter({ hasText: 'Sincronización de Wispro' })
      .filter({ has: page.locator('mark[data-status="completed"]') })
      .first()
      .waitFor();
    const bulk = page.locator('tbody tr').filter({ hasText: 'Envío masivo de WhatsApp' }).filter({ hasText: 'clientes.csv' });
    await bulk.locator('mark[data-status="completed"][data-outcome="with_errors"]').waitFor();
    await bulk.getByText('Completado con errores').waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), bulk.getByRole('button', { name: 'Resultados (CSV) de «clientes.csv»' }).click()]);
    const csv = readFileSync((await download.path())!, 'utf8')
      .replace(/^\uFEFF/, '')
      .trim()
      .split('\n');
    assert.match(csv[0]!, /^n\.º,teléfono,teléfono en el archivo,resultado,.*,dispositivo,valores,motivo/, "headers in the dashboard's language");
    assert.equal(csv.length, 1 + 28, 'one line per recipient, the invalid number included');
    // Sent, and maybe already delivered or read by the time the file is read.
    assert.equal(csv.filter((l) => ['enviado', 'entregado', 'leído'].includes(l.split(',')[3]!)).length, 27);
    assert.equal(csv.filter((l) => l.split(',')[3] === 'falló').length, 1);
    assert.ok(
      csv.some((l) => l.includes(',Ventas 1,Ana | 1001,')),
      "the device by name and the recipient's values",
    );
    await page.screenshot({ path: join(shots, 'jobs.png'), fullPage: true });
  });

  test('the jobs page pauses, resumes and cancels a running bulk send', async (t) => {
    const { p, page, addDevice } = await dashboard(t);
    await addDevice();
    const [d] = (await p.api('/devices')).body.devices;
    // One message a second, so the job is still running while the buttons are pressed.
    assert.equal((await p.api(`/devices/${d.id}`, { method: 'PATCH', body: { messages_per_minute: 60, min_gap_ms: 0, max_gap_ms: 0 } })).status, 200);
    const form = new FormData();
    form.append('message', 'Hola @valor1');
    form.append('file', new Blob([VALID.map((n, i) => `+${n}|${NAMES[i % NAMES.length]}`).join('\n')]), 'lento.csv');
    const res = await fetch(`${p.url}/messages/send-bulk-file`, { method: 'POST', headers: { authorization: `Bearer ${p.token}` }, body: form });
    assert.equal(res.status, 200);
    await page.getByRole('link', { name: 'Clientes', exact: true }).click();
    await page.getByRole('link', { name: 'Trabajos', exact: true }).click();
    const row = page.locator('tbody tr').filter({ hasText: 'lento.csv' });
    await row.locator('mark[data-status="processing"], mark[data-status="pending"]').waitFor();
    // A running send says how fast it goes and how long is left.
    await row.locator('mark[data-status="processing"]').waitFor();
    await row
      .getByTestId('rate')
      .filter({ hasText: /\d+\/min · (faltan ~|calculando)/ })
      .waitFor();
    await row.getByRole('button', { name: 'Pausar «lento.csv»' }).click();
    await row.locator('mark[data-status="paused"]').waitFor();
    await row.getByRole('button', { name: 'Reanudar «lento.csv»' }).click();
    await row.locator('mark[data-status="processing"], mark[data-status="pending"]').waitFor();
    await row.getByRole('button', { name: 'Cancelar «lento.csv»' }).click();
    const confirm = page.getByRole('dialog', { name: '¿Cancelar «lento.csv»?' });
    // The safe answer first: "No" keeps the job running.
    await confirm.getByRole('button', { name: 'No, seguir' }).click();
    await confirm.waitFor({ state: 'hidden' });
    await row.locator('mark[data-status="processing"], mark[data-status="pending"]').waitFor();
    await row.getByRole('button', { name: 'Cancelar «lento.csv»' }).click();
    await confirm.getByRole('button', { name: 'Sí, cancelar' }).click();
    await row.locator('mark[data-status="cancelled"]').waitFor();
    assert.equal(await row.getByRole('button', { name: 'Pausar' }).count(), 0);
    const job = (await p.api('/jobs?type=messaging.bulk-send')).body.find((j: any) => j.file_name === 'lento.csv');
    assert.equal(job.status, 'cancelled');
    assert.ok(job.progress.sent < VALID.length, 'it stopped before the end');
    // Retry once the stopped attempt has let go of the job; the retry is a new row that says whose retry it is.
    await eventually(
      async () => (await p.ctx.db.query<{ lease: string | null }>('SELECT lease FROM jobs WHERE id = $1', [job.id]))[0]?.lease === null,
      30_000,
      'the cancelled attempt to let go',
    );
    await page.getByRole('link', { name: 'Clientes', exact: true }).click();
    await page.getByRole('link', { name: 'Trabajos', exact: true }).click();
    await row.getByRole('button', { name: 'Reintentar' }).click();
    await page
      .locator('tbody tr')
      .filter({ hasText: `reintento de ${job.id.slice(0, 8)}` })
      .waitFor();
    assert.equal(await row.getByRole('button', { name: 'Reintentar' }).count(), 0, 'a job is retried once');
    const retry = (await p.api('/jobs?type=messaging.bulk-send')).body.find((j: any) => j.retry_of === job.id);
    await p.api(`/jobs/${retry.id}/cancel`, { method: 'POST' });
  });

  test('customers: pushing a customer to WHMCS shows the synced state; a duplicate email offers the link', async (t) => {
    const { p, whmcs, page, openCustomer } = await dashboard(t);
    await syncWispro(p);
    const [first, second] = await pushableCustomers(p);
    assert.ok(first && second, 'the Wispro sync brought customers WHMCS can take');

    const dialog = await openCustomer(first);
    const state = dialog.getByTestId('whmcs-state');
    await state.and(page.locator('[data-synced="false"]')).waitFor();
    await state.getByText('Sin vincular').waitFor();
    await dialog.getByRole('button', { name: 'Enviar a WHMCS' }).click();
    await state.and(page.locator('[data-synced="true"]')).waitFor();
    await dialog.getByRole('status').filter({ hasText: 'Cliente enviado a WHMCS.' }).waitFor();
    const shown = Number((await state.getByTestId('whmcs-id').textContent())!.replace('#', ''));
    const created = whmcs.findByEmail(first.email);
    assert.ok(created, 'the WHMCS simulator has the client');
    assert.equal(created.id, shown, 'the page shows the id WHMCS gave');
    const check = await p.api(`/api/whmcs/clients/check/${first.id}`, { method: 'POST' });
    assert.equal(check.body.synced, true);
    assert.equal(check.body.whmcs_id, shown);
    await state.getByText('sincronizado', { exact: true }).waitFor();
    await dialog.getByRole('button', { name: 'Actualizar en WHMCS' }).waitFor();
    await page.screenshot({ path: join(shots, 'customer-whmcs.png') });
    await dialog.getByRole('button', { name: 'Cerrar' }).click();
    await dialog.waitFor({ state: 'detached' });
    // The list shows the link too.
    await page
      .locator('tbody tr')
      .filter({ hasText: first.email })
      .getByTestId('whmcs-link')
      .filter({ hasText: `#${shown}` })
      .waitFor();

    // Someone created the second customer in WHMCS by hand: the push is refused and the page offers the link.
    const existing = whmcs.addClient({ email: second.email, firstname: 'Ya', lastname: 'Existe' });
    const dialog2 = await openCustomer(second);
    const state2 = dialog2.getByTestId('whmcs-state');
    await state2.and(page.locator('[data-synced="false"]')).waitFor();
    await dialog2.getByRole('button', { name: 'Enviar a WHMCS' }).click();
    await dialog2
      .getByRole('alert')
      .filter({ hasText: `WHMCS ya tiene un cliente con ese correo (#${existing.id})` })
      .waitFor();
    await dialog2.getByRole('button', { name: `Vincular con el cliente WHMCS #${existing.id}` }).click();
    await state2.and(page.locator('[data-synced="true"]')).waitFor();
    await state2
      .getByTestId('whmcs-id')
      .filter({ hasText: `#${existing.id}` })
      .waitFor();
    assert.equal(whmcs.clients().filter((c) => c.email.toLowerCase() === second.email.toLowerCase()).length, 1, 'no duplicate was created');
    await dialog2.getByRole('button', { name: 'Desvincular' }).click();
    await state2.and(page.locator('[data-synced="false"]')).waitFor();
    await state2.getByText('Sin vincular').waitFor();
    assert.equal((await p.api(`/api/whmcs/clients/check/${second.id}`, { method: 'POST' })).body.whmcs_id, null);
    await dialog2.getByRole('button', { name: 'Cerrar' }).click();
  });

  test('the WHMCS page shows the stats and the log of the push, filtered by status', async (t) => {
    const { p, whmcs, page } = await dashboard(t);
    // Through the API, what the customer dialog does: one customer pushed; another refused (WHMCS has its
    // email), linked to the WHMCS client by hand, then unlinked.
    await syncWispro(p);
    const [pushed, second] = await pushableCustomers(p);
    assert.ok(pushed && second, 'the Wispro sync brought customers WHMCS can take');
    const push1 = await p.api(`/api/whmcs/clients/push/${pushed.id}`, { body: { force_create: false } });
    assert.equal(push1.status, 200, JSON.stringify(push1.body));
    const existing = whmcs.addClient({ email: second.email, firstname: 'Ya', lastname: 'Existe' });
    assert.equal((await p.api(`/api/whmcs/clients/push/${second.id}`, { body: { force_create: false } })).status, 409);
    const link = await p.api('/api/whmcs/sync/link', { body: { entity_type: 'client', laravel_id: second.id, whmcs_id: existing.id } });
    assert.equal(link.status, 200, JSON.stringify(link.body));
    const unlink = await p.api('/api/whmcs/sync/unlink', { body: { entity_type: 'client', laravel_id: second.id } });
    assert.equal(unlink.status, 200, JSON.stringify(unlink.body));
    const whmcsId = whmcs.findByEmail(pushed.email)!.id;
    await page.getByRole('link', { name: 'WHMCS', exact: true }).click();
    await page.getByRole('heading', { name: 'WHMCS', exact: true }).waitFor();
    await page.getByTestId('total-synced').filter({ hasText: /^1$/ }).waitFor();
    const logs = page.getByRole('table', { name: 'Registros' });
    // Operations and actions in words, not WHMCS's identifiers.
    const push = logs
      .locator('tbody tr')
      .filter({ hasText: 'crear el cliente en WHMCS' })
      .filter({ hasText: `#${whmcsId}` });
    await push.waitFor();
    await push.getByText('Envío a WHMCS', { exact: true }).waitFor();
    await push.getByText('Correcto').waitFor();
    await logs.locator('tbody tr').filter({ hasText: 'vincular con un cliente de WHMCS' }).first().waitFor();
    await logs.locator('tbody tr').filter({ hasText: 'quitar el vínculo' }).first().waitFor();
    assert.equal(await logs.getByText('AddClient', { exact: true }).count(), 0);
    await page.getByRole('button', { name: 'Probar conexión' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: /Conexión correcta: WHMCS 8\./ })
      .waitFor();

    await page.getByLabel('Estado').selectOption('error');
    await push.waitFor({ state: 'detached' });
    const statuses = await page.locator('table[aria-label="Registros"] tbody mark').allTextContents();
    assert.ok(
      statuses.every((s) => s === 'Error'),
      `only errors are listed: ${statuses.join(', ')}`,
    );
    await page.getByLabel('Estado').selectOption('success');
    await push.waitFor();
    await page.screenshot({ path: join(shots, 'whmcs.png'), fullPage: true });
  });

  test('every page renders, in Spanish and in English, on a phone-sized screen too', async (t) => {
    const { p, page, addDevice } = await dashboard(t);
    // A device ready to send and a bulk send in the jobs list.
    await addDevice({ messages_per_minute: 6000, min_gap_ms: 0, max_gap_ms: 0 });
    const lento = VALID.map((n, i) => `+${n}|${NAMES[i % NAMES.length]}`).join('\n');
    assert.equal((await waitForJob(p, await sendBulkFile(p, 'lento.csv', lento, 'Hola @valor1'))).status, 'completed');
    for (const [link, shot] of [
      ['Envío masivo', null],
      ['Dispositivos', null],
      ['WHMCS', null],
      ['Zoho', null],
      ['Clientes de sincronización', 'sync-clients'],
    ] as const) {
      await page.getByRole('link', { name: link, exact: true }).click();
      await page.getByRole('heading', { name: link, exact: true }).waitFor();
      if (shot) await page.screenshot({ path: join(shots, `${shot}.png`), fullPage: true });
    }
    await page.getByLabel('Idioma').selectOption('en');
    await page.getByRole('link', { name: 'Customers', exact: true }).waitFor();
    await page.setViewportSize({ width: 390, height: 844 });
    for (const [link, ready] of [
      ['Customers', 'Sync Wispro'],
      ['Bulk send', 'Devices ready to send: 1'],
      ['Devices', 'Ventas 1'],
      ['WHMCS', 'Test connection'],
      ['Jobs', 'lento.csv'],
    ] as const) {
      // On a phone the menu is one button until opened.
      await page.getByRole('link', { name: link, exact: true }).waitFor({ state: 'hidden', timeout: 5000 });
      await page.getByRole('button', { name: 'Menu', exact: true }).click();
      await page.getByRole('link', { name: link, exact: true }).click();
      await page.getByRole('heading', { name: link, exact: true }).waitFor();
      await page.getByText(ready).first().waitFor();
      const width = await page.evaluate<number>('document.documentElement.scrollWidth');
      assert.ok(width <= 390, `${link} fits a 390 px screen (${width} px)`);
    }
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.getByLabel('Language').selectOption('es');
  });

  test('logging out returns to the login form', async (t) => {
    const { page } = await dashboard(t);
    await page.getByRole('button', { name: 'Cerrar sesión' }).click();
    await page.getByRole('button', { name: 'Entrar', exact: true }).waitFor();
  });
});
