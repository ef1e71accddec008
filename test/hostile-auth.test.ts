import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { startWhatsAppSimulator, type WaSimulator } from '../src/simulators/whatsapp/whatsapp.simulator.ts';
import { startZohoSimulator, type ZohoSimulator } from '../src/simulators/zoho/zoho.simulator.ts';
import { loadConfig } from '../src/platform/config.ts';
import { ADMIN, eventually, freshStorage, modes, redisUrl, runsIn, startPuente, testEnv, waitForJob, type Storage, type TestPuente } from './support/puente.ts';

const KEY = 'test-cloud-api-key';
const mainScript = fileURLToPath(new URL('../src/main.ts', import.meta.url));

/** A host that records what reaches it: where a device's credentials must never be sent. */
async function listener() {
  const seen: IncomingHttpHeaders[] = [];
  const server: Server = createServer((req, res) => {
    seen.push(req.headers);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** Connects to /sync and reports the refusal's message, or 'connected'. */
function handshake(url: string, apiKey: string, forwardedFor: string) {
  return new Promise<string>((resolve) => {
    const s = io(`${url}/sync`, {
      auth: { apiKey },
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      extraHeaders: { 'x-forwarded-for': forwardedFor },
    });
    s.on('connect', () => {
      s.close();
      resolve('connected');
    });
    s.on('connect_error', (err) => {
      s.close();
      resolve(err.message);
    });
  });
}

async function startWith(mode: (typeof modes)[number], env: Record<string, string | undefined>) {
  const storage = await freshStorage(mode);
  try {
    return { storage, p: await startPuente(testEnv({ ...storage.env, ...env })) };
  } catch (err) {
    await storage.dispose();
    throw err;
  }
}

test('TRUST_PROXY takes a hop count or addresses and CIDR ranges, and refuses to trust everyone', () => {
  assert.equal(loadConfig({}).TRUST_PROXY, false);
  assert.equal(loadConfig({ TRUST_PROXY: '2' }).TRUST_PROXY, 2);
  assert.deepEqual(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 192.168.1.10,::1' }).TRUST_PROXY, ['10.0.0.0/8', '192.168.1.10', '::1']);
  for (const bad of ['true', '10.0.0.0/33', 'proxy.local']) assert.throws(() => loadConfig({ TRUST_PROXY: bad }), /TRUST_PROXY/, bad);
});

for (const mode of modes) {
  describe(`hostile auth (${mode})`, runsIn(mode), () => {
    let storage: Storage;
    let p: TestPuente;
    let sim: WaSimulator;
    const login = (body: unknown, from?: string) => p.api('/auth/login', { body, token: null, headers: from ? { 'x-forwarded-for': from } : {} });
    const newOperator = async (email: string, password = 'operator-pass-1') => {
      assert.equal((await p.api('/api/admin/users', { body: { name: 'Op', email, password, role: 'operator' } })).status, 201);
      return { email, password };
    };
    const addCode = async (code: string) => {
      await p.ctx.services.zoho.updateCode(code);
      const [row] = await p.ctx.db.query<{ id: number }>('SELECT id FROM zoho_code WHERE zoho_code = $1', [code]);
      return row!.id;
    };

    before(async () => {
      sim = await startWhatsAppSimulator();
      // One proxy hop is trusted here, so each test can speak from addresses of its own.
      ({ storage, p } = await startWith(mode, {
        TRUST_PROXY: '1',
        LOGIN_RATE_LIMIT_PER_MINUTE: '1000',
        LOGIN_ACCOUNT_FREE_FAILURES: '3',
        LOGIN_ACCOUNT_CEILING_PER_HOUR: '6',
        CODE_LOGIN_FAILURES_PER_MINUTE: '4',
        API_KEY_FAILURES_PER_MINUTE: '3',
      }));
    });
    after(async () => {
      await p?.close();
      await storage?.dispose();
      await sim?.close();
    });

    test('X-Forwarded-For is not trusted by default: a new address per attempt does not escape the login limit', async () => {
      const own = await startWith(mode, { LOGIN_RATE_LIMIT_PER_MINUTE: '3' });
      try {
        const statuses: number[] = [];
        for (let i = 0; i < 5; i++) {
          const res = await own.p.api('/auth/login', {
            body: { email: 'nobody@x.test', password: 'guess' },
            token: null,
            headers: { 'x-forwarded-for': `203.0.113.${i + 1}` },
          });
          statuses.push(res.status);
        }
        // The admin login made while starting spent one of the three.
        assert.deepEqual(statuses, [401, 401, 429, 429, 429]);
      } finally {
        await own.p.close();
        await own.storage.dispose();
      }
    });

    test('password guesses on one account back off, the right password included; other accounts are untouched', async () => {
      const victim = await newOperator('backoff@x.test');
      const other = await newOperator('other@x.test');
      const from = '198.51.100.10';
      for (let i = 0; i < 3; i++) assert.equal((await login({ email: victim.email, password: `wrong-${i}` }, from)).status, 401);
      const blocked = await login(victim, from);
      assert.equal(blocked.status, 429);
      assert.equal(blocked.body.code, 'rate_limited');
      assert.ok(Number(blocked.headers.get('retry-after')) >= 1);
      assert.equal((await login(other, from)).status, 200, 'another account from the same address still logs in');
      assert.equal((await login(victim, '198.51.100.11')).status, 200, 'the backoff is per account and address');
    });

    test('many addresses guessing one account hit a ceiling, but the person still logs in from where they did before', async () => {
      const victim = await newOperator('ceiling@x.test');
      assert.equal((await login(victim, '192.0.2.50')).status, 200, 'the person logs in from home');
      for (let i = 0; i < 6; i++) assert.equal((await login({ email: victim.email, password: `wrong-${i}` }, `192.0.2.${100 + i}`)).status, 401);
      assert.equal((await login(victim, '192.0.2.200')).status, 429, 'a new address waits once the account has its ceiling');
      assert.equal((await login(victim, '192.0.2.50')).status, 200, 'an address the person used before is not locked out');
    });

    test('wrong access codes from any number of addresses hit one ceiling for code login', async () => {
      await addCode('CEILING-CODE-1');
      for (let i = 0; i < 4; i++) assert.equal((await login({ code: `GUESS-${i}` }, `100.64.0.${i + 1}`)).status, 401);
      const res = await login({ code: 'CEILING-CODE-1' }, '100.64.0.99');
      assert.equal(res.status, 429, 'even the right code waits: guesses are capped for the code, not per address');
      await p.ctx.throttle.clear('code-login');
    });

    test('wrong API keys are rate-limited on /sync REST and on the Socket.IO handshake', async () => {
      const rest = (key: string, from: string) => p.api('/sync/pull-changes', { token: key, headers: { 'x-forwarded-for': from } });
      for (let i = 0; i < 3; i++) assert.equal((await rest(`wrong-key-${i}`, '172.16.0.1')).status, 401);
      const limited = await rest(KEY, '172.16.0.1');
      assert.equal(limited.status, 429);
      assert.ok(limited.headers.get('retry-after'));
      assert.equal((await rest(KEY, '172.16.0.2')).status, 200, 'another address is not affected');

      for (let i = 0; i < 3; i++) assert.equal(await handshake(p.url, `wrong-key-${i}`, '172.16.1.1'), 'Invalid API key');
      assert.equal(await handshake(p.url, KEY, '172.16.1.1'), 'Too many attempts');
      assert.equal(await handshake(p.url, KEY, '172.16.1.2'), 'connected');
    });

    test('with its database counters gone, a throttle still counts in memory and never answers 500', async () => {
      const own = await startWith(mode, { LOGIN_RATE_LIMIT_PER_MINUTE: '1000', LOGIN_ACCOUNT_FREE_FAILURES: '2', API_KEY_FAILURES_PER_MINUTE: '2' });
      try {
        await own.p.ctx.db.query('DROP TABLE auth_throttle');
        const statuses: number[] = [];
        for (let i = 0; i < 5; i++) statuses.push((await own.p.api('/auth/login', { body: { ...ADMIN, password: `wrong-${i}` }, token: null })).status);
        // Two free failures, then waits of 1 s, 2 s…: a 429 comes whatever the machine's pace.
        assert.deepEqual(statuses.slice(0, 2), [401, 401]);
        assert.ok(statuses.includes(429) && statuses.every((s) => s === 401 || s === 429), statuses.join(','));
        const keys: number[] = [];
        for (let i = 0; i < 3; i++) keys.push((await own.p.api('/sync/pull-changes', { token: `bad-${i}` })).status);
        assert.deepEqual(keys, [401, 401, 429]);
      } finally {
        await own.p.close();
        await own.storage.dispose();
      }
    });

    if (mode === 'scaled')
      test('with Redis gone, API-key failures are still limited, and nothing answers 500', async () => {
        // Puente reaches Redis through a proxy this test can cut, as an outage would, and restore.
        const links = new Set<Socket>();
        let down = false;
        const proxy = createNetServer((client) => {
          if (down) return void client.destroy();
          const upstream = connect(Number(new URL(redisUrl).port || 6379), new URL(redisUrl).hostname);
          for (const s of [client, upstream]) {
            links.add(s);
            s.on('error', () => {});
            s.on('close', () => links.delete(s));
          }
          client.pipe(upstream).pipe(client);
        });
        await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
        const storage = await freshStorage(mode);
        const own = await startPuente(
          testEnv({ ...storage.env, REDIS_URL: `redis://127.0.0.1:${(proxy.address() as AddressInfo).port}`, API_KEY_FAILURES_PER_MINUTE: '2' }),
        ).catch(async (err) => {
          await storage.dispose();
          throw err;
        });
        const connected = links.size;
        try {
          down = true;
          for (const s of links) s.destroy();
          const statuses: number[] = [];
          for (let i = 0; i < 3; i++) statuses.push((await own.api('/sync/pull-changes', { token: `bad-${i}` })).status);
          assert.deepEqual(statuses, [401, 401, 429]);
          assert.equal((await own.api('/sync/pull-changes', { token: KEY })).status, 429, 'the address waits, even with the right key');
        } finally {
          // Redis comes back before Puente stops (stopping in the middle of an outage is not this test's subject).
          down = false;
          await eventually(async () => links.size >= connected, 30_000, 'Redis clients to reconnect').catch(() => {});
          await own.close();
          await storage.dispose();
          for (const s of links) s.destroy();
          await new Promise<void>((r) => proxy.close(() => r()));
        }
      });

    test('a code session ends when the code rotates: its access token stops working and refresh is refused', async () => {
      await addCode('ROTATING-CODE-1');
      const session = await login({ code: 'ROTATING-CODE-1' });
      assert.equal(session.status, 200);
      assert.equal((await p.api('/auth/me', { token: session.body.access_token })).status, 200);
      await p.ctx.services.zoho.updateCode('ROTATING-CODE-2');
      assert.equal((await p.api('/auth/me', { token: session.body.access_token })).status, 401);
      const refreshed = await p.api('/auth/refresh', { body: { refresh_token: session.body.refresh_token }, token: null });
      assert.equal(refreshed.status, 401);
      assert.equal(refreshed.body.code, 'auth.code_inactive');
    });

    test('refresh tokens rotate: a used one is refused and ends its whole session', async () => {
      const first = await login(ADMIN);
      const second = await p.api('/auth/refresh', { body: { refresh_token: first.body.refresh_token }, token: null });
      assert.equal(second.status, 200);
      assert.notEqual(second.body.refresh_token, first.body.refresh_token);
      assert.equal((await p.api('/auth/me', { token: second.body.access_token })).status, 200);
      const reused = await p.api('/auth/refresh', { body: { refresh_token: first.body.refresh_token }, token: null });
      assert.equal(reused.status, 401);
      assert.equal(reused.body.code, 'auth.refresh_reused');
      assert.equal(
        (await p.api('/auth/refresh', { body: { refresh_token: second.body.refresh_token }, token: null })).status,
        401,
        'the newer token of the family is revoked too',
      );
      assert.equal((await p.api('/auth/me', { token: second.body.access_token })).status, 401, 'and so is its access token');
      const [stored] = await p.ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM auth_refresh_tokens WHERE token_hash = $1 OR token_hash = $2', [
        first.body.refresh_token,
        second.body.refresh_token,
      ]);
      assert.equal(stored!.n, 0, 'refresh tokens are kept hashed, never as issued');
    });

    test("changing the password ends the account's other sessions; the one that changed it goes on", async () => {
      const op = await newOperator('changer@x.test');
      const a = await login(op),
        b = await login(op);
      const changed = await p.api('/auth/password', { token: a.body.access_token, body: { current_password: op.password, new_password: 'a-new-password-2' } });
      assert.equal(changed.status, 200);
      assert.equal((await p.api('/auth/me', { token: b.body.access_token })).status, 401);
      assert.equal((await p.api('/auth/refresh', { body: { refresh_token: b.body.refresh_token }, token: null })).status, 401);
      assert.equal((await p.api('/auth/me', { token: a.body.access_token })).status, 200);
    });

    test('logout ends the session: its access and refresh tokens stop working', async () => {
      const s = await login(ADMIN);
      const out = await p.api('/auth/logout', { method: 'POST', token: s.body.access_token });
      assert.equal(out.status, 200, JSON.stringify(out.body));
      assert.equal((await p.api('/auth/me', { token: s.body.access_token })).status, 401);
      assert.equal((await p.api('/auth/refresh', { body: { refresh_token: s.body.refresh_token }, token: null })).status, 401);
      assert.equal((await p.api('/auth/me')).status, 200, 'other sessions are untouched');
      const socket = await new Promise<number>((resolve) => {
        const ws = new WebSocket(`${p.url.replace('http', 'ws')}/ws/job/00000000-0000-4000-8000-000000000000?token=${s.body.access_token}`);
        ws.on('unexpected-response', (_req, r) => resolve(r.statusCode ?? 0));
        ws.on('open', () => {
          ws.close();
          resolve(101);
        });
      });
      assert.equal(socket, 401, 'the job socket refuses it too');
    });

    test("a deactivated account's sessions end at once, access and refresh alike", async () => {
      const op = await newOperator('leaving@x.test');
      const s = await login(op);
      assert.equal((await p.api('/auth/me', { token: s.body.access_token })).status, 200);
      await p.ctx.db.query('UPDATE users SET status = false WHERE email = $1', [op.email]);
      assert.equal((await p.api('/jobs', { token: s.body.access_token })).status, 401);
      const refreshed = await p.api('/auth/refresh', { body: { refresh_token: s.body.refresh_token }, token: null });
      assert.equal(refreshed.status, 401);
      assert.equal(refreshed.body.code, 'auth.account_inactive');
    });

    test('every protected route answers an anonymous caller 401 before looking at the body', async () => {
      const doc = (await p.api('/docs/json')).body;
      const checked: string[] = [];
      for (const [path, ops] of Object.entries<any>(doc.paths)) {
        for (const [method, op] of Object.entries<any>(ops)) {
          if (!op.security?.length) continue;
          const url = path.replace(/\{[^}]+\}/g, 'not-an-id') + '?per_page=0&limit=-1&reveal=maybe';
          const res = await fetch(p.url + url, {
            method: method.toUpperCase(),
            headers: method === 'get' || method === 'delete' ? {} : { 'content-type': 'application/json' },
            body: method === 'get' || method === 'delete' ? undefined : JSON.stringify({ unexpected: true, items: 'x', email: 'not-an-email' }),
          });
          const body = (await res.json()) as any;
          assert.equal(res.status, 401, `${method.toUpperCase()} ${path}: ${JSON.stringify(body)}`);
          assert.doesNotMatch(JSON.stringify(body), /body\.|querystring|params\./, `${method.toUpperCase()} ${path} names no fields`);
          checked.push(`${method} ${path}`);
        }
      }
      assert.ok(checked.length >= 30, `checked ${checked.length} routes`);
    });

    test('an unknown email costs about as much time as a known one with a wrong password', async () => {
      await newOperator('timing@x.test');
      const time = async (email: string, from: string) => {
        const t = performance.now();
        assert.equal((await login({ email, password: 'not-the-password' }, from)).status, 401);
        return performance.now() - t;
      };
      const known: number[] = [],
        unknown: number[] = [];
      for (let i = 0; i < 5; i++) {
        known.push(await time('timing@x.test', `10.77.0.${i}`));
        unknown.push(await time(`ghost-${i}@x.test`, `10.78.0.${i}`));
      }
      const median = (xs: number[]) => xs.sort((a, b) => a - b)[2]!;
      assert.ok(median(unknown) > median(known) * 0.5, `unknown ${median(unknown).toFixed(1)} ms vs known ${median(known).toFixed(1)} ms`);
    });

    test('a new base_url or provider needs the credentials again, and the old ones are never sent there', async () => {
      const dev = sim.addDevice({ provider: 'evolution' });
      const created = await p.api('/devices', { body: { name: 'moving', provider: 'evolution', base_url: dev.baseUrl, credentials: dev.credentials } });
      assert.equal(created.status, 201);
      const trap = await listener();
      try {
        const moved = await p.api(`/devices/${created.body.device.id}`, { method: 'PATCH', body: { base_url: trap.url } });
        assert.equal(moved.status, 400);
        assert.equal(moved.body.code, 'devices.credentials_required');
        assert.equal(
          (await p.api(`/devices/${created.body.device.id}`, { method: 'PATCH', body: { provider: 'waha', credentials: { session: 'default' } } })).status,
          400,
        );
        assert.equal(trap.seen.length, 0, 'nothing reached the new URL');
        assert.equal((await p.api(`/devices/${created.body.device.id}`)).body.device.base_url, dev.baseUrl);
        const withKey = await p.api(`/devices/${created.body.device.id}`, {
          method: 'PATCH',
          body: { base_url: trap.url, credentials: { instance: 'mine', api_key: 'a-new-key' } },
        });
        assert.equal(withKey.status, 200);
        assert.ok(trap.seen.length >= 1 && trap.seen.every((h) => h.apikey === 'a-new-key'), 'only the credentials given with the new URL go there');
      } finally {
        await trap.close();
      }
    });

    test('operators and access-code sessions cannot repoint devices; code sessions cannot see devices or recipients', async () => {
      const dev = sim.addDevice({ provider: 'simulator' });
      const created = await p.api('/devices', { body: { name: 'guarded', provider: 'simulator', base_url: dev.baseUrl, credentials: dev.credentials } });
      const id = created.body.device.id;
      const op = (await login(await newOperator('devops@x.test'))).body.access_token;
      assert.equal(
        (await p.api(`/devices/${id}`, { method: 'PATCH', token: op, body: { base_url: 'http://127.0.0.1:9/', credentials: dev.credentials } })).status,
        403,
      );
      assert.equal((await p.api(`/devices/${id}`, { method: 'PATCH', token: op, body: { credentials: { token: 'x' } } })).status, 403);
      assert.equal(
        (await p.api('/devices', { token: op, body: { name: 'x', provider: 'simulator', base_url: dev.baseUrl, credentials: dev.credentials } })).status,
        403,
      );
      assert.equal(
        (await p.api(`/devices/${id}`, { method: 'PATCH', token: op, body: { messages_per_minute: 30 } })).status,
        200,
        'operators still pace devices',
      );

      await addCode('DEVICE-CODE-1');
      const code = (await login({ code: 'DEVICE-CODE-1' })).body.access_token;
      assert.equal((await p.api('/devices', { token: code })).status, 403);
      assert.equal((await p.api(`/devices/${id}`, { method: 'PATCH', token: code, body: { name: 'renamed' } })).status, 403);
      assert.equal((await p.api('/jobs/00000000-0000-4000-8000-000000000000/results.csv', { token: code })).status, 403);
      assert.equal((await p.api('/api/users', { token: code })).status, 403, 'nor the customer list');
      assert.equal((await p.api('/jobs', { token: code })).status, 200, 'a code session follows jobs');
      assert.equal((await p.api('/api/products', { token: code })).status, 200, 'and reads products');
    });

    test('device URLs must be https unless allowed, and never Puente itself', async () => {
      const own = await startWith(mode, { ALLOW_INSECURE_PROVIDER_URLS: 'false' });
      try {
        const dev = sim.addDevice({ provider: 'simulator' });
        const http = await own.p.api('/devices', { body: { name: 'plain', provider: 'simulator', base_url: dev.baseUrl, credentials: dev.credentials } });
        assert.equal(http.status, 400);
        assert.equal(http.body.code, 'devices.base_url_not_https');
      } finally {
        await own.p.close();
        await own.storage.dispose();
      }
      const port = new URL(p.url).port;
      for (const base of [`http://127.0.0.1:${port}`, `http://localhost:${port}/`, `http://[::1]:${port}`]) {
        const self = await p.api('/devices', { body: { name: 'loop', provider: 'simulator', base_url: base, credentials: { device_id: 'x', token: 'y' } } });
        assert.equal(self.status, 400, base);
        assert.equal(self.body.code, 'devices.base_url_self');
      }
    });

    test('a revoked default sync client stays revoked after a restart', async () => {
      const own = await startWith(mode, {});
      let restarted: TestPuente | null = null;
      try {
        const clients = (await own.p.api('/api/sync-clients')).body.data;
        const def = clients.find((c: any) => c.is_default);
        assert.equal((await own.p.api(`/api/sync-clients/${def.id}`, { method: 'DELETE' })).status, 200);
        assert.equal((await own.p.api('/sync/pull-changes', { token: KEY })).status, 401);
        await own.p.close();
        restarted = await startPuente(testEnv({ ...own.storage.env }));
        assert.equal((await restarted.api('/sync/pull-changes', { token: KEY })).status, 401);
      } finally {
        await (restarted ?? own.p).close();
        await own.storage.dispose();
      }
    });
  });
}

function puenteCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [mainScript, ...args], { env: { PATH: process.env.PATH, ...env }, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

function modesUnder(dir: string): { path: string; mode: number; dir: boolean }[] {
  const out = [{ path: dir, mode: statSync(dir).mode & 0o777, dir: true }];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...modesUnder(path));
    else if (entry.isFile()) out.push({ path, mode: statSync(path).mode & 0o777, dir: false });
  }
  return out;
}

