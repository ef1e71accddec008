import { describe, test, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startWhatsAppSimulator, type WaSimulator } from '../src/simulators/whatsapp/whatsapp.simulator.ts';
import { startWisproSimulator, type WisproSimulator } from '../src/simulators/wispro/wispro.simulator.ts';
import { startZohoSimulator } from '../src/simulators/zoho/zoho.simulator.ts';
import { ADMIN, eventually, freshStorage, startPuente, testEnv, waitForJob, type TestPuente } from './support/puente.ts';
import { closedAfter, launchBrowser, needsBrowser, openPage, screenshotDir } from './support/browser.ts';
import { sendBulkFile, syncWispro } from './support/fixtures.ts';
import { seriousViolations } from './support/axe.ts';

/** Ten customers, three of them without WhatsApp, and one number that is not a number. */
const NUMBERS = Array.from({ length: 10 }, (_, i) => `58414${3_000_000 + i}`);
const NO_WHATSAPP = NUMBERS.slice(0, 3);
const FILE = ['telefono|nombre|factura', ...NUMBERS.map((n, i) => `+${n}|Cliente ${i}|F-${700 + i}`), '99|Nadie|F-0'].join('\n') + '\n';
/** What a person should never read: job types, engine states, WHMCS actions and outcomes as the code spells them. */
const RAW =
  /\b(messaging\.bulk-send|wispro\.sync|whmcs\.push-all|zoho\.(code|product)-sync|platform\.jobs-cleanup|with_errors|not_on_whatsapp|WORKING|SCAN_QR_CODE|AddClient|UpdateClient|GetClients(Details)?)\b/;
const SPANISH_DATE = /\d{1,2} (ene|feb|mar|abr|may|jun|jul|ago|sept?|oct|nov|dic)\.? \d{4}/;
const ENGLISH_DATE = /\d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sept?|Oct|Nov|Dec) \d{4}/;
const COMMA_FILE = ['telefono,nombre', ...NUMBERS.map((n, i) => `0414${n.slice(5)},Cliente ${i}`)].join('\n') + '\n';

