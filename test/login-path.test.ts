import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { freshStorage, modes, runsIn, startPuente, testEnv, type Storage, type TestPuente } from './support/puente.ts';

for (const mode of modes) {
  describe(`code login path (${mode})`, runsIn(mode), () => {
    let storage: Storage;
    let p: TestPuente;
    const login = (body: unknown) => p.api('/auth/login', { body, token: null });
    const sessions = async () => (await p.ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM auth_sessions'))[0]!.n;

    before(async () => {
      storage = await freshStorage(mode);
      p = await startPuente(testEnv(storage.env));
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
  });
}
