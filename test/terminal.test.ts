import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually, freshStorage, testEnv, type Storage } from './support/puente.ts';
import { spawnPuente, type PuenteProcess } from './support/spawn.ts';

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));

function puente(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [main, ...args], { env: { PATH: process.env.PATH, HOST: '127.0.0.1', ...env }, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** The environment of a fresh install: no admin configured. */
const bare = (storage: Storage) => testEnv({ ...storage.env, ADMIN_EMAIL: '', ADMIN_PASSWORD: '', LOG_LEVEL: 'warn' });

const storages: Storage[] = [];
let running: PuenteProcess | null = null;
after(async () => {
  await running?.stop();
  for (const s of storages) await s.dispose();
});

test('npm start on an empty database says how to create the first admin; a second process on the same DATA_DIR is one clear line', async () => {
  const storage = await freshStorage('embedded');
  storages.push(storage);
  running = await spawnPuente(['serve'], bare(storage), 90_000);
  const out = await eventually(
    async () => {
      const text = running!.output.join('');
      return /No hay ningún administrador/.test(text) && text;
    },
    10_000,
    'the first-admin hint',
  );
  assert.match(out, /No hay ningún administrador todavía/);
  assert.match(out, /bin\/puente admin create --email/);

  const second = await puente(['serve'], { ...bare(storage), PORT: '0' });
  assert.equal(second.code, 1);
  const lines = second.stderr.trim().split('\n');
  assert.equal(lines.length, 1, second.stderr);
  assert.match(lines[0]!, /está en uso por el proceso \d+/);
  assert.doesNotMatch(second.stderr, /\n\s+at /, 'no stack trace');
  await running.stop();
  running = null;
});

test('a port in use is one clear line, no stack trace', async () => {
  const storage = await freshStorage('embedded');
  storages.push(storage);
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const port = (blocker.address() as AddressInfo).port;
  try {
    const res = await puente(['serve'], { ...bare(storage), PORT: String(port) });
    assert.equal(res.code, 1);
    const lines = res.stderr.trim().split('\n');
    assert.equal(lines.length, 1, res.stderr);
    assert.match(lines[0]!, new RegExp(`El puerto ${port} ya está en uso`));
  } finally {
    blocker.close();
  }
});

test("npm run demo: the banner comes first, names the simulators' credentials, and the request log goes to a file in the data folder", async () => {
  const storage = await freshStorage('embedded');
  storages.push(storage);
  const res = await puente(['demo', '--port', '0', '--exit-after-seed'], {
    DATA_DIR: storage.env.DATA_DIR!,
    LOG_LEVEL: 'info',
    JWT_SECRET: 'test-secret-test-secret-test-secret-0123456789',
  });
  assert.equal(res.code, 0, res.stderr);
  const lines = res.stdout.split('\n').filter((l) => l.trim());
  assert.equal(lines[0]!.trim(), 'Puente demo is running', 'the banner is the first thing printed');
  assert.ok(!lines.some((l) => l.trim().startsWith('{')), 'no JSON log lines in the terminal');
  assert.match(res.stdout, /WISPRO_API_TOKEN=demo-wispro-token/);
  assert.match(res.stdout, /WHMCS_API_IDENTIFIER=\S+/);
  assert.match(res.stdout, /bin\/puente sync wispro/);
  const log = readFileSync(join(storage.env.DATA_DIR!, 'puente.log'), 'utf8');
  assert.match(log, /"msg":"(incoming request|request completed)"|"reqId"/, 'requests are logged to the file');
});

test("npm run demo: while it runs, the terminal shows each job's progress in words, not request logs", async () => {
  const storage = await freshStorage('embedded');
  storages.push(storage);
  const password = 'demo-terminal-password-1';
  const child = spawn(process.execPath, [main, 'demo', '--port', '0'], {
    env: {
      PATH: process.env.PATH,
      HOST: '127.0.0.1',
      DATA_DIR: storage.env.DATA_DIR!,
      LOG_LEVEL: 'info',
      ADMIN_PASSWORD: password,
      JWT_SECRET: 'test-secret-test-secret-test-secret-0123456789',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  try {
    const url = await eventually(async () => /Dashboard and API:\s+(http:\/\/\S+?)\/\s/.exec(out)?.[1] ?? false, 120_000, 'the banner');
    const login = await fetch(`${url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'admin@puente.local', password }),
    });
    assert.equal(login.status, 200);
    const { access_token } = (await login.json()) as { access_token: string };
    const started = await fetch(`${url}/api/users/sync-wispro-all`, { method: 'POST', headers: { authorization: `Bearer ${access_token}` } });
    assert.equal(started.status, 200, await started.text());
    await eventually(async () => /Sincronización de Wispro: en marcha/.test(out), 30_000, 'the start line');
    const done = await eventually(
      async () =>
        /(✅ completado|⚠️ {2}completado con errores) {2}Sincronización de Wispro — \d+ creados, \d+ actualizados, \d+ sin cambios, \d+ omitidos, \d+ con error/.exec(
          out,
        )?.[0] ?? false,
      60_000,
      'the end line with its figures',
    );
    assert.ok(done);
    assert.ok(!out.split('\n').some((l) => l.trim().startsWith('{')), `no JSON log lines in the terminal:\n${out}`);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
});
