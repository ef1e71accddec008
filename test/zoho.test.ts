import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startZohoSimulator, type ZohoSimulator } from '../src/simulators/zoho/zoho.simulator.ts';
import { eventually, freshStorage, modes, startPuente, testEnv, waitForJob, type Storage, type TestPuente } from './support/puente.ts';

const CREDS = { clientId: '1000.CLIENT', clientSecret: 'zoho-secret', refreshToken: '1000.refresh' };

function zohoEnv(sim: ZohoSimulator, extra: Record<string, string> = {}) {
  return {
    ZOHO_ACCOUNTS_URL: sim.accountsUrl, ZOHO_API_URL: sim.apiUrl, ZOHO_CLIENT_ID: CREDS.clientId, ZOHO_CLIENT_SECRET: CREDS.clientSecret,
    ZOHO_REFRESH_TOKEN: CREDS.refreshToken, ZOHO_CREATOR_OWNER: 'puente-owner', ZOHO_CREATOR_APP: 'puente-app', ZOHO_CREATOR_REPORT: 'Access_Codes',
    ZOHO_ORGANIZATION_ID: '60000000001', ZOHO_SYNC_INTERVAL_MINUTES: '0', LOGIN_RATE_LIMIT_PER_MINUTE: '1000', ...extra,
  };
}

