import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { ConfigError, loadConfig } from '../src/platform/config.ts';
import { hashPassword, verifyPassword } from '../src/platform/auth/passwords.ts';
import { copyInTransaction, copyText, rows, type Tx } from '../src/platform/db/client.ts';
import { sql } from 'drizzle-orm';
import bcrypt from 'bcryptjs';
import { ADMIN, freshStorage, modes, runsIn, startPuente, testEnv, waitForJob, type Storage, type TestPuente } from './support/puente.ts';

test('a wrong or missing configuration value stops start-up naming the variable', () => {
  assert.throws(
    () => loadConfig({ PORT: 'abc', DATABASE_URL: 'mysql://x', ADMIN_EMAIL: 'a@b.co' }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /PORT/);
      assert.match(err.message, /DATABASE_URL/);
      assert.match(err.message, /ADMIN_PASSWORD: is required when ADMIN_EMAIL is set/);
      return true;
    },
  );
  assert.equal(loadConfig({}).PORT, 5000);
  assert.equal(loadConfig({}).WISPRO_PER_PAGE, 100);
});

test('passwords: argon2id for new hashes, and imported Laravel $2y$ bcrypt hashes verify', async () => {
  const h = await hashPassword('s3cret-pass');
  assert.match(h, /^\$argon2id\$/);
  assert.equal(await verifyPassword('s3cret-pass', h), true);
  assert.equal(await verifyPassword('wrong', h), false);
  const laravel = bcrypt.hashSync('12345678', 4).replace(/^\$2[ab]\$/, '$2y$');
  assert.equal(await verifyPassword('12345678', laravel), true);
  assert.equal(await verifyPassword('1234567', laravel), false);
});

