import { describe, test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startZohoSimulator, zohoTime, type ZohoSimulator } from '../src/simulators/zoho/zoho.simulator.ts';
import { eventually, freshStorage, modes, runsIn, startPuente, testEnv, waitForJob, type Storage, type TestPuente } from './support/puente.ts';

const CREDS = { clientId: '1000.CLIENT', clientSecret: 'zoho-secret', refreshToken: '1000.refresh' };

export function zohoEnv(sim: ZohoSimulator, extra: Record<string, string> = {}) {
  return {
    ZOHO_ACCOUNTS_URL: sim.accountsUrl,
    ZOHO_API_URL: sim.apiUrl,
    ZOHO_CLIENT_ID: CREDS.clientId,
    ZOHO_CLIENT_SECRET: CREDS.clientSecret,
    ZOHO_REFRESH_TOKEN: CREDS.refreshToken,
    ZOHO_CREATOR_OWNER: 'puente-owner',
    ZOHO_CREATOR_APP: 'puente-app',
    ZOHO_CREATOR_REPORT: 'Access_Codes',
    ZOHO_ORGANIZATION_ID: '60000000001',
    ZOHO_SYNC_INTERVAL_MINUTES: '0',
    LOGIN_RATE_LIMIT_PER_MINUTE: '1000',
    ...extra,
  };
}