test('DATA_DIR is created 0700 and everything in it is 0600, including what an older version left wider', async () => {
  const parent = mkdtempSync(join(tmpdir(), 'puente-modes-'));
  const dataDir = join(parent, 'data');
  // What an older version left: a world-readable directory and key file.
  mkdirSync(dataDir, { mode: 0o755 });
  chmodSync(dataDir, 0o755);
  writeFileSync(join(dataDir, 'jwt-secret'), 'an-old-generated-secret-an-old-generated-secret', { mode: 0o644 });
  chmodSync(join(dataDir, 'jwt-secret'), 0o644);
  const p = await startPuente(testEnv({ DATA_DIR: dataDir, JWT_SECRET: undefined }));
  try {
    const dev = await p.api('/devices', {
      body: { name: 'x', provider: 'simulator', base_url: 'http://127.0.0.1:9', credentials: { device_id: 'd', token: 't' } },
    });
    assert.equal(dev.status, 201);
    const entries = modesUnder(dataDir);
    assert.ok(
      entries.some((e) => e.path.includes('pglite') && !e.dir),
      'the database files are there',
    );
    const wide = entries.filter((e) => e.mode !== (e.dir ? 0o700 : 0o600));
    assert.deepEqual(
      wide.map((e) => `${e.path} ${e.mode.toString(8)}`),
      [],
    );
  } finally {
    await p.close();
    rmSync(parent, { recursive: true, force: true });
  }
});