for (const mode of modes) {
  describe(`platform (${mode})`, runsIn(mode), () => {
    let storage: Storage;
    let p: TestPuente;
    before(async () => {
      storage = await freshStorage(mode);
      // Logins in the other tests never meet the limit; the rate-limit test has a Puente of its own.
      p = await startPuente(testEnv({ ...storage.env, LOGIN_RATE_LIMIT_PER_MINUTE: '1000' }));
    });
    after(async () => {
      await p?.close();
      await storage?.dispose();
    });

    test('health, readiness and OpenAPI docs answer', async () => {
      assert.equal((await p.api('/health')).body.status, 'ok');
      const ready = await p.api('/ready');
      assert.equal(ready.status, 200);
      assert.equal(ready.body.checks.mode, mode === 'embedded' ? 'embedded' : 'scaled-out');
      const docs = await p.api('/docs/json');
      assert.equal(docs.status, 200);
      assert.ok(docs.body.paths['/api/users/sync-wispro-all']);
      assert.ok(docs.body.paths['/jobs/{job_id}']);
    });

    test('COPY loads rows as written; a refused COPY stores nothing and its connection serves the next statements', async () => {
      const db = p.ctx.db;
      await db.exec('CREATE TABLE IF NOT EXISTS copy_probe (n int PRIMARY KEY, v text); TRUNCATE copy_probe');
      const values = ['tab\tin', 'back\\slash', 'line\nbreak', 'cr\rhere', '\\N', '\\.', 'ñandú 😀', null];
      await db.copyIn('copy_probe (n, v)', values.map((v, i) => `${i}\t${copyText(v)}\n`).join(''));
      const stored = await db.query<{ n: number; v: string | null }>('SELECT n, v FROM copy_probe ORDER BY n');
      assert.deepEqual(
        stored.map((r) => r.v),
        values,
      );
      // A repeated key: the whole COPY is refused, with the database's own code, and nothing of it stays.
      await assert.rejects(db.copyIn('copy_probe (n, v)', '100\tnew\n0\tagain\n'), (err: { code?: string }) => err.code === '23505');
      // Each connection of the pool (or the one embedded database) is still usable.
      const counts = await Promise.all(Array.from({ length: 12 }, () => db.query<{ n: number }>('SELECT count(*)::int AS n FROM copy_probe')));
      assert.deepEqual(
        counts.map(([c]) => c!.n),
        Array(12).fill(values.length),
      );
      await db.copyIn('copy_probe (n, v)', '101\tafter\n');
      assert.deepEqual(
        (await db.query<{ n: number }>('SELECT n FROM copy_probe WHERE n >= 100 ORDER BY n')).map((r) => r.n),
        [101],
      );
    });

    test('a COPY inside a transaction commits with it, rolls back with it, and a refused one fails only that transaction', async () => {
      const db = p.ctx.db;
      await db.exec('CREATE TABLE IF NOT EXISTS copy_tx_probe (n int PRIMARY KEY, v text); TRUNCATE copy_tx_probe');
      const stored = async () => (await db.query<{ n: number }>('SELECT n FROM copy_tx_probe ORDER BY n')).map((r) => r.n);
      await db.orm.transaction(async (tx) => {
        await copyInTransaction(tx as Tx, 'copy_tx_probe (n, v)', `1\t${copyText('uno\tdos')}\n2\t\\N\n`);
        await tx.execute(sql`INSERT INTO copy_tx_probe VALUES (3, 'tres')`);
        // The transaction sees its own COPY before it commits.
        const [seen] = await rows<{ n: number }>(tx, sql`SELECT count(*)::int AS n FROM copy_tx_probe`);
        assert.equal(seen?.n, 3);
      });
      assert.deepEqual(await stored(), [1, 2, 3]);
      assert.deepEqual(
        (await db.query<{ v: string | null }>('SELECT v FROM copy_tx_probe WHERE n < 3 ORDER BY n')).map((r) => r.v),
        ['uno\tdos', null],
      );
      // Work after the COPY fails: the COPY's rows go with the rest.
      await assert.rejects(
        db.orm.transaction(async (tx) => {
          await copyInTransaction(tx as Tx, 'copy_tx_probe (n, v)', '10\tdiez\n');
          throw new Error('later step failed');
        }),
        /later step failed/,
      );
      // A refused COPY (a repeated key) fails its transaction, with the database's code, and keeps none of its rows.
      await assert.rejects(
        db.orm.transaction(async (tx) => {
          await tx.execute(sql`INSERT INTO copy_tx_probe VALUES (20, 'veinte')`);
          await copyInTransaction(tx as Tx, 'copy_tx_probe (n, v)', '21\tok\n1\tagain\n');
        }),
        (err: { code?: string; cause?: { code?: string } }) => (err.code ?? err.cause?.code) === '23505',
      );
      assert.deepEqual(await stored(), [1, 2, 3]);
      // The connection that carried it serves the next transactions.
      for (let i = 0; i < 12; i++) await db.orm.transaction(async (tx) => copyInTransaction(tx as Tx, 'copy_tx_probe (n, v)', `${100 + i}\tx\n`));
      assert.equal((await stored()).length, 15);
      await db.exec('DROP TABLE copy_tx_probe');
    });

    test('the job socket answers ping with pong, and replies carry a request id', async () => {
      const { job } = await p.ctx.jobs.start('wispro.sync', {});
      // With a token: a token-less viewer's socket is closed once the job has ended, which this job may do at once.
      const ws = new WebSocket(`${p.url.replace('http', 'ws')}/ws/job/${job.id}?token=${p.token}`);
      const pong = await new Promise<any>((resolve, reject) => {
        ws.on('close', (code) => reject(new Error(`socket closed (${code}) before the pong`)));
        ws.on('message', (m) => {
          const e = JSON.parse(String(m));
          if (e.type === 'subscribed') ws.send(JSON.stringify({ type: 'ping', timestamp: 't-1' }));
          if (e.type === 'pong') resolve(e);
        });
        ws.on('error', reject);
      });
      ws.close();
      assert.deepEqual(pong, { type: 'pong', job_id: job.id, timestamp: 't-1' });
      const res = await p.api('/health', { headers: { 'x-request-id': 'req-abc' } });
      assert.equal(res.headers.get('x-request-id'), 'req-abc');
      const refused = await new Promise<number>((resolve) => {
        const bad = new WebSocket(`${p.url.replace('http', 'ws')}/ws/job/${job.id}?token=forged`);
        bad.on('unexpected-response', (_req, r) => resolve(r.statusCode ?? 0));
        bad.on('open', () => resolve(101));
      });
      assert.equal(refused, 401, 'a forged token is refused');
    });

    test('timestamps in replies are ISO 8601 in UTC', async () => {
      const { job } = await p.ctx.jobs.start('wispro.sync', {});
      const reply = (await p.api(`/jobs/${job.id}`)).body;
      assert.match(reply.created_at, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      assert.ok(Math.abs(Date.parse(reply.created_at) - Date.now()) < 60_000);
      await p.api(`/jobs/${job.id}/cancel`, { method: 'POST' });
    });

    test('old finished runs of scheduled jobs are cleaned up; jobs people started are kept', async () => {
      const ids = ['aaaaaaaa-0000-4000-8000-000000000001', 'aaaaaaaa-0000-4000-8000-000000000002', 'aaaaaaaa-0000-4000-8000-000000000003'];
      await p.ctx.db.query(
        `INSERT INTO jobs (id, type, status, created_by, finished_at) VALUES
        ($1, 'zoho.product-sync', 'completed', 'schedule', now() - interval '8 days'),
        ($2, 'zoho.product-sync', 'completed', 'schedule', now() - interval '1 day'),
        ($3, 'wispro.sync', 'completed', '1', now() - interval '30 days')`,
        ids,
      );
      const { job } = await p.ctx.jobs.start('platform.jobs-cleanup', {});
      const done = await waitForJob(p, job.id);
      assert.equal(done.results.deleted, 1);
      const left = (await p.ctx.db.query<{ id: string }>('SELECT id FROM jobs WHERE id = ANY($1::uuid[])', [ids])).map((r) => r.id).sort();
      assert.deepEqual(left, ids.slice(1));
    });

    test('protected routes answer 401 without a valid bearer token', async () => {
      for (const token of [null, 'garbage', p.token + 'x']) {
        const res = await p.api('/api/users', { token });
        assert.equal(res.status, 401);
        assert.equal(res.body.success, false);
        assert.equal(res.body.code, token === null ? 'auth.missing_token' : 'auth.invalid_token');
      }
    });

    test('login returns access and refresh tokens; refresh issues a new pair; bad password is 401', async () => {
      const bad = await p.api('/auth/login', { body: { email: ADMIN.email, password: 'nope' }, token: null });
      assert.equal(bad.status, 401);
      assert.equal(bad.body.success, false);
      assert.equal(bad.body.code, 'auth.invalid_credentials');
      const ok = await p.api('/auth/login', { body: ADMIN, token: null });
      assert.equal(ok.status, 200);
      assert.ok(ok.body.access_token && ok.body.refresh_token);
      assert.equal(ok.body.user.role_name, 'admin');
      const refreshed = await p.api('/auth/refresh', { body: { refresh_token: ok.body.refresh_token }, token: null });
      assert.equal(refreshed.status, 200);
      const me = await p.api('/auth/me', { token: refreshed.body.access_token });
      assert.equal(me.body.user.email, ADMIN.email);
      // an access token is not a refresh token
      assert.equal((await p.api('/auth/refresh', { body: { refresh_token: ok.body.access_token }, token: null })).status, 401);
    });

    test('invalid input gets a 400 naming the field', async () => {
      const res = await p.api('/api/users?per_page=0');
      assert.equal(res.status, 400);
      assert.equal(res.body.code, 'validation_error');
      assert.ok(
        res.body.details.some((i: { field: string }) => i.field.endsWith('.per_page')),
        JSON.stringify(res.body.details),
      );
      assert.equal((await p.api('/api/users/abc')).status, 400);
      assert.equal((await p.api('/api/users/999999')).status, 404);
    });

    test('unknown jobs are 404 on REST and on the socket', async () => {
      const res = await p.api('/jobs/00000000-0000-4000-8000-000000000000');
      assert.equal(res.status, 404);
      assert.equal(res.body.status, 'error');
      assert.equal(res.body.code, 'job.not_found');
      const events = await collect(`${p.url.replace('http', 'ws')}/ws/job/00000000-0000-4000-8000-000000000000`, 2);
      assert.deepEqual(
        events.map((e) => e.type),
        ['subscribed', 'job_failed'],
      );
    });

    test('admins create operators; operators cannot create staff', async () => {
      const created = await p.api('/api/admin/users', { body: { name: 'Op', email: 'op@test.local', password: 'operator-pass-1', role: 'operator' } });
      assert.equal(created.status, 201);
      const dup = await p.api('/api/admin/users', { body: { name: 'Op', email: 'op@test.local', password: 'operator-pass-1', role: 'operator' } });
      assert.deepEqual([dup.status, dup.body.code, dup.body.email], [409, 'users.email_taken', 'op@test.local']);
      const op = await p.api('/auth/login', { body: { email: 'op@test.local', password: 'operator-pass-1' }, token: null });
      assert.equal(op.status, 200);
      assert.equal(op.body.user.role_name, 'operator');
      const denied = await p.api('/api/admin/users', {
        token: op.body.access_token,
        body: { name: 'X', email: 'x@test.local', password: 'whatever-123', role: 'admin' },
      });
      assert.deepEqual([denied.status, denied.body.code], [403, 'auth.forbidden']);
    });

    test('login is rate-limited per client address', async () => {
      const own = await freshStorage(mode, { migrated: true });
      const limitedPuente = await startPuente(testEnv({ ...own.env, LOGIN_RATE_LIMIT_PER_MINUTE: '5' })).catch(async (err) => {
        await own.dispose();
        throw err;
      });
      try {
        let limited = null;
        for (let i = 0; i < 8 && !limited; i++) {
          const res = await limitedPuente.api('/auth/login', { body: { email: 'x@y.zz', password: 'guess' }, token: null });
          if (res.status === 429) limited = res;
        }
        assert.ok(limited, 'expected a 429 after 5 attempts in a minute');
        assert.equal(limited.body.code, 'rate_limited');
      } finally {
        await limitedPuente.close();
        await own.dispose();
      }
    });
  });
}

function collect(url: string, count: number): Promise<any[]> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const got: any[] = [];
    const timer = setTimeout(() => reject(new Error(`only ${got.length} events`)), 5000);
    ws.on('message', (m) => {
      got.push(JSON.parse(String(m)));
      if (got.length >= count) {
        clearTimeout(timer);
        ws.close();
        resolve(got);
      }
    });
    ws.on('error', reject);
  });
}
