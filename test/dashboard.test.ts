import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startWisproSimulator, type WisproSimulator } from '../src/simulators/wispro/wispro.simulator.ts';
import { ADMIN, freshStorage, startPuente, testEnv, type Storage, type TestPuente } from './support/puente.ts';
import { launchBrowser, screenshotDir } from './support/browser.ts';

describe('web dashboard in a real browser', () => {
  let storage: Storage;
  let sim: WisproSimulator;
  let p: TestPuente;
  let browser: Browser;
  let page: Page;
  const shots = screenshotDir();

  before(async () => {
    assert.ok(existsSync(new URL('../web/dist/index.html', import.meta.url)), 'the dashboard is built by npm install (prepare)');
    storage = await freshStorage('embedded');
    sim = await startWisproSimulator({ token: 'ui-token', clients: 180 });
    p = await startPuente(testEnv({ ...storage.env, WISPRO_API_URL: sim.url, WISPRO_API_TOKEN: 'ui-token' }));
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  });
  after(async () => {
    await browser?.close();
    await p?.close();
    await sim?.close();
    await storage?.dispose();
  });

  test('a wrong password shows the error; the right one opens the dashboard', async () => {
    await page.goto(p.url + '/');
    await page.getByLabel('Correo').fill(ADMIN.email);
    await page.getByLabel('Contraseña').fill('wrong-password');
    await page.getByRole('button', { name: 'Entrar', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: 'Credenciales inválidas' }).waitFor();
    await page.screenshot({ path: join(shots, 'login.png') });
    await page.getByLabel('Contraseña').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Entrar', exact: true }).click();
    await page.getByRole('heading', { name: 'Trabajos' }).waitFor();
  });

  test('starting a Wispro sync shows live progress and the customers appear', async () => {
    await page.getByRole('link', { name: 'Clientes', exact: true }).click();
    await page.getByRole('button', { name: 'Sincronizar Wispro' }).click();
    await page.locator('.live-job[data-status="completed"]').waitFor({ timeout: 30_000 });
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

  test('the jobs page lists the sync as completed', async () => {
    await page.getByRole('link', { name: 'Trabajos', exact: true }).click();
    await page.locator('tbody tr').filter({ hasText: 'wispro.sync' }).filter({ hasText: 'completed' }).first().waitFor();
    await page.screenshot({ path: join(shots, 'jobs.png'), fullPage: true });
  });

  test('every page renders, in Spanish and in English, on a phone-sized screen too', async () => {
    for (const [link, heading, shot] of [['Envío masivo', 'Envío masivo', 'bulk-send'], ['Dispositivos', 'Dispositivos', 'devices'], ['Zoho', 'Zoho', 'zoho'], ['Clientes de sincronización', 'Clientes de sincronización', 'sync-clients']]) {
      await page.getByRole('link', { name: link, exact: true }).click();
      await page.getByRole('heading', { name: heading, exact: true }).waitFor();
      await page.screenshot({ path: join(shots, `${shot}.png`), fullPage: true });
    }
    await page.getByLabel('Idioma').selectOption('en');
    await page.getByRole('link', { name: 'Customers', exact: true }).waitFor();
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole('link', { name: 'Jobs', exact: true }).click();
    await page.getByRole('heading', { name: 'Jobs' }).waitFor();
    await page.screenshot({ path: join(shots, 'jobs-phone-en.png'), fullPage: true });
    await page.getByLabel('Language').selectOption('es');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  test('logging out returns to the login form', async () => {
    await page.getByRole('button', { name: 'Cerrar sesión' }).click();
    await page.getByRole('button', { name: 'Entrar', exact: true }).waitFor();
  });
});