for (const mode of modes) {
  describe(`secrets at rest (${mode})`, runsIn(mode), () => {
    let sim: WaSimulator;
    let zoho: ZohoSimulator;
    const zohoEnv = () => ({
      ZOHO_ACCOUNTS_URL: zoho.accountsUrl,
      ZOHO_API_URL: zoho.apiUrl,
      ZOHO_CLIENT_ID: '1000.CLIENT',
      ZOHO_CLIENT_SECRET: 'zoho-secret',
      ZOHO_REFRESH_TOKEN: '1000.refresh',
      ZOHO_CREATOR_OWNER: 'o',
      ZOHO_CREATOR_APP: 'a',
      ZOHO_CREATOR_REPORT: 'Access_Codes',
      ZOHO_ORGANIZATION_ID: '60000000001',
      ZOHO_SYNC_INTERVAL_MINUTES: '0',
      ZOHO_CODE_SYNC_INTERVAL_MINUTES: '0',
    });
    before(async () => {
      sim = await startWhatsAppSimulator();
      zoho = await startZohoSimulator({
        clientId: '1000.CLIENT',
        clientSecret: 'zoho-secret',
        refreshToken: '1000.refresh',
        initialCode: 'SECRET-CODE',
        items: 3,
      });
    });
    after(async () => {
      await sim?.close();
      await zoho?.close();
    });

    test('device credentials, the Zoho access token and a generated JWT secret are stored encrypted', async () => {
      const { storage, p } = await startWith(mode, { ...zohoEnv(), JWT_SECRET: undefined });
      try {
        const dev = sim.addDevice({ provider: 'evolution' });
        const created = await p.api('/devices', { body: { name: 'sealed', provider: 'evolution', base_url: dev.baseUrl, credentials: dev.credentials } });
        assert.equal(created.status, 201);
        assert.equal(created.body.device.connected, true, 'the provider got the real key');
        const [row] = await p.ctx.db.query<{ c: string }>('SELECT credentials::text AS c FROM devices WHERE id = $1', [created.body.device.id]);
        assert.ok(!row!.c.includes(dev.credentials.api_key!), 'the API key is not in the row');
        assert.match(row!.c, /enc:v1:/);

        const sync = await p.api('/api/products/sync', { body: { full: true } });
        await waitForJob(p, sync.body.job_id);
        const [token] = await p.ctx.db.query<{ access_token: string }>('SELECT access_token FROM zoho_tokens');
        assert.match(token!.access_token, /^enc:v1:/);
        assert.doesNotMatch(token!.access_token, /^1000\./);

        if (mode === 'scaled') {
          const [jwt] = await p.ctx.db.query<{ value: string }>(`SELECT value FROM settings WHERE key = 'jwt_secret'`);
          assert.match(jwt!.value, /^enc:v1:/);
        }
      } finally {
        await p.close();
        await storage.dispose();
      }
    });

    test('secrets an older version stored in the clear still work and are encrypted at the next start', async () => {
      const { storage, p } = await startWith(mode, { ...zohoEnv(), JWT_SECRET: undefined });
      let again: TestPuente | null = null;
      try {
        const dev = sim.addDevice({ provider: 'waha' });
        const [legacy] = await p.ctx.db.query<{ id: number }>(
          `INSERT INTO devices (name, provider, base_url, credentials) VALUES ('legacy', 'waha', $1, $2::jsonb) RETURNING id`,
          [dev.baseUrl, JSON.stringify(dev.credentials)],
        );
        await p.ctx.db.query(`INSERT INTO zoho_tokens (id, access_token, expires_at) VALUES ('1000.CLIENT', 'plain-old-token', now() + interval '1 hour')`);
        const plainJwt = 'a-plain-jwt-secret-from-an-older-version-0123456789';
        if (mode === 'scaled') await p.ctx.db.query(`UPDATE settings SET value = to_jsonb($1::text) WHERE key = 'jwt_secret'`, [plainJwt]);
        await p.close();

        again = await startPuente(testEnv({ ...storage.env, ...zohoEnv(), JWT_SECRET: undefined }));
        const [row] = await again.ctx.db.query<{ c: string }>('SELECT credentials::text AS c FROM devices WHERE id = $1', [legacy!.id]);
        assert.ok(!row!.c.includes(dev.credentials.api_key!));
        const checked = await again.api(`/devices/${legacy!.id}/check`, { method: 'POST' });
        assert.equal(checked.body.device.connected, true, 'the re-encrypted credentials still reach the provider');
        const [token] = await again.ctx.db.query<{ access_token: string }>('SELECT access_token FROM zoho_tokens');
        assert.match(token!.access_token, /^enc:v1:/);
        assert.equal(await again.ctx.secrets.open(token!.access_token), 'plain-old-token');
        if (mode === 'scaled') {
          const [jwt] = await again.ctx.db.query<{ value: string }>(`SELECT value FROM settings WHERE key = 'jwt_secret'`);
          assert.equal(await again.ctx.secrets.open(jwt!.value), plainJwt, 'the same JWT secret, now encrypted');
          assert.match(jwt!.value, /^enc:v1:/);
        }
      } finally {
        await (again ?? p).close();
        await storage.dispose();
      }
    });

    test('puente secrets rotate re-encrypts everything under a new key, generated or from SECRET_KEY', async () => {
      for (const keys of [
        { before: {}, rotate: {}, after: {} },
        {
          before: { SECRET_KEY: 'first-secret-key-first-secret-key-0001' },
          rotate: { SECRET_KEY: 'second-secret-key-second-secret-key-02', SECRET_KEY_PREVIOUS: 'first-secret-key-first-secret-key-0001' },
          after: { SECRET_KEY: 'second-secret-key-second-secret-key-02' },
        },
      ]) {
        const { storage, p } = await startWith(mode, keys.before);
        let again: TestPuente | null = null;
        try {
          const dev = sim.addDevice({ provider: 'simulator' });
          const id = (await p.api('/devices', { body: { name: 'rotating', provider: 'simulator', base_url: dev.baseUrl, credentials: dev.credentials } })).body
            .device.id;
          const stored = async (q: TestPuente) =>
            (await q.ctx.db.query<{ c: string }>("SELECT credentials->>'$sealed' AS c FROM devices WHERE id = $1", [id]))[0]!.c;
          const before = await stored(p);
          const oldKey = p.ctx.secrets.currentKeyId;
          await p.close();

          const rotated = await puenteCli(['secrets', 'rotate'], testEnv({ ...storage.env, ...keys.rotate, LOG_LEVEL: 'warn' }));
          assert.equal(rotated.code, 0, rotated.stderr);
          assert.match(rotated.stdout, /device credentials: 1/);

          again = await startPuente(testEnv({ ...storage.env, ...keys.after }));
          const after = await stored(again);
          assert.notEqual(again.ctx.secrets.currentKeyId, oldKey);
          assert.ok(after.startsWith(`enc:v1:${again.ctx.secrets.currentKeyId}:`) && before.startsWith(`enc:v1:${oldKey}:`), 'sealed under the new key');
          assert.equal((await again.api(`/devices/${id}/check`, { method: 'POST' })).body.device.connected, true);
          if (!('SECRET_KEY' in keys.after) && mode === 'embedded') {
            assert.equal(readFileSync(join(storage.env.DATA_DIR!, 'secret-key'), 'utf8').trim().split('\n').length, 1, 'the old key is gone');
          }
        } finally {
          await (again ?? p).close();
          await storage.dispose();
        }
      }
    });
  });
}