for (const mode of modes) {
  describe(`Zoho code cache and products (${mode})`, () => {
    let storage: Storage;
    let sim: ZohoSimulator;
    let p: TestPuente;
    const codeLogin = (code: string) => p.api('/auth/login', { body: { code }, token: null });
    const syncCode = async () => waitForJob(p, (await p.api('/api/zoho/code/sync', { method: 'POST' })).body.job_id);
    const rowsOf = () => p.ctx.db.query<any>('SELECT * FROM zoho_code ORDER BY id');

    before(async () => {
      storage = await freshStorage(mode);
      sim = await startZohoSimulator({ ...CREDS, initialCode: 'ALPHA1', items: 450 });
      p = await startPuente(testEnv({ ...storage.env, ...zohoEnv(sim) }));
    });
    after(async () => {
      await p?.close();
      await sim?.close();
      await storage?.dispose();
    });

    test('the code is fetched once at start-up and people log in with it as operators, without calling Zoho', async () => {
      await eventually(async () => (await rowsOf()).length === 1, 15_000, 'the start-up code sync');
      const calls = sim.creatorCalls;
      const ok = await codeLogin('ALPHA1');
      assert.equal(ok.status, 200);
      assert.ok(ok.body.access_token && ok.body.refresh_token);
      assert.equal(ok.body.user.role, 'operator');
      assert.equal((await p.api('/jobs', { token: ok.body.access_token })).status, 200, 'an operator token works on operator routes');
      const unknown = await codeLogin('NOPE');
      assert.equal(unknown.status, 401);
      assert.match(unknown.body.message, /Código inválido o vencido/);
      assert.equal(sim.creatorCalls, calls, 'login never calls Zoho');
    });

    test('an unchanged code changes nothing; a rotated one expires the old code in the same sync', async () => {
      const same = await syncCode();
      assert.equal(same.results.outcome, 'unchanged');
      assert.equal((await rowsOf()).length, 1);
      sim.rotateCode('BRAVO2');
      const rotated = await syncCode();
      assert.equal(rotated.results.outcome, 'rotated');
      const rows = await rowsOf();
      assert.equal(rows.length, 2);
      assert.ok(rows[0].expired_at, 'the old code is expired');
      assert.equal(rows[1].expired_at, null);
      assert.equal((await codeLogin('ALPHA1')).status, 401, 'an expired code no longer logs in');
      assert.equal((await codeLogin('BRAVO2')).status, 200);
      const meta = await p.api('/api/zoho/code');
      assert.equal(meta.body.data.id, rows[1].id);
      assert.equal(meta.body.data.zoho_code, undefined, 'the code itself is not shown by default');
      assert.equal((await p.api('/api/zoho/code?reveal=true')).body.data.zoho_code, 'BRAVO2');
      const history = await p.api('/api/zoho/code/history');
      assert.equal(history.body.data.length, 2);
    });

    test('"no records" (3100, with HTTP 200 or 404) keeps the current code and does not fail', async () => {
      sim.removeAccessRecord();
      for (const as404 of [false, true]) {
        sim.setFaults({ creatorNotFoundAs404: as404 });
        const job = await syncCode();
        assert.equal(job.status, 'completed');
        assert.equal(job.results.outcome, 'no_records');
      }
      sim.setFaults({});
      assert.equal((await codeLogin('BRAVO2')).status, 200);
      sim.rotateCode('BRAVO2');
    });

    test('Zoho down: login keeps working, the job fails visibly and the stats show it', async () => {
      sim.setFaults({ apiDown: true });
      const res = await p.api('/api/zoho/code/sync', { method: 'POST' });
      await eventually(async () => (await p.api(`/jobs/${res.body.job_id}`)).body.error, 30_000, 'the attempt to fail');
      assert.equal((await codeLogin('BRAVO2')).status, 200);
      const stats = (await p.api('/api/zoho/code/stats')).body.stats;
      assert.match(stats.last_code_sync.error, /HTTP 503/);
      await p.api(`/jobs/${res.body.job_id}/cancel`, { method: 'POST' });
      sim.setFaults({});
    });

    test('the access token is reused across restarts; a rejected one is renewed once', async () => {
      const before = sim.refreshCount;
      await p.close();
      p = await startPuente(testEnv({ ...storage.env, ...zohoEnv(sim) }));
      await syncCode();
      assert.equal(sim.refreshCount, before, 'no refresh after a restart');
      sim.expireAllTokens();
      const job = await syncCode();
      assert.equal(job.status, 'completed');
      assert.equal(sim.refreshCount, before + 1);
    });

    test('a bad refresh token (an error Zoho sends with HTTP 200) fails the job at once, naming the setting', async () => {
      const own = await freshStorage(mode);
      const other = await startPuente(testEnv({ ...own.env, ...zohoEnv(sim, { ZOHO_REFRESH_TOKEN: 'wrong', ZOHO_CLIENT_ID: '1000.OTHER' }), ZOHO_CODE_SYNC_INTERVAL_MINUTES: '0' })).catch(async (err) => {
        await own.dispose();
        throw err;
      });
      try {
        const res = await other.api('/api/zoho/code/sync', { method: 'POST' });
        const job = await waitForJob(other, res.body.job_id);
        assert.equal(job.status, 'failed');
        assert.match(job.error, /ZOHO_REFRESH_TOKEN|invalid_client|invalid_code/);
        assert.equal(job.attempts, 1, 'not retried');
      } finally {
        await other.close();
        await own.dispose();
      }
    });

    test('code guessing is rate-limited per client address', async () => {
      const own = await freshStorage(mode);
      const limited = await startPuente(testEnv({ ...own.env, ...zohoEnv(sim), LOGIN_RATE_LIMIT_PER_MINUTE: '5', ZOHO_CODE_SYNC_INTERVAL_MINUTES: '0' })).catch(async (err) => {
        await own.dispose();
        throw err;
      });
      try {
        const statuses: number[] = [];
        for (let i = 0; i < 7; i++) statuses.push((await limited.api('/auth/login', { body: { code: `GUESS${i}` }, token: null })).status);
        // The admin login made while starting this instance spent one of the five attempts.
        assert.deepEqual(statuses, [401, 401, 401, 401, 429, 429, 429]);
      } finally {
        await limited.close();
        await own.dispose();
      }
    });

    test('products: first sync takes every item; the next takes only what changed, and deactivates', async () => {
      const first = await waitForJob(p, (await p.api('/api/products/sync', { body: { full: false } })).body.job_id);
      assert.equal(first.status, 'completed', first.error);
      assert.equal(first.results.upserted, 450);
      assert.equal(first.results.pages, 3);
      const listed = await p.api('/api/products?per_page=5&search=Producto 1');
      assert.ok(listed.body.meta.total > 0);
      const target = sim.items[10]!;
      sim.touchItem(target.item_id, { name: 'Renombrado', status: 'inactive' });
      sim.addItems(3);
      const second = await waitForJob(p, (await p.api('/api/products/sync', { body: {} })).body.job_id);
      assert.equal(second.results.mode, 'incremental');
      assert.ok(second.results.upserted >= 4 && second.results.upserted < 20, `incremental took ${second.results.upserted}`);
      const [row] = await p.ctx.db.query<any>('SELECT * FROM products WHERE item_id = $1', [target.item_id]);
      assert.equal(row.name, 'Renombrado');
      assert.equal(row.active, false);
      assert.equal((await p.ctx.db.query<any>('SELECT count(*)::int AS n FROM products'))[0].n, 453);
    });

    test('two requests for the same sync at once run it once', async () => {
      sim.setFaults({ latencyMs: 200 });
      const [a, b] = await Promise.all([p.api('/api/zoho/code/sync', { method: 'POST' }), p.api('/api/zoho/code/sync', { method: 'POST' })]);
      assert.equal(a.body.job_id, b.body.job_id);
      await waitForJob(p, a.body.job_id);
      sim.setFaults({});
    });
  });
}