for (const mode of modes) {
  describe(`Zoho code cache and products (${mode})`, runsIn(mode), () => {
    let storage: Storage;
    let sim: ZohoSimulator;
    let p: TestPuente;
    const codeLogin = (code: string) => p.api('/auth/login', { body: { code }, token: null });
    const syncCode = async () => waitForJob(p, (await p.api('/api/zoho/code/sync', { method: 'POST' })).body.job_id);
    const rowsOf = () => p.ctx.db.query<any>('SELECT * FROM zoho_code ORDER BY id');
    /** The start-up code sync has stored ALPHA1 and its job has ended (a later request starts a new one). */
    const startupSynced = async () => {
      await eventually(async () => (await rowsOf()).length === 1, 15_000, 'the start-up code sync');
      const [job] = await p.ctx.db.query<{ id: string }>(`SELECT id FROM jobs WHERE type = 'zoho.code-sync' ORDER BY created_at LIMIT 1`);
      assert.ok(job, 'the start-up sync is a recorded job');
      assert.equal((await waitForJob(p, job.id)).status, 'completed');
    };
    /** A first, complete product sync of every item: the state a test about later syncs starts from. */
    const productsSynced = async () => {
      const first = await waitForJob(p, (await p.api('/api/products/sync', { body: { full: false } })).body.job_id);
      assert.equal(first.status, 'completed', first.error);
      assert.equal(first.results.upserted, sim.items.length);
      return first;
    };

    // Every test has its own database, simulator (code ALPHA1, 450 items) and Puente: none relies on
    // what another left, so each runs alone (--test-name-pattern) and in any order.
    beforeEach(async () => {
      storage = await freshStorage(mode, { migrated: true });
      sim = await startZohoSimulator({ ...CREDS, initialCode: 'ALPHA1', items: 450 });
      p = await startPuente(testEnv({ ...storage.env, ...zohoEnv(sim) }));
    });
    afterEach(async () => {
      await p?.close();
      await sim?.close();
      await storage?.dispose();
    });

    test('the code is fetched once at start-up and people log in with it as operators, without calling Zoho', async () => {
      await startupSynced();
      const calls = sim.creatorCalls;
      const ok = await codeLogin('ALPHA1');
      assert.equal(ok.status, 200);
      assert.ok(ok.body.access_token && ok.body.refresh_token);
      assert.equal(ok.body.user.role, 'operator');
      assert.equal((await p.api('/jobs', { token: ok.body.access_token })).status, 200, 'an operator token works on operator routes');
      const unknown = await codeLogin('NOPE');
      assert.equal(unknown.status, 401);
      assert.equal(unknown.body.code, 'auth.invalid_code');
      assert.equal(sim.creatorCalls, calls, 'login never calls Zoho');
    });

    test('an unchanged code changes nothing; a rotated one expires the old code in the same sync', async () => {
      await startupSynced();
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
      await startupSynced();
      sim.removeAccessRecord();
      for (const as404 of [false, true]) {
        sim.setFaults({ creatorNotFoundAs404: as404 });
        const job = await syncCode();
        assert.equal(job.status, 'completed');
        assert.equal(job.results.outcome, 'no_records');
      }
      sim.setFaults({});
      const rows = await rowsOf();
      assert.equal(rows.length, 1);
      assert.equal(rows[0].expired_at, null, 'the current code is not expired');
      assert.equal((await codeLogin('ALPHA1')).status, 200);
    });

    test('Zoho down: login keeps working, the job fails visibly and the stats show it', async () => {
      await startupSynced();
      sim.setFaults({ apiDown: true });
      const res = await p.api('/api/zoho/code/sync', { method: 'POST' });
      await eventually(async () => (await p.api(`/jobs/${res.body.job_id}`)).body.error, 30_000, 'the attempt to fail');
      assert.equal((await codeLogin('ALPHA1')).status, 200);
      const stats = (await p.api('/api/zoho/code/stats')).body.stats;
      assert.match(stats.last_code_sync.error, /HTTP 503/);
      await p.api(`/jobs/${res.body.job_id}/cancel`, { method: 'POST' });
      sim.setFaults({});
    });

    test('the access token is reused across restarts; a rejected one is renewed once', async () => {
      await startupSynced();
      const before = sim.refreshCount;
      assert.equal(before, 1, 'the start-up sync took a token');
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
      const other = await startPuente(
        testEnv({ ...own.env, ...zohoEnv(sim, { ZOHO_REFRESH_TOKEN: 'wrong', ZOHO_CLIENT_ID: '1000.OTHER' }), ZOHO_CODE_SYNC_INTERVAL_MINUTES: '0' }),
      ).catch(async (err) => {
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
      const limited = await startPuente(testEnv({ ...own.env, ...zohoEnv(sim), LOGIN_RATE_LIMIT_PER_MINUTE: '5', ZOHO_CODE_SYNC_INTERVAL_MINUTES: '0' })).catch(
        async (err) => {
          await own.dispose();
          throw err;
        },
      );
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
      // The body is optional: no body at all (no content type) is an incremental sync.
      const started = await p.api('/api/products/sync', { method: 'POST' });
      assert.equal(started.status, 200, JSON.stringify(started.body));
      const second = await waitForJob(p, started.body.job_id);
      assert.equal(second.results.mode, 'incremental');
      assert.ok(second.results.upserted >= 4 && second.results.upserted < 20, `incremental took ${second.results.upserted}`);
      const [row] = await p.ctx.db.query<any>('SELECT * FROM products WHERE item_id = $1', [target.item_id]);
      assert.equal(row.name, 'Renombrado');
      assert.equal(row.active, false);
      assert.equal((await p.ctx.db.query<any>('SELECT count(*)::int AS n FROM products'))[0].n, 453);
      // An empty body sent as JSON is no body either.
      const empty = await p.api('/api/products/sync', { method: 'POST', headers: { 'content-type': 'application/json' } });
      assert.equal(empty.status, 200, JSON.stringify(empty.body));
      assert.equal((await waitForJob(p, empty.body.job_id)).results.mode, 'incremental');
    });

    test('an item edited while the incremental sync pages through is not skipped (newest first)', async () => {
      await productsSynced();
      // 240 items edited in the last few minutes, oldest first: two pages of changes.
      const now = Date.now();
      const edited = sim.items.slice(100, 340);
      for (const [i, item] of edited.entries()) Object.assign(item, { name: `Editado ${i}`, last_modified_time: zohoTime(now - 250_000 + i * 1000) });
      // Someone edits the first item of page 1 right after the sync read it.
      sim.setFaults({ editAfterServingPage: 1 });
      try {
        const job = await waitForJob(p, (await p.api('/api/products/sync', { body: {} })).body.job_id);
        assert.equal(job.status, 'completed', job.error);
        assert.equal(job.results.mode, 'incremental');
        assert.ok(job.results.pages >= 2, 'the changes span pages');
      } finally {
        sim.setFaults({});
      }
      const rows = await p.ctx.db.query<{ item_id: string; name: string }>('SELECT item_id, name FROM products');
      const names = new Map(rows.map((r) => [r.item_id, r.name]));
      const missed = edited.filter((item) => names.get(item.item_id) !== item.name).map((i) => i.name);
      assert.deepEqual(missed, [], 'every edited item arrived');
      const query = sim.inventoryRequests.at(-1)!;
      assert.equal(query.sort_column, 'last_modified_time');
      assert.equal(query.sort_order, 'D');
      assert.match(query.last_modified_time!, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+0000$/, 'the documented filter and format');
    });

    test('the nightly reconciliation re-reads every item, catches what incremental syncs missed, and marks deleted items', async () => {
      await productsSynced();
      const [gone1, gone2, quiet] = [sim.items[3]!, sim.items[4]!, sim.items[5]!];
      sim.deleteItem(gone1.item_id);
      sim.deleteItem(gone2.item_id);
      // A change Zoho did not stamp with a newer last_modified_time: invisible to incremental syncs.
      quiet.rate = 999.5;
      const before = (await p.ctx.db.query<any>('SELECT count(*)::int AS n FROM products'))[0].n;
      const r = await p.api('/api/products/reconcile', { method: 'POST' });
      assert.equal(r.status, 200);
      const job = await waitForJob(p, r.body.job_id);
      assert.equal(job.status, 'completed', job.error);
      assert.equal(job.results.mode, 'reconcile');
      assert.equal(job.results.unseen, 2);
      assert.equal(job.results.deleted, 2);
      assert.deepEqual([...job.results.deleted_item_ids].sort(), [gone1.item_id, gone2.item_id].sort());
      const gone = await p.ctx.db.query<any>('SELECT status, active FROM products WHERE item_id = ANY($1)', [[gone1.item_id, gone2.item_id]]);
      assert.deepEqual(
        gone.map((g) => [g.status, g.active]),
        [
          ['deleted', false],
          ['deleted', false],
        ],
        'kept, inactive, marked deleted',
      );
      assert.equal(Number((await p.ctx.db.query<any>('SELECT rate FROM products WHERE item_id = $1', [quiet.item_id]))[0].rate), 999.5);
      assert.equal((await p.ctx.db.query<any>('SELECT count(*)::int AS n FROM products'))[0].n, before, 'nothing is deleted locally');
      const again = await waitForJob(p, (await p.api('/api/products/reconcile', { method: 'POST' })).body.job_id);
      assert.equal(again.results.deleted, 0, 'deleted items are not reported twice');
      const stats = (await p.api('/api/zoho/code/stats')).body.stats;
      assert.equal(stats.last_product_reconcile.results.deleted, 0);
      assert.equal(stats.product_reconcile_schedule.enabled, false, 'off in tests (ZOHO_RECONCILE_CRON=off)');
    });

    test('after an outage, "sync now" runs the waiting attempt at once instead of after its retry backoff', async () => {
      sim.setFaults({ apiDown: true });
      const first = await p.api('/api/products/sync', { body: {} });
      const waiting = await eventually(
        async () => {
          const { body } = await p.api(`/jobs/${first.body.job_id}`);
          return body.status === 'pending' && body.attempts >= 1 && body.error ? body : null;
        },
        30_000,
        'the attempt to fail and wait for its retry',
      );
      assert.match(waiting.error, /503/);
      sim.setFaults({});
      const back = Date.now();
      const now = await p.api('/api/products/sync', { body: {} });
      assert.equal(now.status, 200);
      assert.equal(now.body.job_id, first.body.job_id, 'the same job, not a second one');
      assert.equal(now.body.already_running, true);
      assert.equal(now.body.retried_now, true);
      const done = await waitForJob(p, first.body.job_id, 30_000);
      assert.equal(done.status, 'completed', done.error);
      // The retry backoff is 30 s: completing well under it means it did not wait.
      assert.ok(Date.now() - back < 10_000, `completed ${Date.now() - back} ms after Zoho came back`);
    });

    test('API calls go to the api_domain of the token reply, not ZOHO_API_URL', async () => {
      await startupSynced();
      await p.close();
      // Closed by afterEach.
      p = await startPuente(testEnv({ ...storage.env, ...zohoEnv(sim), ZOHO_API_URL: 'http://127.0.0.1:9/nowhere' }));
      sim.expireAllTokens();
      await p.ctx.db.query('DELETE FROM zoho_tokens');
      const job = await waitForJob(p, (await p.api('/api/products/sync', { body: {} })).body.job_id);
      assert.equal(job.status, 'completed', job.error);
      const client = p.ctx.services.zoho.client;
      assert.equal(client.apiBase('https://www.zohoapis.eu'), 'https://www.zohoapis.eu');
      assert.equal(client.apiBase('javascript:alert(1)'), 'http://127.0.0.1:9/nowhere', 'a reply naming no usable URL is not followed');
      assert.equal(client.apiBase(null), 'http://127.0.0.1:9/nowhere');
    });

    test('two requests for the same sync at once run it once', async () => {
      await startupSynced();
      sim.setFaults({ latencyMs: 200 });
      const [a, b] = await Promise.all([p.api('/api/zoho/code/sync', { method: 'POST' }), p.api('/api/zoho/code/sync', { method: 'POST' })]);
      assert.equal(a.body.job_id, b.body.job_id);
      await waitForJob(p, a.body.job_id);
      sim.setFaults({});
    });
  });
}

if (modes.includes('scaled')) {
  describe('Zoho schedule across two processes (PostgreSQL + Redis)', runsIn('scaled'), () => {
    test('a scheduled tick runs once although two processes hold the schedule', { timeout: 150_000 }, async () => {
      const storage = await freshStorage('scaled');
      const sim = await startZohoSimulator({ ...CREDS, initialCode: 'TICK1' });
      const env = testEnv({ ...storage.env, ...zohoEnv(sim), ZOHO_CODE_SYNC_INTERVAL_MINUTES: '1', ZOHO_ORGANIZATION_ID: '' });
      const a = await startPuente(env);
      const b = await startPuente(env);
      try {
        const scheduled = () =>
          a.ctx.db.query<{ minute: Date; n: number }>(
            `SELECT date_trunc('minute', created_on) AS minute, count(*)::int AS n FROM pgboss.job
           WHERE name = 'zoho.code-sync' AND NOT (data ? 'jobId') GROUP BY 1 ORDER BY 1`,
          );
        const [first] = await eventually(
          async () => {
            const t = await scheduled();
            return t.length ? t : null;
          },
          100_000,
          'the first scheduled tick',
        );
        // Each cron check (by either process) stamps pgboss.version.cron_on; two more after the tick
        // are two more chances to send it again.
        const cronOn = async () => ((await a.ctx.db.query<{ at: Date }>('SELECT cron_on AS at FROM pgboss.version'))[0]?.at ?? new Date(0)).getTime();
        let last = Math.max(await cronOn(), first!.minute.getTime());
        let checks = 0;
        await eventually(
          async () => {
            const at = await cronOn();
            if (at > last) [last, checks] = [at, checks + 1];
            return checks >= 2;
          },
          30_000,
          'two more cron checks after the first tick',
        );
        // A tick's record is made by the worker that takes its delivery, which may still be waiting
        // for a worker's next fetch: wait until every tick seen has been taken. A tick taken while a
        // code sync is still active (the start-up one, say) is dropped without a record:
        // that run covers it. So each tick has at most one record, and each record is a tick's.
        const ticksTaken = async () =>
          a.ctx.db.query<{ id: string; state: string }>(`SELECT id::text, state FROM pgboss.job WHERE name = 'zoho.code-sync' AND NOT (data ? 'jobId')`);
        const taken = await eventually(
          async () => {
            const t = await ticksTaken();
            return t.every((j) => j.state !== 'created') ? t : null;
          },
          30_000,
          'every tick taken by a worker',
          async () => JSON.stringify(await ticksTaken()),
        );
        const ticks = await scheduled();
        assert.ok(
          ticks.every((t) => t.n === 1),
          `one job per tick: ${JSON.stringify(ticks)}`,
        );
        const runs = await a.ctx.db.query<{ queue_job: string; n: number }>(
          `SELECT params->>'queue_job' AS queue_job, count(*)::int AS n FROM jobs WHERE type = 'zoho.code-sync' AND created_by = 'schedule' GROUP BY 1`,
        );
        const tickIds = new Set((await ticksTaken()).map((j) => j.id));
        assert.ok(
          runs.every((r) => r.n === 1 && tickIds.has(r.queue_job)),
          `one recorded run per tick at most, each of a tick: ${JSON.stringify({ runs, taken })}`,
        );
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
        const res = await fetch(
          `${sim.accountsUrl}/oauth/v2/token?grant_type=refresh_token&client_id=${CREDS.clientId}&client_secret=${CREDS.clientSecret}&refresh_token=${CREDS.refreshToken}`,
          { method: 'POST' },
        );
        statuses.push(res.status);
        if (i === 10) assert.match(((await res.json()) as any).error_description, /too many requests/);
      }
      assert.equal(statuses.filter((s) => s === 200).length, 10);
      assert.equal(statuses[10], 400);
    } finally {
      await sim.close();
    }
  });
});
