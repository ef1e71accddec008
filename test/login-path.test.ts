import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { freshStorage, modes, runsIn, startPuente, testEnv, type Storage, type TestPuente } from './support/puente.ts';

/** The session an access token names (its `sid` claim). */
const sidOf = (accessToken: string) => JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString()).sid as string;

for (const mode of modes) {
  describe(`code login path (${mode})`, runsIn(mode), () => {
    let storage: Storage;
    let p: TestPuente;
    const login = (body: unknown) => p.api('/auth/login', { body, token: null });
    const sessions = async () => (await p.ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM auth_sessions'))[0]!.n;
    const sessionExists = async (id: string) => (await p.ctx.db.query('SELECT 1 FROM auth_sessions WHERE id = $1::uuid', [id])).length === 1;

    before(async () => {
      storage = await freshStorage(mode);
      // Many logins from one address in these tests: the per-address request limit is not what is tested here.
      p = await startPuente(testEnv({ ...storage.env, LOGIN_RATE_LIMIT_PER_MINUTE: '100000' }));
      await p.ctx.services.zoho.updateCode('PATH-CODE-1');
    });
    after(async () => {
      await p?.close();
      await storage?.dispose();
    });

    test('a code login writes its session and refresh token together; the pair works', async () => {
      const before = await sessions();
      const res = await login({ code: 'PATH-CODE-1' });
      assert.equal(res.status, 200);
      assert.equal(await sessions(), before + 1);
      assert.equal((await p.api('/auth/me', { token: res.body.access_token })).status, 200, 'the access token names a live session');
      const refreshed = await p.api('/auth/refresh', { body: { refresh_token: res.body.refresh_token }, token: null });
      assert.equal(refreshed.status, 200, 'the refresh token was stored with the session');
    });

    /** Runs `fn` with a count of the statements that write sessions (a statement-level trigger). */
    async function countingStatements(fn: () => Promise<void>): Promise<number> {
      await p.ctx.db.exec(`
        CREATE TABLE test_session_statements (n int);
        CREATE FUNCTION test_count_session_statement() RETURNS trigger LANGUAGE plpgsql AS
          $$ BEGIN INSERT INTO test_session_statements VALUES (1); RETURN NULL; END $$;
        CREATE TRIGGER test_count_session_statement AFTER INSERT ON auth_sessions FOR EACH STATEMENT EXECUTE FUNCTION test_count_session_statement();`);
      try {
        await fn();
        return (await p.ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM test_session_statements'))[0]!.n;
      } finally {
        await p.ctx.db.exec(`
          DROP TRIGGER test_count_session_statement ON auth_sessions;
          DROP FUNCTION test_count_session_statement();
          DROP TABLE test_session_statements;`);
      }
    }

    test('many concurrent logins each get a session of their own whose tokens work', async () => {
      const n = 120;
      const before = await sessions();
      const replies = await Promise.all(Array.from({ length: n }, () => login({ code: 'PATH-CODE-1' })));
      assert.deepEqual(
        replies.map((r) => r.status),
        replies.map(() => 200),
      );
      assert.equal(await sessions(), before + n, 'one session per login');
      assert.equal(new Set(replies.map((r) => sidOf(r.body.access_token))).size, n, 'no two logins share a session');
      assert.equal(new Set(replies.map((r) => r.body.refresh_token)).size, n, 'nor a refresh token');
      for (const r of replies) {
        assert.equal((await p.api('/auth/me', { token: r.body.access_token })).status, 200);
        const refreshed = await p.api('/auth/refresh', { body: { refresh_token: r.body.refresh_token }, token: null });
        assert.equal(refreshed.status, 200, 'each login refreshes its own session');
        assert.equal(sidOf(refreshed.body.access_token), sidOf(r.body.access_token));
      }
    });

    test('sessions opened while a write is pending are written together, at most one statement behind the first', async () => {
      const n = 40;
      let pairs: { access_token: string; refresh_token: string }[] = [];
      const statements = await countingStatements(async () => {
        pairs = await Promise.all(Array.from({ length: n }, (_, i) => p.ctx.sessions.open({ userId: null, codeId: 1, role: 'operator' }, `10.10.0.${i}`)));
      });
      // PostgreSQL: the first goes at once and the rest wait for it; embedded: all go at the end of the turn.
      assert.ok(statements <= 2, `${n} sessions were written by ${statements} statements`);
      for (const pair of pairs) {
        assert.ok(await sessionExists(sidOf(pair.access_token)));
        assert.equal((await p.api('/auth/refresh', { body: { refresh_token: pair.refresh_token }, token: null })).status, 200);
      }
    });

    test('on PostgreSQL, opening sessions commits without waiting for the disk, alone or together', {
      skip: mode !== 'scaled' && 'PostgreSQL only: the embedded database writes sessions through its own script',
    }, async () => {
      // What `synchronous_commit` is when the statement that opens sessions ends: a statement-level
      // trigger on the refresh tokens, which that statement writes last, records it.
      await p.ctx.db.exec(`
        CREATE TABLE test_session_commits (setting text);
        CREATE FUNCTION test_session_commit() RETURNS trigger LANGUAGE plpgsql AS
          $$ BEGIN INSERT INTO test_session_commits VALUES (current_setting('synchronous_commit')); RETURN NULL; END $$;
        CREATE TRIGGER test_session_commit AFTER INSERT ON auth_refresh_tokens FOR EACH STATEMENT EXECUTE FUNCTION test_session_commit();`);
      try {
        const one = await login({ code: 'PATH-CODE-1' });
        assert.equal(one.status, 200);
        const many = await Promise.all(
          Array.from({ length: 20 }, (_, i) => p.ctx.sessions.open({ userId: null, codeId: 1, role: 'operator' }, `10.20.0.${i}`)),
        );
        for (const pair of many) assert.ok(await sessionExists(sidOf(pair.access_token)));
        const settings = (await p.ctx.db.query<{ setting: string }>('SELECT setting FROM test_session_commits')).map((r) => r.setting);
        assert.ok(settings.length >= 2, `statements seen: ${settings.length}`);
        assert.deepEqual([...new Set(settings)], ['off'], 'every session statement commits without a WAL flush');
        assert.equal(
          (await p.ctx.db.query<{ s: string }>("SELECT current_setting('synchronous_commit') AS s"))[0]!.s,
          'on',
          "the pool's other statements still wait for the disk",
        );
        assert.equal((await p.api('/auth/refresh', { body: { refresh_token: one.body.refresh_token }, token: null })).status, 200);
      } finally {
        await p.ctx.db.exec(`
          DROP TRIGGER test_session_commit ON auth_refresh_tokens;
          DROP FUNCTION test_session_commit();
          DROP TABLE test_session_commits;`);
      }
    });

    test('what a session stores is stored verbatim, quotes and backslashes included', async () => {
      const odd = ["203.0.113.9', NULL, NULL); DROP TABLE auth_sessions; --", 'fe80::1%eth0', "a\\b'c"];
      const pairs = await Promise.all(odd.map((ip) => p.ctx.sessions.open({ userId: null, codeId: 1, role: 'operator' }, ip)));
      for (const [i, pair] of pairs.entries()) {
        const [row] = await p.ctx.db.query<{ created_ip: string }>('SELECT created_ip FROM auth_sessions WHERE id = $1::uuid', [sidOf(pair.access_token)]);
        assert.equal(row?.created_ip, odd[i]);
      }
    });

    test('when the session cannot be written, the login fails with an error and hands out no token; logins work again after', async () => {
      await p.ctx.db.exec(`ALTER TABLE auth_sessions ADD CONSTRAINT test_refuse_sessions CHECK (created_ip IS NULL) NOT VALID`);
      let refused: Awaited<ReturnType<typeof login>>[];
      const before = await sessions();
      try {
        refused = await Promise.all(Array.from({ length: 20 }, () => login({ code: 'PATH-CODE-1' })));
      } finally {
        await p.ctx.db.exec('ALTER TABLE auth_sessions DROP CONSTRAINT test_refuse_sessions');
      }
      for (const r of refused) {
        assert.equal(r.status, 500);
        assert.equal(r.body.code, 'internal_error');
        assert.equal(r.body.access_token, undefined);
        assert.equal(r.body.refresh_token, undefined);
      }
      assert.equal(await sessions(), before, 'no session was written');
      const again = await Promise.all(Array.from({ length: 5 }, () => login({ code: 'PATH-CODE-1' })));
      assert.deepEqual(
        again.map((r) => r.status),
        [200, 200, 200, 200, 200],
      );
    });

    test('a session refused in a shared statement fails only its own login', async () => {
      // A login for an account deleted meanwhile: its session breaks the users foreign key.
      const opens = Array.from({ length: 30 }, (_, i) =>
        p.ctx.sessions.open({ userId: i === 7 ? 2_000_000_000 : null, codeId: i === 7 ? null : 1, role: 'operator' }, `10.20.0.${i}`),
      );
      const settled = await Promise.allSettled(opens);
      assert.equal(settled[7]!.status, 'rejected', 'the session at fault is refused');
      assert.match(String((settled[7] as PromiseRejectedResult).reason?.cause?.message ?? (settled[7] as PromiseRejectedResult).reason), /foreign key/);
      for (const [i, s] of settled.entries()) {
        if (i === 7) continue;
        assert.equal(s.status, 'fulfilled', `login ${i} beside it is written`);
        const pair = (s as PromiseFulfilledResult<{ access_token: string; refresh_token: string }>).value;
        assert.ok(await sessionExists(sidOf(pair.access_token)));
        assert.equal((await p.api('/auth/refresh', { body: { refresh_token: pair.refresh_token }, token: null })).status, 200);
      }
    });

    test('a statement that fails for every row fails all its logins, each with the error, and none has a session', async () => {
      // Any failure but an integrity violation (here: a trigger that raises) ends the whole shared statement.
      await p.ctx.db.exec(`
        CREATE FUNCTION test_refuse_login() RETURNS trigger LANGUAGE plpgsql AS
          $$ BEGIN IF NEW.created_ip = '10.30.0.3' THEN RAISE EXCEPTION 'refused for the test'; END IF; RETURN NEW; END $$;
        CREATE TRIGGER test_refuse_login BEFORE INSERT ON auth_sessions FOR EACH ROW EXECUTE FUNCTION test_refuse_login();`);
      let settled: PromiseSettledResult<{ access_token: string; refresh_token: string }>[];
      try {
        settled = await Promise.allSettled(
          Array.from({ length: 12 }, (_, i) => p.ctx.sessions.open({ userId: null, codeId: 1, role: 'operator' }, `10.30.0.${i}`)),
        );
      } finally {
        await p.ctx.db.exec('DROP TRIGGER test_refuse_login ON auth_sessions; DROP FUNCTION test_refuse_login();');
      }
      assert.equal(settled[3]!.status, 'rejected');
      const written = (await p.ctx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM auth_sessions WHERE created_ip LIKE '10.30.0.%'`))[0]!.n;
      const fulfilled = settled.filter((s) => s.status === 'fulfilled');
      assert.equal(written, fulfilled.length, 'a token only for a written session');
      assert.ok(fulfilled.length < 11, 'the logins sharing the refused statement failed with it');
      for (const s of settled) {
        if (s.status === 'rejected') assert.match(String(s.reason?.cause?.message ?? s.reason), /refused for the test/);
        else assert.ok(await sessionExists(sidOf(s.value.access_token)));
      }
    });
  });
}
