import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startWisproSimulator, type WisproSimulator } from '../src/simulators/wispro/wispro.simulator.ts';
import { freshStorage, testEnv, type Storage } from './support/puente.ts';

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));

function puente(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [main, ...args], { env: { PATH: process.env.PATH, ...env }, timeout: 150_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

let storage: Storage;
let sim: WisproSimulator;
let env: NodeJS.ProcessEnv;
before(async () => {
  // Already migrated: a command's own migration on a loaded machine must not eat its time limit.
  storage = await freshStorage('embedded', { migrated: true });
  sim = await startWisproSimulator({ token: 'cli-token', clients: 120 });
  env = testEnv({ ...storage.env, WISPRO_API_URL: sim.url, WISPRO_API_TOKEN: 'cli-token', LOG_LEVEL: 'warn' });
});
after(async () => {
  await sim?.close();
  await storage?.dispose();
});

test('puente migrate applies the migrations once', async () => {
  // A data folder of its own: the other tests' commands migrate the shared one as they start.
  const own = await freshStorage('embedded');
  try {
    const ownEnv = { ...env, ...own.env };
    const first = await puente(['migrate'], ownEnv);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /Applied 0001_platform\.sql/);
    const again = await puente(['migrate'], ownEnv);
    assert.match(again.stdout, /up to date/);
  } finally {
    await own.dispose();
  }
});

test('puente admin create makes an account that can log in, and refuses a duplicate', async () => {
  const created = await puente(['admin', 'create', '--email', 'ops@test.local', '--password', 'long-password-1', '--role', 'operator'], env);
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, /Created operator ops@test\.local/);
  const dup = await puente(['admin', 'create', '--email', 'ops@test.local', '--password', 'long-password-1'], env);
  assert.notEqual(dup.code, 0);
  assert.match(dup.stderr, /Ya existe una cuenta/);
});

test('puente sync wispro runs the sync in the terminal, prints the seed summary line, and ends by listing what was not synced', async () => {
  // A client whose ID number another client already has: skipped, and listed at the end.
  const twin = sim.clients.find((c) => c.national_identification_number && /\d{6}/.test(c.national_identification_number))!;
  sim.clients.push({ ...twin, id: '00000000-0000-4000-8000-00000000c1a1', name: 'Gemela De Terminal', public_id: 99_998 });
  const res = await puente(['sync', 'wispro', '--per-page', '25'], env);
  assert.equal(res.code, 0, res.stderr);
  const summary = /✅ Sincronización completada - Creados: (\d+), Actualizados: (\d+) \(sin cambios: \d+\), Omitidos: (\d+), Errores: (\d+)/.exec(res.stdout);
  assert.ok(summary, res.stdout);
  assert.ok(Number(summary[1]) > 100);
  const pages = sim.requests.filter((r) => r.query.per_page === '25').length;
  assert.equal(pages, 5);
  const listing = /No sincronizados \((\d+)\):\n((?: {2}• .*\n)+)/.exec(res.stdout);
  assert.ok(listing, res.stdout);
  const total = Number(listing[1]);
  assert.equal(total, Number(summary[3]) + Number(summary[4]), 'skipped and failed, as the summary counts them');
  const lines = listing[2]!.trimEnd().split('\n');
  assert.equal(lines.length, Math.min(total, 20), 'the first 20 at most');
  if (total <= 20)
    assert.ok(
      lines.some((l) => /Gemela De Terminal \[00000000-0000-4000-8000-00000000c1a1\]: .*duplicad/i.test(l)),
      lines.join('\n'),
    );
  else assert.match(res.stdout, new RegExp(`… y ${total - 20} más\\.`));
  assert.match(res.stdout, /Todos: panel → Trabajos → «Ver fallos», o GET http:\/\/localhost:\d+\/jobs\/[0-9a-f-]{36}\/items\?status=failed/);
});

test('a bad configuration value stops the CLI with a message naming the variable', async () => {
  const res = await puente(['migrate'], { ...env, WISPRO_PER_PAGE: '5000' });
  assert.equal(res.code, 1);
  assert.match(res.stderr, /WISPRO_PER_PAGE/);
});
