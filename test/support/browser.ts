import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';
import { ADMIN } from './puente.ts';

export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Options for a browser test's `describe` or `test`: skipped, with the reason in the report, when Chromium is missing. */
export const needsBrowser: { skip?: string } = existsSync(chromiumPath)
  ? {}
  : { skip: `browser tests skipped: Chromium not found at ${chromiumPath} (install it or set CHROMIUM_PATH)` };

/** Debian's Chromium, headless, with the flags this machine's closed network needs. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Screenshots land in docs/screenshots when UPDATE_SCREENSHOTS=1, in a temporary folder otherwise. */
export function screenshotDir(): string {
  if (process.env.UPDATE_SCREENSHOTS === '1') {
    const dir = fileURLToPath(new URL('../../docs/screenshots/', import.meta.url));
    mkdirSync(dir, { recursive: true });
    return dir;
  }
  return mkdtempSync(join(tmpdir(), 'puente-shots-'));
}

/** Logs the admin in through the login form at `url` and waits for the dashboard's first page. */
export async function logIn(page: Page, url: string): Promise<void> {
  await page.goto(url + '/');
  await page.getByLabel('Correo').fill(ADMIN.email);
  await page.getByLabel('Contraseña').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Entrar', exact: true }).click();
  await page.getByRole('heading', { level: 1, name: 'Trabajos' }).waitFor();
}

/** What a test sets up, closed in reverse order when the test ends: `push` each closer as its part opens. */
export function closedAfter(t: TestContext): (() => Promise<unknown>)[] {
  const undo: (() => Promise<unknown>)[] = [];
  t.after(async () => {
    for (const step of undo.reverse()) await step();
  });
  return undo;
}

/**
 * A page in a browser context of its own (closed with `undo`), logged in as the admin at `url` unless
 * `loggedIn` is false. Reduced motion: screenshots show progress bars where they are, not mid-transition.
 */
export async function openPage(
  browser: Browser,
  undo: (() => Promise<unknown>)[],
  opts: { url: string; loggedIn?: boolean; context: BrowserContextOptions },
): Promise<Page> {
  const context = await browser.newContext({ ...opts.context, reducedMotion: 'reduce' });
  undo.push(() => context.close());
  const page = await context.newPage();
  if (opts.loggedIn !== false) await logIn(page, opts.url);
  return page;
}