describe("the dashboard answers an operator's questions (safe, honest, says why)", needsBrowser, () => {
  let browser: Browser;
  const shots = screenshotDir();

  /** What one test works with: a Puente, its simulators and a browser page, all its own. */
  interface Operator {
    p: TestPuente;
    wa: WaSimulator;
    wispro: WisproSimulator;
    page: Page;
    axeClean(what: string): Promise<void>;
    /** Follows a menu link and waits for its page. */
    go(link: string): Promise<void>;
    chooseFile(name: string, content: string): Promise<void>;
  }

  /**
   * A Puente of the test's own (an empty database; its own WhatsApp, Wispro and Zoho simulators; one
   * connected device «Ventas 1», three numbers without WhatsApp) and a browser page of its own, logged
   * in unless `loggedIn` is false; all closed when the test ends. Only the browser process is shared.
   */
  async function operator(t: TestContext, opts: { loggedIn?: boolean } = {}): Promise<Operator> {
    const undo = closedAfter(t);
    const storage = await freshStorage('embedded', { migrated: true });
    undo.push(() => storage.dispose());
    const wa = await startWhatsAppSimulator();
    undo.push(() => wa.close());
    const wispro = await startWisproSimulator({ token: 'op-token', clients: 120 });
    undo.push(() => wispro.close());
    const zohoCreds = { clientId: '1000.OPERATOR', clientSecret: 'op-zoho-secret', refreshToken: '1000.op-refresh' };
    const zoho = await startZohoSimulator({ ...zohoCreds, initialCode: 'PANEL1', items: 30 });
    undo.push(() => zoho.close());
    const p = await startPuente(
      testEnv({
        ...storage.env,
        MESSAGING_DUPLICATE_WINDOW_MINUTES: '60',
        WISPRO_API_URL: wispro.url,
        WISPRO_API_TOKEN: 'op-token',
        ZOHO_ACCOUNTS_URL: zoho.accountsUrl,
        ZOHO_API_URL: zoho.apiUrl,
        ZOHO_CLIENT_ID: zohoCreds.clientId,
        ZOHO_CLIENT_SECRET: zohoCreds.clientSecret,
        ZOHO_REFRESH_TOKEN: zohoCreds.refreshToken,
        ZOHO_CREATOR_OWNER: 'puente-owner',
        ZOHO_CREATOR_APP: 'puente-app',
        ZOHO_CREATOR_REPORT: 'Access_Codes',
        ZOHO_ORGANIZATION_ID: '60000000001',
        ZOHO_SYNC_INTERVAL_MINUTES: '0',
      }),
    );
    undo.push(() => p.close());
    const dev = wa.addDevice({ provider: 'simulator' });
    const created = await p.api('/devices', {
      body: { name: 'Ventas 1', provider: 'simulator', base_url: dev.baseUrl, credentials: dev.credentials, messages_per_minute: 600 },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    for (const n of NO_WHATSAPP) wa.notOnWhatsapp.add(n);
    const page = await openPage(browser, undo, { url: p.url, loggedIn: opts.loggedIn, context: { viewport: { width: 1366, height: 800 } } });
    return {
      p,
      wa,
      wispro,
      page,
      async axeClean(what) {
        const found = await seriousViolations(page);
        assert.deepEqual(found, [], `${what}: no serious or critical accessibility violations\n${JSON.stringify(found, null, 2)}`);
      },
      async go(link) {
        await page.getByRole('link', { name: link, exact: true }).click();
        await page.getByRole('heading', { level: 1, name: link, exact: true }).waitFor();
      },
      chooseFile: (name, content) => page.getByLabel('Archivo').setInputFiles({ name, mimeType: 'text/csv', buffer: Buffer.from(content) }),
    };
  }

  /** The bulk file sent through the API and finished: 7 sent, 3 without WhatsApp, 1 not a number. */
  async function sentFile(p: TestPuente) {
    const job = await waitForJob(p, await sendBulkFile(p, 'clientes.csv', FILE, 'Hola @valor1, su factura @valor2 está lista'));
    assert.equal(job.status, 'completed');
  }

  /**
   * What a Puente in use holds: customers synced from Wispro, a bulk send with failures, one where
   * nothing went out, Zoho products.
   */
  async function inUse({ p, wa }: Operator) {
    await syncWispro(p);
    await sentFile(p);
    const lost = ['584145550001', '584145550002'];
    for (const n of lost) wa.notOnWhatsapp.add(n);
    const nobody = await waitForJob(p, await sendBulkFile(p, 'nadie.csv', lost.map((n) => `+${n}|Sin WhatsApp`).join('\n'), 'Hola @valor1'));
    assert.equal(nobody.status, 'completed');
    const products = await p.api('/api/products/sync', { body: {} });
    assert.equal(products.status, 200, JSON.stringify(products.body));
    assert.equal((await waitForJob(p, products.body.job_id)).status, 'completed');
  }

  before(async () => {
    assert.ok(existsSync(new URL('../web/dist/index.html', import.meta.url)), 'the dashboard is built by npm install (prepare)');
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test('the login page has a language menu, a title and no serious accessibility problem', async (t) => {
    const { p, page, axeClean } = await operator(t, { loggedIn: false });
    await page.goto(p.url + '/');
    await page.getByRole('heading', { level: 1, name: 'Puente' }).waitFor();
    assert.equal(await page.title(), 'Iniciar sesión · Puente');
    await page.getByLabel('Idioma').selectOption('en');
    await page.getByLabel('Password').waitFor();
    await axeClean('login (en)');
    await page.getByLabel('Language').selectOption('es');
    await page.getByLabel('Correo').fill(ADMIN.email);
    await page.getByLabel('Contraseña').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Entrar', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Trabajos' }).waitFor();
    await eventually(async () => (await page.title()) === 'Trabajos · Puente', 5000, 'the page title');
  });

  test('a comma-separated file is recognised in the preview and cannot be sent; an @valorN without a column is a warning', async (t) => {
    const { page, go, chooseFile } = await operator(t);
    await go('Envío masivo');
    await page.getByText('Dispositivos listos para enviar: 1').waitFor();
    await chooseFile('comas.csv', COMMA_FILE);
    const preview = page.getByRole('article', { name: 'Vista previa' });
    await preview.getByRole('alert').filter({ hasText: 'El archivo parece separado por «,»' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Enviar', exact: true }).isDisabled(), true, 'sending is not offered');
    await page.screenshot({ path: join(shots, 'bulk-separator.png'), fullPage: true });

    await chooseFile('clientes.csv', FILE);
    await preview.getByTestId('preview-count').filter({ hasText: /^10$/ }).waitFor();
    await page.getByLabel('Mensaje').fill('Hola @valor1, su factura @valor2 vence el @valor3');
    await preview.getByRole('alert').filter({ hasText: 'El mensaje usa @valor3, pero el archivo solo tiene 2 columna(s)' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Enviar', exact: true }).isEnabled(), true, 'a missing column is a warning, not a block');
    await page.getByLabel('Mensaje').fill('Hola @valor1, su factura @valor2 está lista');
    await preview.getByRole('alert').waitFor({ state: 'detached' });
  });

  test('a send asks first; the button is disabled while it is created; sending the same file again shows the earlier job and «send anyway»', async (t) => {
    const { p, page, go, chooseFile, axeClean } = await operator(t);
    // The file chosen and its message written.
    await go('Envío masivo');
    await page.getByText('Dispositivos listos para enviar: 1').waitFor();
    await chooseFile('clientes.csv', FILE);
    const preview = page.getByRole('article', { name: 'Vista previa' });
    await preview.getByTestId('preview-count').filter({ hasText: /^10$/ }).waitFor();
    await page.getByLabel('Mensaje').fill('Hola @valor1, su factura @valor2 está lista');
    await preview.locator('.samples li').filter({ hasText: 'Hola Cliente 0, su factura F-700 está lista' }).waitFor();
    // The upload is held until the button has been seen disabled.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let holding = true;
    await page.route('**/messages/send-bulk-file', async (route) => {
      if (holding) await held;
      await route.continue();
    });
    await page.getByRole('button', { name: 'Enviar', exact: true }).click();
    const confirm = page.getByRole('dialog', { name: '¿Enviar 10 mensajes?' });
    await confirm.getByText('Se enviarán 10 mensajes con 1 dispositivo. Tiempo estimado: menos de un minuto.').waitFor();
    await axeClean('send confirmation');
    await confirm.getByRole('button', { name: 'Sí, enviar' }).click();
    const creating = page.getByRole('button', { name: 'Creando el envío…' });
    await creating.waitFor();
    assert.equal(await creating.isDisabled(), true, 'a second click cannot send twice');
    holding = false;
    release();
    const live = page.locator('.live-job[data-status="completed"]');
    await live.waitFor({ timeout: 60_000 });
    // 7 went out, 3 numbers have no WhatsApp and 1 is not a number: not a plain "Completado".
    await live.locator('mark[data-outcome="with_errors"]').getByText('Completado con errores').waitFor();
    await live.getByText('Enviados 7 · Fallidos 4 · Total 11').waitFor();
    await live.getByText('100.0%').waitFor();
    assert.equal(await live.getByText(/Procesando chunk/).count(), 0, 'a finished job no longer says it is processing');

    // The same file and message again: the preview warns, the server refuses, the page offers to send anyway.
    await chooseFile('clientes-otra-vez.csv', FILE);
    await page.getByTestId('duplicate-preview').filter({ hasText: '«clientes.csv»' }).waitFor();
    await page.getByRole('button', { name: 'Enviar', exact: true }).click();
    await page.getByRole('dialog', { name: '¿Enviar 10 mensajes?' }).getByRole('button', { name: 'Sí, enviar' }).click();
    const duplicate = page.getByTestId('duplicate-send');
    await duplicate.filter({ hasText: /ya se envió hace \d+ min \(trabajo «clientes\.csv»\)/ }).waitFor();
    const jobs = async () => (await p.api('/jobs?type=messaging.bulk-send')).body as any[];
    assert.equal((await jobs()).length, 1, 'the second send was not created');
    await page.screenshot({ path: join(shots, 'bulk-duplicate.png'), fullPage: true });
    await duplicate.getByRole('button', { name: 'Enviar de todos modos' }).click();
    await eventually(async () => (await jobs()).length === 2, 10_000, 'the confirmed send');
    await page.locator('.live-job[data-status="completed"]').waitFor({ timeout: 60_000 });
  });

  test('a job completed with errors: its failures are grouped by reason and open to the rows, with values and device', async (t) => {
    const { p, page, go, axeClean } = await operator(t);
    await sentFile(p);
    await go('Trabajos');
    const row = page.locator('tbody tr').filter({ hasText: 'clientes.csv' }).filter({ hasNotText: 'otra-vez' });
    await row.getByText('Completado con errores').waitFor();
    await row.getByRole('button', { name: 'Ver fallos de «clientes.csv»' }).click();
    const failures = page.getByRole('article', { name: 'Fallos de «clientes.csv»' });
    const noWa = failures.locator('details[data-reason="messaging.not_on_whatsapp"]');
    await noWa.getByText('3 números sin WhatsApp').waitFor();
    // One of a kind is said in the singular.
    await failures.locator('details[data-reason="messaging.invalid_number"]').getByText('1 número inválido', { exact: true }).waitFor();
    await noWa.locator('summary').click();
    const rows = noWa.locator('tbody tr');
    await rows.nth(2).waitFor();
    assert.equal(await rows.count(), 3);
    await rows
      .filter({ hasText: `+${NO_WHATSAPP[0]}` })
      .filter({ hasText: 'Cliente 0 · F-700' })
      .filter({ hasText: 'Ventas 1' })
      .waitFor();
    const reasonCell = rows.first().locator('td[data-label="Motivo"] small');
    assert.equal(await reasonCell.getAttribute('data-reason'), 'messaging.not_on_whatsapp');
    assert.equal((await reasonCell.innerText()).trim(), 'Número sin WhatsApp');
    // The server's own words stay at hand (a tooltip) but are not what the row says.
    const serverWords = await reasonCell.getAttribute('title');
    assert.ok(serverWords, 'the server gave its words for the failure');
    await axeClean('jobs page with failures open');
    await page.screenshot({ path: join(shots, 'job-failures.png'), fullPage: true });

    // In English the reasons are English, by their code, not the server's words.
    await page.getByLabel('Idioma').selectOption('en');
    const failuresEn = page.getByRole('article', { name: 'Failures of “clientes.csv”' });
    const noWaEn = failuresEn.locator('details[data-reason="messaging.not_on_whatsapp"]');
    await noWaEn.getByText('3 numbers without WhatsApp').waitFor();
    await failuresEn.locator('details[data-reason="messaging.invalid_number"]').getByText('1 invalid number', { exact: true }).waitFor();
    if ((await noWaEn.getAttribute('open')) === null) await noWaEn.locator('summary').click();
    const reasonEn = noWaEn.locator('tbody tr').first().locator('td[data-label="Reason"] small');
    await reasonEn.waitFor();
    assert.equal((await reasonEn.innerText()).trim(), 'Number without WhatsApp');
    // biome-ignore lint/performance/useDomNodeTextContent: Playwright's innerText, the text a reader sees
    const shown = await failuresEn.innerText();
    assert.ok(!shown.includes(serverWords), `the server's words (${serverWords}) are not shown in English`);
    assert.doesNotMatch(shown, /números|inválido|sin WhatsApp/, 'no Spanish reasons in the English view');
    await axeClean('jobs page with failures open (en)');
    await page.getByLabel('Language').selectOption('es');
    await failures.waitFor();
  });

  test('the jobs list is live: a job started elsewhere appears without reload; filters by type and status; scheduled runs hidden by default', async (t) => {
    const { p, page, go } = await operator(t);
    await sentFile(p);
    await go('Trabajos');
    const jobRows = page.getByRole('table', { name: 'Trabajos' }).locator('tbody tr');
    await jobRows.filter({ hasText: 'clientes.csv' }).locator('mark[data-status="completed"]').waitFor();
    const before = await jobRows.count();
    const started = await p.api('/api/users/sync-wispro-all', { method: 'POST' });
    assert.equal(started.status, 200, JSON.stringify(started.body));
    const sync = jobRows.filter({ hasText: 'Sincronización de Wispro' });
    await sync.first().waitFor({ timeout: 15_000 });
    await sync.locator('mark[data-status="completed"]').waitFor({ timeout: 30_000 });
    // Its counters are words, not symbols.
    await sync.getByText(/Creados \d+ · Actualizados \d+ · Sin cambios \d+ · Omitidos \d+ · Errores \d+/).waitFor();
    assert.equal(await jobRows.count(), before + 1);

    await page.getByLabel('Tipo').selectOption('wispro.sync');
    await eventually(async () => (await jobRows.count()) === 1, 10_000, 'only the sync listed');
    await page.getByLabel('Tipo').selectOption('');
    await page.getByLabel('Estado').selectOption('cancelled');
    await page.getByText('Nada por aquí todavía.').waitFor();
    await page.getByLabel('Estado').selectOption('');

    const count = async (q: string) => Number((await p.api(`/jobs?per_page=1${q}`)).headers.get('x-total-count'));
    const people = await count('&scheduled=false');
    await p.ctx.db.query(
      `INSERT INTO jobs (id, type, status, created_by, progress) VALUES (gen_random_uuid(), 'zoho.product-sync', 'completed', 'schedule', '{}')`,
    );
    assert.equal(await count('&scheduled=true'), (await count('')) - people, 'the new run is a scheduled one');
    await page
      .getByTestId('jobs-total')
      .filter({ hasText: `${people} trabajos` })
      .waitFor();
    assert.equal(await jobRows.filter({ hasText: 'Sincronización de productos de Zoho' }).count(), 0, 'housekeeping is hidden');
    await page.getByLabel('Mostrar ejecuciones programadas').check();
    await jobRows.filter({ hasText: 'Sincronización de productos de Zoho' }).filter({ hasText: 'programado' }).waitFor();
    await page.getByLabel('Mostrar ejecuciones programadas').uncheck();
  });

  test('a send where nothing went out says «Falló» with its figures, in the live list', async (t) => {
    const { p, wa, page, go } = await operator(t);
    await go('Trabajos');
    const jobRows = page.getByRole('table', { name: 'Trabajos' }).locator('tbody tr');
    const lost = ['584145550001', '584145550002'];
    for (const n of lost) wa.notOnWhatsapp.add(n);
    const form = new FormData();
    form.append('message', 'Hola @valor1');
    form.append('file', new Blob([lost.map((n) => `+${n}|Sin WhatsApp`).join('\n')]), 'nadie.csv');
    const res = await fetch(`${p.url}/messages/send-bulk-file`, { method: 'POST', headers: { authorization: `Bearer ${p.token}` }, body: form });
    assert.equal(res.status, 200, await res.text());
    const row = jobRows.filter({ hasText: 'nadie.csv' });
    await row.locator('mark[data-status="completed"][data-outcome="failed"]').getByText('Falló', { exact: true }).waitFor({ timeout: 30_000 });
    await row.getByText('100.0% · Enviados 0 · Fallidos 2 · Total 2').waitFor();
    assert.equal(await row.getByText('Completado', { exact: true }).count(), 0, 'not a plain «Completado»');
    await row.getByRole('button', { name: 'Ver fallos de «nadie.csv»' }).waitFor();
  });

  test('customers search as you type, say loading apart from no results, and count; the customer dialog without WHMCS; devices that fail their check say what to fix', async (t) => {
    const { p, wa, wispro, page, go, axeClean } = await operator(t);
    await syncWispro(p);
    await go('Clientes');
    const search = page.getByRole('searchbox', { name: 'Buscar' });
    await page
      .getByTestId('customers-total')
      .filter({ hasText: /^\d+ clientes$/ })
      .waitFor();
    const someone = wispro.clients.find((c) => c.name && c.email)!;
    await search.pressSequentially(someone.email!.slice(0, 12), { delay: 20 }); // no Enter: typing is enough
    await page.getByRole('table', { name: 'Clientes' }).getByText(someone.name).first().waitFor();
    await page
      .getByTestId('customers-total')
      .filter({ hasText: /^(1 cliente coincide|(0|[2-9]|\d{2,}) clientes coinciden) con/ })
      .waitFor();
    await search.fill('zzz-nadie-se-llama-asi');
    await page.getByTestId('no-results').filter({ hasText: 'Ningún cliente coincide con «zzz-nadie-se-llama-asi»' }).waitFor();

    // WHMCS is not configured here: the dialog says so in the customer's terms, no setting names, buttons kept.
    await search.fill(someone.email!);
    await page.getByRole('table', { name: 'Clientes' }).getByRole('link', { name: someone.name }).first().click();
    const dialog = page.getByRole('dialog', { name: someone.name });
    await dialog.getByRole('alert').filter({ hasText: 'pida a un administrador' }).waitFor();
    assert.doesNotMatch(await dialog.innerText(), /WHMCS_|_API_/, 'no environment variable names for an operator');
    assert.equal(await dialog.getByRole('button', { name: 'Enviar a WHMCS' }).isVisible(), true, 'the buttons stay');
    await axeClean('customer dialog');
    await dialog.getByRole('button', { name: 'Cerrar' }).click();
    await dialog.waitFor({ state: 'detached' });

    const down = wa.addDevice({ provider: 'simulator', connected: false });
    const added = await p.api('/devices', { body: { name: 'Caja 2', provider: 'simulator', base_url: down.baseUrl, credentials: down.credentials } });
    assert.equal(added.status, 201);
    await go('Dispositivos');
    const card = page.locator('article.device').filter({ hasText: 'Caja 2' });
    await card.getByTestId('fix-hint').filter({ hasText: 'escanee el código QR' }).waitFor();
    await card
      .getByTestId('connection-state')
      .filter({ hasText: /^desconectado · / })
      .waitFor();
    await p.api(`/devices/${added.body.device.id}`, { method: 'DELETE' });
    // A wrong key: the hint says to check the credentials.
    const keyed = wa.addDevice({ provider: 'simulator' });
    const wrongKey = await p.api('/devices', {
      body: { name: 'Clave vieja', provider: 'simulator', base_url: keyed.baseUrl, credentials: { ...keyed.credentials, token: 'no-es-la-clave' } },
    });
    assert.equal(wrongKey.status, 201);
    await page.getByRole('button', { name: 'Verificar ahora «Ventas 1»' }).click();
    const keyCard = page.locator('article.device').filter({ hasText: 'Clave vieja' });
    await keyCard.getByTestId('fix-hint').filter({ hasText: 'revise las credenciales' }).waitFor();
    await keyCard.getByTestId('connection-state').filter({ hasText: 'clave rechazada (HTTP 401)' }).waitFor();
    // Removing a device asks in the dashboard's own dialog (no browser confirm), with a dangerous "yes".
    const nativeDialogs: string[] = [];
    const onNative = (d: { message(): string; dismiss(): Promise<void> }) => {
      nativeDialogs.push(d.message());
      void d.dismiss();
    };
    page.on('dialog', onNative);
    try {
      await keyCard.getByRole('button', { name: 'Eliminar «Clave vieja»' }).click();
      const ask = page.getByRole('dialog', { name: '¿Eliminar el dispositivo «Clave vieja»?' });
      await ask.getByText('No se puede deshacer').waitFor();
      assert.match((await ask.getByRole('button', { name: 'Sí, eliminar' }).getAttribute('class')) ?? '', /\bdanger\b/);
      await axeClean('remove-device confirmation');
      await ask.getByRole('button', { name: 'No, conservarlo' }).click();
      await ask.waitFor({ state: 'detached' });
      assert.ok(
        (await p.api('/devices')).body.devices.some((d: any) => d.name === 'Clave vieja'),
        '"no" keeps the device',
      );
      await keyCard.getByRole('button', { name: 'Eliminar «Clave vieja»' }).click();
      await ask.getByRole('button', { name: 'Sí, eliminar' }).click();
      await keyCard.waitFor({ state: 'detached' });
      assert.ok(!(await p.api('/devices')).body.devices.some((d: any) => d.name === 'Clave vieja'), '"yes" removes it');
      assert.deepEqual(nativeDialogs, [], "the browser's own confirm() is not used");
    } finally {
      page.off('dialog', onNative);
    }

    // A Cloud API device needs no base URL (Meta's is used); here Meta cannot be reached, and the hint says so.
    await page.getByText('Agregar dispositivo').click();
    const form = page.getByRole('form', { name: 'Agregar dispositivo' });
    await form.getByLabel('Proveedor').selectOption('cloud');
    assert.equal(await form.getByLabel('URL base (opcional: vacío usa la de Meta)').getAttribute('required'), null);
    await form.getByLabel('Nombre').fill('Meta');
    await form.getByLabel('Token de acceso').fill('EAAG-prueba');
    await form.getByLabel('ID del número de teléfono').fill('1234567890');
    await axeClean('add-device form');
    await form.getByRole('button', { name: 'Guardar' }).click();
    const cloud = page.locator('article.device').filter({ hasText: 'Meta Cloud API' });
    await cloud.getByText('https://graph.facebook.com').waitFor({ timeout: 20_000 });
    await cloud.getByTestId('fix-hint').filter({ hasText: 'No se pudo contactar el servidor del proveedor' }).waitFor({ timeout: 20_000 });
    const meta = (await p.api('/devices')).body.devices.find((d: any) => d.name === 'Meta');
    assert.equal(meta.base_url, 'https://graph.facebook.com');
    await p.api(`/devices/${meta.id}`, { method: 'DELETE' });
  });

  test("the Zoho page: the active code's age, the last syncs and how they ended in words, the schedule, products with named columns, no JSON", async (t) => {
    const { p, page, go } = await operator(t);
    await go('Zoho');
    const code = page.getByTestId('zoho-code');
    // Puente fetched the code when it started; "sync now" asks Zoho again.
    await code.getByText('Antigüedad').waitFor({ timeout: 20_000 });
    await code.getByRole('button', { name: 'Sincronizar ahora' }).click();
    const products = await p.api('/api/products/sync', { body: {} });
    assert.equal(products.status, 200, JSON.stringify(products.body));
    await eventually(async () => (await p.api(`/jobs/${products.body.job_id}`)).body.status === 'completed', 30_000, 'the product sync');
    await go('Clientes');
    await go('Zoho');
    const codeRun = page.locator('article').filter({ has: page.getByText('Sincronización del código', { exact: true }) });
    await codeRun.getByText(/primer código guardado|el código no cambió/).waitFor();
    await codeRun.locator('mark[data-status="completed"]').getByText('Completado').waitFor();
    // The next run, in the chosen language's date.
    await codeRun.getByText(/^Cada \d+ min · próxima: \d{1,2} [a-z]{3,4}\.? \d{4}/).waitFor();
    const productRun = page.locator('article').filter({ has: page.getByText('Sincronización de productos', { exact: true }) });
    await productRun.getByText(/\d+ productos guardados/).waitFor();
    await productRun.getByText('Sin programación automática').waitFor();
    const table = page.getByRole('table', { name: 'Productos' });
    assert.deepEqual(await table.locator('th').allInnerTexts(), ['Nombre', 'SKU', 'Precio', 'Existencia', 'Estado', 'Actualizado']);
    await table.locator('tbody tr').nth(19).waitFor();
    // biome-ignore lint/performance/useDomNodeTextContent: Playwright's innerText, the text a reader sees
    const text = await page.locator('main').innerText();
    assert.doesNotMatch(text, /[{}]/, 'no JSON on the Zoho page');
    assert.doesNotMatch(text, /\b[a-z]+_[a-z_]+: /, 'no raw counter names');
    // Counts agree with their words: «1 página», never «1 páginas».
    assert.doesNotMatch(text, /(^|[^\d.,])1 (páginas|productos|desactivados|ilegibles)\b/, 'a count of one in the singular');
    await page.screenshot({ path: join(shots, 'zoho.png'), fullPage: true });
  });

  test('every page, in Spanish and English, has one h1, a title, and no serious or critical accessibility violation', async (t) => {
    const o = await operator(t);
    const { page, go, axeClean } = o;
    await inUse(o);
    for (const lang of ['es', 'en'] as const) {
      if (lang === 'en') await page.getByLabel('Idioma').selectOption('en');
      const links =
        lang === 'es'
          ? ['Trabajos', 'Clientes', 'Envío masivo', 'Dispositivos', 'WHMCS', 'Zoho', 'Clientes de sincronización']
          : ['Jobs', 'Customers', 'Bulk send', 'Devices', 'WHMCS', 'Zoho', 'Sync clients'];
      for (const link of links) {
        await go(link);
        await page.waitForLoadState('networkidle');
        assert.equal(await page.locator('h1').count(), 1, `${link}: one h1`);
        await eventually(async () => (await page.title()) === `${link} · Puente`, 5000, `${link}: the page title`);
        await axeClean(`${link} (${lang})`);
        const text = await page.locator('main').innerText();
        assert.doesNotMatch(text, RAW, `${link} (${lang}): no raw identifiers`);
        if (link === 'Trabajos' || link === 'Jobs') {
          // Dates follow the language: the month in words, «dic» / "Dec".
          const created = await page
            .locator(`td[data-label="${lang === 'es' ? 'Creado' : 'Created'}"]`)
            .first()
            .innerText();
          assert.match(created, lang === 'es' ? SPANISH_DATE : ENGLISH_DATE, `a date in ${lang}: ${created}`);
        }
        if (link === 'WHMCS') {
          // Not configured: the admin-only page names the settings to set.
          const settings = page.getByTestId('whmcs-settings');
          await settings.getByText('WHMCS_API_URL').waitFor();
          await settings.getByText(lang === 'es' ? 'reinicie Puente' : 'Restart Puente').waitFor();
        }
      }
    }
    await page.getByLabel('Language').selectOption('es');
  });

  test('on a phone the menu collapses and nothing is cut off at the right, in both languages', async (t) => {
    const o = await operator(t);
    const { page, go } = o;
    await inUse(o);
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      for (const lang of ['es', 'en'] as const) {
        const links =
          lang === 'es'
            ? ['Clientes', 'Envío masivo', 'Dispositivos', 'WHMCS', 'Zoho', 'Clientes de sincronización', 'Trabajos']
            : ['Customers', 'Bulk send', 'Devices', 'WHMCS', 'Zoho', 'Sync clients', 'Jobs'];
        for (const link of links) {
          await page.getByRole('link', { name: link, exact: true }).waitFor({ state: 'hidden', timeout: 5000 });
          await page.getByRole('button', { name: lang === 'es' ? 'Menú' : 'Menu', exact: true }).click();
          await go(link);
          await page.waitForLoadState('networkidle');
          const width = await page.evaluate<number>('document.documentElement.scrollWidth');
          assert.ok(width <= 390, `${link} (${lang}) fits 390 px (${width} px)`);
        }
        await page.screenshot({ path: join(shots, `jobs-phone-${lang}.png`), fullPage: true });
        if (lang === 'es') {
          await page.getByRole('button', { name: 'Menú', exact: true }).click();
          await page.getByLabel('Idioma').selectOption('en');
          await page.getByRole('button', { name: 'Menu', exact: true }).click(); // closes it again
        }
      }
    } finally {
      await page.setViewportSize({ width: 1366, height: 800 });
    }
    await page.screenshot({ path: join(shots, 'jobs-en.png'), fullPage: true });
    await page.getByLabel('Language').selectOption('es');
  });

  test('the jobs list pages beyond 50, and cancel looks dangerous while pause does not', async (t) => {
    const { p, page, go } = await operator(t);
    await sentFile(p);
    await go('Trabajos');
    const jobRows = page.getByRole('table', { name: 'Trabajos' }).locator('tbody tr');
    // Older jobs started by a person (not the scheduler), enough for a second page.
    await p.ctx.db.query(`INSERT INTO jobs (id, type, status, created_by, progress, created_at)
      SELECT gen_random_uuid(), 'whmcs.push-all', 'completed', 'cli', '{}', now() - make_interval(days => 1, mins => g) FROM generate_series(1, 55) g`);
    const total = Number((await p.api('/jobs?scheduled=false&per_page=1')).headers.get('x-total-count'));
    assert.ok(total > 55);
    await page
      .getByTestId('jobs-total')
      .filter({ hasText: `${total} trabajos` })
      .waitFor({ timeout: 10_000 });
    assert.equal(await jobRows.count(), 50, 'a page holds 50');
    const pager = page.getByRole('navigation', { name: 'Paginación' });
    await pager.getByText('Página 1 de 2').waitFor();
    await pager.getByRole('button', { name: 'Siguiente' }).click();
    await pager.getByText('Página 2 de 2').waitFor();
    await eventually(async () => (await jobRows.count()) === total - 50, 10_000, 'the rest on page 2');
    assert.equal(await jobRows.filter({ hasText: 'Envío de clientes a WHMCS' }).count(), total - 50);
    await pager.getByRole('button', { name: 'Anterior' }).click();
    await pager.getByText('Página 1 de 2').waitFor();

    // A slow send to look at its buttons: cancel is red, pause is not.
    const [d] = (await p.api('/devices')).body.devices;
    assert.equal((await p.api(`/devices/${d.id}`, { method: 'PATCH', body: { messages_per_minute: 6 } })).status, 200);
    const form = new FormData();
    form.append('message', 'Despacio @valor1');
    form.append(
      'file',
      new Blob([
        NUMBERS.slice(3)
          .map((n) => `+${n}|x`)
          .join('\n'),
      ]),
      'despacio.csv',
    );
    const res = await fetch(`${p.url}/messages/send-bulk-file`, { method: 'POST', headers: { authorization: `Bearer ${p.token}` }, body: form });
    assert.equal(res.status, 200, await res.text());
    const row = jobRows.filter({ hasText: 'despacio.csv' });
    const cancel = row.getByRole('button', { name: 'Cancelar «despacio.csv»' });
    const pause = row.getByRole('button', { name: 'Pausar «despacio.csv»' });
    await cancel.waitFor({ timeout: 10_000 });
    const colour = (b: typeof cancel) => b.evaluate((el) => (globalThis as any).getComputedStyle(el).backgroundColor as string);
    assert.equal(await colour(cancel), 'rgb(180, 35, 24)', 'cancel is red');
    assert.notEqual(await colour(pause), await colour(cancel), 'pause does not look like cancel');
    // Paused, it no longer shows a rate or says it is processing.
    await pause.click();
    await row.locator('mark[data-status="paused"]').waitFor();
    assert.equal(await row.getByTestId('rate').count(), 0);
    assert.doesNotMatch(await row.innerText(), /Procesando/);
    await row.getByRole('button', { name: 'Cancelar «despacio.csv»' }).click();
    await page.getByRole('dialog', { name: '¿Cancelar «despacio.csv»?' }).getByRole('button', { name: 'Sí, cancelar' }).click();
    await row.locator('mark[data-status="cancelled"]').waitFor();
  });

  test('keyboard focus is visible', async (t) => {
    const { page, go } = await operator(t);
    await go('Trabajos');
    await page.keyboard.press('Tab');
    const outline = await page.evaluate('getComputedStyle(document.activeElement).outlineStyle');
    assert.notEqual(outline, 'none');
  });
});