if (modes.includes('scaled')) {
  describe('Zoho schedule across two processes (PostgreSQL + Redis)', () => {
    test('a scheduled tick runs once although two processes hold the schedule', { timeout: 150_000 }, async () => {
      const storage = await freshStorage('scaled');
      const sim = await startZohoSimulator({ ...CREDS, initialCode: 'TICK1' });
      const env = testEnv({ ...storage.env, ...zohoEnv(sim), ZOHO_CODE_SYNC_INTERVAL_MINUTES: '1', ZOHO_ORGANIZATION_ID: '' });
      const a = await startPuente(env);
      const b = await startPuente(env);
      try {
        const scheduled = () => a.ctx.db.query<{ minute: Date; n: number }>(
          `SELECT date_trunc('minute', created_on) AS minute, count(*)::int AS n FROM pgboss.job
           WHERE name = 'zoho.code-sync' AND NOT (data ? 'jobId') GROUP BY 1 ORDER BY 1`);
        await eventually(async () => (await scheduled()).length > 0, 100_000, 'the first scheduled tick');
        await new Promise((r) => setTimeout(r, 8000)); // both processes' cron monitors have run again
        const ticks = await scheduled();
        assert.ok(ticks.every((t) => t.n === 1), `one job per tick: ${JSON.stringify(ticks)}`);
        const runs = await a.ctx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM jobs WHERE type = 'zoho.code-sync' AND created_by = 'schedule'`);
        assert.equal(runs[0]!.n, ticks.length, 'one recorded run per tick');
      } finally {
        await b.close();
        await a.close();
        await sim.close();
        await storage.dispose();
      }
    });
  });
}

describe('Zoho schedules', () => {
  test('intervals become cron expressions; 0 disables', async () => {
    const { cronEvery } = await import('../src/modules/zoho/zoho.jobs.ts');
    assert.equal(cronEvery(5), '*/5 * * * *');
    assert.equal(cronEvery(30), '*/30 * * * *');
    assert.equal(cronEvery(120), '0 */2 * * *');
    assert.equal(cronEvery(0), null);
  });

  test('the simulator throttles the 11th refresh in its window, as Zoho does', async () => {
    const sim = await startZohoSimulator({ ...CREDS, refreshLimit: 10, refreshWindowMs: 60_000 });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 11; i++) {
        const res = await fetch(`${sim.accountsUrl}/oauth/v2/token?grant_type=refresh_token&client_id=${CREDS.clientId}&client_secret=${CREDS.clientSecret}&refresh_token=${CREDS.refreshToken}`, { method: 'POST' });
        statuses.push(res.status);
        if (i === 10) assert.match((await res.json() as any).error_description, /too many requests/);
      }
      assert.equal(statuses.filter((s) => s === 200).length, 10);
      assert.equal(statuses[10], 400);
    } finally {
      await sim.close();
    }
  });
});
