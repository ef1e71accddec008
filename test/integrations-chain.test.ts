import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWisproSimulator, type WisproSimulator } from '../src/simulators/wispro/wispro.simulator.ts';
import { startWhmcsSimulator, type WhmcsSimulator } from '../src/simulators/whmcs/whmcs.simulator.ts';
import { startZohoSimulator, type ZohoSimulator } from '../src/simulators/zoho/zoho.simulator.ts';
import { eventually, freshStorage, modes, runsIn, startPuente, testEnv, waitForJob, type Storage, type TestPuente } from './support/puente.ts';

const WISPRO_TOKEN = 'chain-wispro-token';
const WHMCS = { identifier: 'chain-identifier', secret: 'chain-secret-value', accessKey: 'chain-access-key' };
const ZOHO = { clientId: '1000.CHAIN', clientSecret: 'chain-zoho-secret', refreshToken: '1000.chain-refresh' };

/**
 * The business runs the integrations as one chain: customers come in from Wispro and are billed in
 * WHMCS; products come from Zoho. Each step runs against the simulators, which answer as the real
 * platforms do (Wispro's recorded client shape, WHMCS's welcome e-mail, Zoho's outage and retry).
 */
for (const mode of modes) {
  describe(`Integrations chain (${mode})`, runsIn(mode), () => {
    let storage: Storage;
    let wispro: WisproSimulator;
    let whmcs: WhmcsSimulator;
    let zoho: ZohoSimulator;
    let p: TestPuente;

    before(async () => {
      storage = await freshStorage(mode);
      wispro = await startWisproSimulator({ token: WISPRO_TOKEN, clients: 90, seed: 11 });
      whmcs = await startWhmcsSimulator({ ...WHMCS, clients: 5 });
      zoho = await startZohoSimulator({ ...ZOHO, initialCode: 'CHAIN-1', items: 250 });
      p = await startPuente(
        testEnv({
          ...storage.env,
          WISPRO_API_URL: wispro.url,
          WISPRO_API_TOKEN: WISPRO_TOKEN,
          WISPRO_PER_PAGE: '40',
          WHMCS_API_URL: whmcs.url,
          WHMCS_API_IDENTIFIER: WHMCS.identifier,
          WHMCS_API_SECRET: WHMCS.secret,
          WHMCS_API_ACCESS_KEY: WHMCS.accessKey,
          // Only the postcode: city, state and the rest come from Wispro; the country from DEFAULT_COUNTRY.
          WHMCS_DEFAULT_POSTCODE: '1010',
          WHMCS_RATE_LIMIT_PER_SECOND: '200',
          ZOHO_ACCOUNTS_URL: zoho.accountsUrl,
          ZOHO_API_URL: zoho.apiUrl,
          ZOHO_CLIENT_ID: ZOHO.clientId,
          ZOHO_CLIENT_SECRET: ZOHO.clientSecret,
          ZOHO_REFRESH_TOKEN: ZOHO.refreshToken,
          ZOHO_CREATOR_OWNER: 'puente-owner',
          ZOHO_CREATOR_APP: 'puente-app',
          ZOHO_CREATOR_REPORT: 'Access_Codes',
          ZOHO_ORGANIZATION_ID: '60000000001',
          ZOHO_SYNC_INTERVAL_MINUTES: '0',
        }),
      );
    });
    after(async () => {
      await p?.close();
      await Promise.all([wispro?.close(), whmcs?.close(), zoho?.close()]);
      await storage?.dispose();
    });

    test('Wispro sync, then push-all with only a postcode default: customers with an email are created without a welcome e-mail; the others are skipped with the reason', async () => {
      const sync = await p.api('/api/users/sync-wispro-all', { method: 'POST' });
      assert.equal(sync.status, 200);
      const synced = await waitForJob(p, sync.body.job_id, 60_000);
      assert.equal(synced.status, 'completed', synced.error);

      const customers = await p.ctx.db.query<{ id: number; name: string; email: string | null; city: string | null; state: string | null }>(
        'SELECT id, name, email, city, state FROM users WHERE role = 0 AND id_wispro IS NOT NULL ORDER BY id',
      );
      const withEmail = customers.filter((c) => c.email);
      const without = customers.filter((c) => !c.email);
      assert.ok(withEmail.length > 50 && without.length > 0, `${withEmail.length} with email, ${without.length} without`);

      const push = await p.api('/api/whmcs/clients/push-all', { method: 'POST' });
      assert.equal(push.status, 200);
      const pushed = await waitForJob(p, push.body.job_id, 120_000);
      assert.equal(pushed.status, 'completed', pushed.error);
      const r = pushed.results;
      assert.deepEqual([r.created, r.invalid, r.conflicts, r.errors], [withEmail.length, 0, 0, 0], JSON.stringify(r));

      for (const c of withEmail) {
        const client = whmcs.findByEmail(c.email!);
        assert.ok(client, `customer ${c.id} is in WHMCS`);
        assert.deepEqual([client.city, client.state, client.postcode, client.country], [c.city, c.state, '1010', 'VE'], `customer ${c.id}'s address`);
      }
      assert.equal(whmcs.welcomeEmails.length, 0, 'nobody was e-mailed');
      assert.equal(whmcs.statsRequests, 0);

      assert.equal(r.skipped, without.length);
      assert.deepEqual(
        r.skipped_customers.map((s: any) => s.user_id).sort((a: number, b: number) => a - b),
        without.map((c) => c.id),
      );
      for (const s of r.skipped_customers) {
        assert.equal(s.reason, 'no_email');
        assert.match(s.message, new RegExp(`cliente ${s.user_id} .*no tiene email`));
      }
    });

    test('a Zoho outage followed by "sync now" completes within seconds of Zoho returning', async () => {
      zoho.setFaults({ apiDown: true });
      const first = await p.api('/api/products/sync', { body: {} });
      assert.equal(first.status, 200);
      await eventually(
        async () => {
          const { body } = await p.api(`/jobs/${first.body.job_id}`);
          return body.status === 'pending' && body.attempts >= 1 && body.error;
        },
        60_000,
        'the product sync to fail during the outage',
      );
      zoho.setFaults({});
      const back = Date.now();
      const now = await p.api('/api/products/sync', { body: {} });
      assert.equal(now.body.job_id, first.body.job_id);
      assert.equal(now.body.retried_now, true);
      const done = await waitForJob(p, first.body.job_id, 30_000);
      assert.equal(done.status, 'completed', done.error);
      const waited = Date.now() - back;
      assert.ok(waited < 10_000, `completed ${waited} ms after Zoho returned (the retry backoff is 30 s)`);
      assert.equal((await p.ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM products'))[0]!.n, 250);
    });
  });
}
