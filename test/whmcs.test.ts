import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWhmcsSimulator, type WhmcsSimulator } from '../src/simulators/whmcs/whmcs.simulator.ts';
import { addUser as addLocalUser, whmcsMapOf, type LocalUser } from './support/customers.ts';
import { freshStorage, modes, runsIn, startPuente, testEnv, waitForJob, type Storage, type TestPuente } from './support/puente.ts';

const CREDS = { identifier: 'puente-identifier-XYZ', secret: 'puente-secret-s3cr3t-value', accessKey: 'puente-access-key-777' };

export function whmcsEnv(sim: WhmcsSimulator, extra: Record<string, string> = {}) {
  return {
    WHMCS_API_URL: sim.url,
    WHMCS_API_IDENTIFIER: CREDS.identifier,
    WHMCS_API_SECRET: CREDS.secret,
    WHMCS_API_ACCESS_KEY: CREDS.accessKey,
    WHMCS_API_TIMEOUT: '2',
    WHMCS_DEFAULT_POSTCODE: '1010',
    ...extra,
  };
}

for (const mode of modes) {
  describe(`WHMCS billing link (${mode})`, runsIn(mode), () => {
    let storage: Storage;
    let sim: WhmcsSimulator;
    let p: TestPuente;
    const addUser = (u: Partial<LocalUser> = {}) => addLocalUser(p, u);
    const mapOf = (id: number) => whmcsMapOf(p, id);

    before(async () => {
      storage = await freshStorage(mode);
      sim = await startWhmcsSimulator({ ...CREDS, clients: 60 });
      p = await startPuente(testEnv({ ...storage.env, ...whmcsEnv(sim), WHMCS_RATE_LIMIT_PER_SECOND: '40' }));
    });
    after(async () => {
      await p?.close();
      await sim?.close();
      await storage?.dispose();
    });

    test('test connection answers the version and response time; only admins may call the link', async () => {
      const r = await p.api('/api/whmcs/sync/test');
      assert.equal(r.status, 200);
      assert.equal(r.body.success, true);
      assert.equal(r.body.message, 'Connection successful');
      assert.match(r.body.whmcs_version, /^8\./);
      assert.equal(typeof r.body.response_time_ms, 'number');
      assert.equal((await p.api('/api/whmcs/sync/test', { token: null })).status, 401);
      const op = await p.api('/api/admin/users', { body: { name: 'Op', email: 'op@puente.test', password: 'operator-pass-1', role: 'operator' } });
      assert.equal(op.status, 201);
      const opToken = (await p.api('/auth/login', { body: { email: 'op@puente.test', password: 'operator-pass-1' }, token: null })).body.access_token;
      const denied = await p.api('/api/whmcs/sync/stats', { token: opToken });
      assert.equal(denied.status, 403);
      assert.equal(denied.body.success, false);
      assert.equal(denied.body.code, 'auth.forbidden');
    });

    test('push creates the client with the mapped fields; a second push updates it', async () => {
      const id = await addUser({ name: 'María José Pérez Rondón', email: 'maria.perez@puente.test' });
      const r = await p.api(`/api/whmcs/clients/push/${id}`, { body: { force_create: false } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.success, true);
      assert.equal(r.body.message, 'Client pushed to WHMCS successfully');
      assert.equal(r.body.operation, 'created');
      assert.equal(typeof r.body.whmcs_id, 'number', 'the string id WHMCS answers becomes a number');
      assert.equal(typeof r.body.sync_map_id, 'number');
      const created = sim.findByEmail('maria.perez@puente.test')!;
      assert.equal(created.id, r.body.whmcs_id);
      assert.equal(created.firstname, 'María José');
      assert.equal(created.lastname, 'Pérez Rondón');
      assert.equal(created.city, 'Caracas');
      assert.equal(created.postcode, '1010', 'a configured default fills what the user lacks');
      assert.equal(created.country, 'VE');
      const map = await mapOf(id);
      assert.equal(map.sync_status, 'synced');
      assert.equal(map.whmcs_id, r.body.whmcs_id);
      // The email lookup before AddClient finds nothing, which is the answer hoped for: not an error.
      const pushLog = await p.ctx.db.query<{ action: string; status: string; whmcs_id: number | null }>(
        'SELECT action, status, whmcs_id FROM whmcs_sync_logs WHERE laravel_id = $1 ORDER BY id',
        [id],
      );
      assert.deepEqual(
        pushLog.map((l) => [l.action, l.status]),
        [
          ['GetClientsDetails', 'success'],
          ['AddClient', 'success'],
        ],
      );
      assert.equal(pushLog[1]!.whmcs_id, r.body.whmcs_id);

      await p.ctx.db.query('UPDATE users SET address = $1 WHERE id = $2', ['Av. Nueva 42', id]);
      const again = await p.api(`/api/whmcs/clients/push/${id}`, { method: 'POST' });
      assert.equal(again.status, 200);
      assert.equal(again.body.operation, 'updated');
      assert.equal(again.body.whmcs_id, r.body.whmcs_id);
      assert.equal(sim.findByEmail('maria.perez@puente.test')!.address1, 'Av. Nueva 42');

      const check = await p.api(`/api/whmcs/clients/check/${id}`, { method: 'POST' });
      assert.equal(check.status, 200);
      assert.equal(check.body.synced, true);
      assert.equal(check.body.whmcs_id, r.body.whmcs_id);
      assert.equal(check.body.sync_status, 'synced');
      assert.match(check.body.last_synced_at, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
      assert.equal(check.body.exists_in_whmcs, true);
    });

    test('missing required fields: 422 naming them, and nothing is sent or written', async () => {
      const id = await addUser({ address: null, phone: null });
      const before = sim.actions.addclient ?? 0;
      const r = await p.api(`/api/whmcs/clients/push/${id}`, { method: 'POST' });
      assert.equal(r.status, 422);
      assert.equal(r.body.success, false);
      assert.deepEqual(r.body.missing_fields.sort(), ['address1', 'phonenumber']);
      assert.equal(r.body.code, 'whmcs.missing_fields');
      assert.equal(sim.actions.addclient ?? 0, before);
      assert.equal(await mapOf(id), null);
    });

    test('an email WHMCS already has: 409 with its id, no duplicate; linking on purpose works', async () => {
      const existing = sim.clients()[3]!;
      const id = await addUser({ email: existing.email.toUpperCase() });
      const before = sim.clients().length;
      const r = await p.api(`/api/whmcs/clients/push/${id}`, { method: 'POST' });
      assert.equal(r.status, 409);
      assert.equal(r.body.success, false);
      assert.deepEqual([r.body.code, r.body.whmcs_id], ['whmcs.email_exists', existing.id]);
      assert.equal(r.body.whmcs_id, existing.id);
      assert.equal(sim.clients().length, before, 'no duplicate was created');
      const [lookup] = await p.ctx.db.query<{ action: string; whmcs_id: number | null }>(
        'SELECT action, whmcs_id FROM whmcs_sync_logs WHERE laravel_id = $1 ORDER BY id',
        [id],
      );
      assert.deepEqual(lookup, { action: 'GetClientsDetails', whmcs_id: existing.id }, 'the log says which WHMCS client holds the email');
      const link = await p.api('/api/whmcs/sync/link', { body: { entity_type: 'client', laravel_id: id, whmcs_id: existing.id } });
      assert.equal(link.status, 200, JSON.stringify(link.body));
      assert.equal(link.body.whmcs_id, existing.id);
      assert.equal((await mapOf(id)).sync_status, 'synced');
      const other = await addUser();
      const taken = await p.api('/api/whmcs/sync/link', { body: { local_id: other, whmcs_id: existing.id } });
      assert.equal(taken.status, 409, 'a WHMCS client links to one local client only');
      assert.equal(taken.body.code, 'whmcs.already_linked');
      assert.equal((await p.api('/api/whmcs/sync/link', { body: { local_id: other, whmcs_id: 999999 } })).status, 404);
    });

    test('AddClient sends noemail: creating a client sends no welcome e-mail; GetClientsDetails sends no stats', async () => {
      const mails = sim.welcomeEmails.length;
      const stats = sim.statsRequests;
      const id = await addUser({ email: 'sin.bienvenida@puente.test' });
      const r = await p.api(`/api/whmcs/clients/push/${id}`, { method: 'POST' });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const add = sim.lastBodies.filter((b) => b.action === 'AddClient').at(-1)!;
      assert.equal(add.noemail, 'true', 'documented as "pass as true to skip sending welcome email"');
      assert.equal(sim.welcomeEmails.length, mails, 'no welcome e-mail');
      const lookups = sim.lastBodies.filter((b) => b.action === 'GetClientsDetails');
      assert.ok(lookups.length > 0);
      assert.ok(
        lookups.every((b) => !('stats' in b)),
        'stats is left out: PHP reads the string "false" as true',
      );
      assert.equal(sim.statsRequests, stats, 'WHMCS was never asked for statistics');
    });

    test('a customer with no email: 422 said in terms of the customer, and nothing is sent to WHMCS', async () => {
      const id = await addUser({ email: null, name: 'Yelitza Sin Correo' });
      const before = sim.requests;
      const r = await p.api(`/api/whmcs/clients/push/${id}`, { method: 'POST' });
      assert.equal(r.status, 422);
      assert.equal(r.body.success, false);
      assert.equal(r.body.code, 'whmcs.customer_without_email');
      assert.equal(r.body.local_id, id);
      assert.deepEqual(r.body.missing_fields, ['email']);
      assert.equal(sim.requests, before, 'no WHMCS call');
      assert.equal(await mapOf(id), null);
    });

    test('order of checks: an email WHMCS already has is reported (409) before missing fields (422)', async () => {
      const existing = sim.clients()[7]!;
      const id = await addUser({ email: existing.email, address: null, phone: null, city: null });
      const r = await p.api(`/api/whmcs/clients/push/${id}`, { method: 'POST' });
      assert.equal(r.status, 409, 'the existing WHMCS client comes first');
      assert.equal(r.body.code, 'whmcs.email_exists');
      assert.equal(r.body.whmcs_id, existing.id);
      const fresh = await addUser({ address: null });
      const missing = await p.api(`/api/whmcs/clients/push/${fresh}`, { method: 'POST' });
      assert.equal(missing.status, 422, 'an email WHMCS does not have: then the missing fields');
      assert.deepEqual(missing.body.missing_fields, ['address1']);
    });

    test("a WHMCS client already linked to another local customer: 409 in the seed's shape, not a 500", async () => {
      const target = sim.clients()[9]!;
      const owner = await addUser({ email: `owner.${target.id}@puente.test` });
      assert.equal((await p.api('/api/whmcs/sync/link', { body: { laravel_id: owner, whmcs_id: target.id } })).status, 200);
      // A second customer with that client's email, left marked "creating" by an attempt whose answer was lost.
      const second = await addUser({ email: target.email });
      await p.ctx.db.query(
        `INSERT INTO whmcs_sync_map (entity_type, laravel_id, whmcs_id, sync_status, pending_action) VALUES ('client', $1, NULL, 'pending', 'creating')`,
        [second],
      );
      const r = await p.api(`/api/whmcs/clients/push/${second}`, { method: 'POST' });
      assert.equal(r.status, 409, JSON.stringify(r.body));
      assert.equal(r.body.success, false);
      assert.equal(r.body.code, 'whmcs.already_linked');
      assert.equal(r.body.whmcs_id, target.id);
      assert.equal(r.body.linked_to, owner);
      assert.equal((await mapOf(owner)).whmcs_id, target.id, 'the existing link is untouched');
      const map = await mapOf(second);
      assert.equal(map.whmcs_id, null);
      assert.equal(map.sync_status, 'error');
    });

    test('pull: unknown id is 404; into a given local user, into the linked one, or a new one', async () => {
      const missing = await p.api('/api/whmcs/clients/pull/999999', { method: 'POST' });
      assert.equal(missing.status, 404);
      assert.deepEqual([missing.body.code, missing.body.whmcs_id], ['whmcs.client_not_found', 999999]);

      const remote = sim.clients()[10]!;
      const fresh = await p.api(`/api/whmcs/clients/pull/${remote.id}`, { method: 'POST' });
      assert.equal(fresh.status, 200, JSON.stringify(fresh.body));
      assert.equal(fresh.body.message, 'Client pulled from WHMCS successfully');
      assert.equal(fresh.body.operation, 'created');
      assert.deepEqual(
        {
          id: fresh.body.whmcs_client.id,
          firstname: fresh.body.whmcs_client.firstname,
          lastname: fresh.body.whmcs_client.lastname,
          email: fresh.body.whmcs_client.email,
        },
        { id: remote.id, firstname: remote.firstname, lastname: remote.lastname, email: remote.email },
      );
      assert.equal(fresh.body.laravel_data.client_name, remote.firstname);
      assert.equal(fresh.body.laravel_data.client_lastname, remote.lastname);
      assert.equal(fresh.body.laravel_data.email, remote.email);
      const [user] = await p.ctx.db.query<any>('SELECT * FROM users WHERE id = $1', [fresh.body.local_id]);
      assert.equal(user.name, `${remote.firstname} ${remote.lastname}`);
      assert.equal(user.city, remote.city);

      const again = await p.api(`/api/whmcs/clients/pull/${remote.id}`, { method: 'POST' });
      assert.equal(again.body.operation, 'updated');
      assert.equal(again.body.local_id, fresh.body.local_id, 'the linked user is updated, not duplicated');

      const local = await addUser();
      const remote2 = sim.clients()[11]!;
      const into = await p.api(`/api/whmcs/clients/pull/${remote2.id}`, { body: { laravel_id: local } });
      assert.equal(into.status, 200);
      assert.equal(into.body.local_id, local);
      assert.equal((await mapOf(local)).whmcs_id, remote2.id);
      assert.equal((await p.api(`/api/whmcs/clients/pull/${remote2.id}`, { body: { local_id: 987654 } })).status, 404, 'unknown local id');
      // Links stay one to one: a linked local client, or a WHMCS client linked to someone else, is a 409.
      const intoLinked = await p.api(`/api/whmcs/clients/pull/${remote.id}`, { body: { laravel_id: local } });
      assert.equal(intoLinked.status, 409);
      assert.deepEqual([intoLinked.body.code, intoLinked.body.whmcs_id], ['whmcs.local_already_linked', remote2.id]);
      const takenRemote = await p.api(`/api/whmcs/clients/pull/${remote2.id}`, { body: { laravel_id: await addUser() } });
      assert.equal(takenRemote.status, 409);
      assert.deepEqual([takenRemote.body.code, takenRemote.body.linked_to], ['whmcs.already_linked', local]);
    });

    test('list: limit is sent (not WHMCS\'s 25), "" means no clients, answers are cached until a write', async () => {
      // A client pulled once: WHMCS's answer for it is kept like a page's (no other test uses this client).
      const kept = sim.clients()[12]!;
      assert.equal((await p.api(`/api/whmcs/clients/pull/${kept.id}`, { method: 'POST' })).status, 200);
      const page = await p.api('/api/whmcs/clients/list', { body: { offset: 0, limit: 40 } });
      assert.equal(page.status, 200);
      assert.equal(page.body.clients.length, 40);
      assert.ok(page.body.total >= 60);
      assert.equal(typeof page.body.clients[0].id, 'number');
      assert.equal(sim.lastBodies.at(-1)!.limitnum, '40');

      const none = await p.api('/api/whmcs/clients/list', { body: { search: 'zz-no-such-client' } });
      assert.equal(none.status, 200);
      assert.deepEqual(none.body.clients, []);
      assert.equal(none.body.total, 0);

      const calls = sim.requests;
      const cached = await p.api('/api/whmcs/clients/list', { body: { offset: 0, limit: 40 } });
      assert.equal(cached.body.cached, true);
      assert.equal(sim.requests, calls, 'a cached page does not call WHMCS');
      const first = sim.clients()[0]!;
      const pulledAgain = await p.api(`/api/whmcs/clients/pull/${kept.id}`, { method: 'POST' });
      assert.equal(pulledAgain.status, 200);
      assert.equal(sim.requests, calls, 'a pull of a cached client does not call WHMCS either');

      const id = await addUser();
      assert.equal((await p.api(`/api/whmcs/clients/push/${id}`, { method: 'POST' })).status, 200);
      const after = await p.api('/api/whmcs/clients/list', { body: { offset: 0, limit: 40 } });
      assert.equal(after.body.cached, false, 'a write empties the cache');
      assert.equal(after.body.clients[0].id, first.id);
      const search = await p.api('/api/whmcs/clients/list', { body: { search: first.email.slice(0, 8), limit: 5 } });
      assert.ok(search.body.clients.some((c: { email: string }) => c.email === first.email));
    });

    test('update needs a link; unlink removes it and a second unlink is 404', async () => {
      const id = await addUser();
      const notLinked = await p.api(`/api/whmcs/clients/update/${id}`, { method: 'POST' });
      assert.deepEqual([notLinked.status, notLinked.body.code, notLinked.body.local_id], [409, 'whmcs.not_linked', id]);
      assert.equal((await p.api('/api/whmcs/clients/update/987654', { method: 'POST' })).status, 404);
      const pushed = await p.api(`/api/whmcs/clients/push/${id}`, { method: 'POST' });
      await p.ctx.db.query('UPDATE users SET phone = $1 WHERE id = $2', ['+584149998877', id]);
      const updated = await p.api(`/api/whmcs/clients/update/${id}`, { method: 'POST' });
      assert.equal(updated.status, 200);
      assert.equal(updated.body.message, 'Client updated in WHMCS successfully');
      assert.equal(updated.body.whmcs_id, pushed.body.whmcs_id);
      assert.equal(sim.clients().find((c) => c.id === pushed.body.whmcs_id)!.phonenumber, '+584149998877');

      const unlink = await p.api('/api/whmcs/sync/unlink', { body: { entity_type: 'client', laravel_id: id } });
      assert.equal(unlink.status, 200);
      assert.equal(unlink.body.whmcs_id, pushed.body.whmcs_id);
      const check = await p.api(`/api/whmcs/clients/check/${id}`, { method: 'POST' });
      assert.equal(check.body.synced, false);
      assert.equal(check.body.whmcs_id, null);
      assert.equal((await p.api('/api/whmcs/sync/unlink', { body: { entity_type: 'client', laravel_id: id } })).status, 404);
      assert.equal((await p.api('/api/whmcs/sync/unlink', { body: { entity_type: 'client' } })).status, 400);
    });

    test('WHMCS down, slow or answering HTML: 502/504 with a message, the map and log keep the error, a retry succeeds', async () => {
      const id = await addUser();
      for (const [fault, status, code] of [
        [{ hang: true }, 504, 'upstream_timeout'],
        [{ html: true }, 502, 'upstream_error'],
        [{ garbage: true }, 502, 'upstream_error'],
        [{ down: true }, 502, 'upstream_error'],
      ] as const) {
        sim.setFaults(fault);
        const r = await p.api(`/api/whmcs/clients/push/${id}`, { method: 'POST' });
        assert.equal(r.status, status, `${JSON.stringify(fault)} → ${JSON.stringify(r.body)}`);
        assert.equal(r.body.success, false);
        assert.deepEqual([r.body.code, r.body.service], [code, 'WHMCS']);
        const map = await mapOf(id);
        assert.equal(map.sync_status, 'error');
        assert.ok(map.last_error);
      }
      sim.setFaults({});
      const logs = await p.api('/api/whmcs/sync/logs', { body: { laravel_id: id, status: 'error' } });
      assert.ok(logs.body.logs.length >= 4, 'every failed attempt is in the log');
      assert.ok(logs.body.logs.every((l: { error_message: string; duration_ms: number }) => l.error_message && typeof l.duration_ms === 'number'));
      const retry = await p.api(`/api/whmcs/clients/push/${id}`, { method: 'POST' });
      assert.equal(retry.status, 200);
      assert.equal((await mapOf(id)).sync_status, 'synced');
      const wrong = await startWhmcsSimulator({ identifier: 'other', secret: 'other' });
      try {
        sim.setAllowedIps([]);
        const r = await p.api('/api/whmcs/sync/test');
        assert.equal(r.status, 200, 'the access key gets past the IP allow-list');
      } finally {
        sim.setAllowedIps(['127.0.0.1', '::1', '::ffff:127.0.0.1']);
        await wrong.close();
      }
    });

    test('logs carry requests and replies with every secret redacted; stats count the links', async () => {
      for (let i = 0; i < 6; i++) assert.equal((await p.api(`/api/whmcs/clients/push/${await addUser()}`, { method: 'POST' })).status, 200);
      const logs = await p.api('/api/whmcs/sync/logs', { body: { entity_type: 'client', status: 'success', days: 7, limit: 5, offset: 0 } });
      assert.equal(logs.status, 200);
      assert.equal(logs.body.logs.length, 5);
      assert.ok(logs.body.total > 5);
      const push = (await p.api('/api/whmcs/sync/logs', { body: { operation: 'push', limit: 200 } })).body.logs.find(
        (l: { action: string; status: string }) => l.action === 'AddClient' && l.status === 'success',
      );
      assert.equal(push.request_data.secret, '[redacted]');
      assert.equal(push.request_data.password2, '[redacted]');
      assert.ok(push.request_data.email);
      const leaks = await p.ctx.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM whmcs_sync_logs WHERE concat(request_data::text, response_data::text, error_message) ~ $1`,
        [`${CREDS.secret}|${CREDS.identifier}|${CREDS.accessKey}`],
      );
      assert.equal(leaks[0]!.n, 0, 'no identifier, secret or access key in the logs table');
      const bad = await p.api('/api/whmcs/sync/logs', { body: { status: 'maybe' } });
      assert.equal(bad.status, 400);

      const stats = await p.api('/api/whmcs/sync/stats');
      assert.equal(stats.status, 200);
      const [counts] = await p.ctx.db.query<{ synced: number; errors: number }>(
        `SELECT count(*) FILTER (WHERE sync_status = 'synced')::int AS synced, count(*) FILTER (WHERE sync_status = 'error')::int AS errors FROM whmcs_sync_map`,
      );
      assert.equal(stats.body.stats.total_synced, counts!.synced);
      assert.equal(stats.body.stats.total_errors, counts!.errors);
      assert.equal(stats.body.stats.by_entity_type.client, counts!.synced);
    });

    test('push-all: every unlinked customer as a paced job with progress; duplicates and gaps counted, not created', async () => {
      // Everyone left unlinked by earlier tests is pushed too; count them first.
      const [{ n: before }] = (await p.ctx.db.query<{ n: number }>(`
        SELECT count(*)::int AS n FROM users u LEFT JOIN whmcs_sync_map m ON m.laravel_id = u.id
        WHERE u.role = 0 AND (m.id IS NULL OR m.whmcs_id IS NULL)`)) as [{ n: number }];
      for (let i = 0; i < 30; i++) await addUser();
      await addUser({ email: sim.clients()[20]!.email });
      const noEmail = await addUser({ email: null, name: 'Ramón Sin Correo' });
      const started = Date.now();
      const r = await p.api('/api/whmcs/clients/push-all', { method: 'POST' });
      assert.equal(r.status, 200);
      const job = await waitForJob(p, r.body.job_id, 60_000);
      assert.equal(job.status, 'completed', JSON.stringify(job));
      assert.equal(job.results.total, before + 32);
      assert.equal(job.results.processed, before + 32);
      assert.ok(job.results.created >= 30);
      assert.ok(job.results.conflicts >= 1);
      assert.ok(job.results.skipped >= 1, 'a customer without email is skipped, not a failure');
      const skipped = job.results.skipped_customers.find((c: any) => c.user_id === noEmail);
      assert.equal(skipped?.reason, 'no_email');
      assert.match(skipped.message, /no tiene email/);
      assert.equal(job.progress.percentage, 100);
      // 40 calls a second at most: 61+ calls take well over a second.
      assert.ok(Date.now() - started > 1200, 'the push is paced');
      const again = await waitForJob(p, (await p.api('/api/whmcs/clients/push-all', { method: 'POST' })).body.job_id);
      assert.equal(again.results.created, 0, 'a second run finds nothing new to create');
    });
  });
}

describe('WHMCS welcome e-mail on request', () => {
  let storage: Storage;
  let sim: WhmcsSimulator;
  let p: TestPuente;
  before(async () => {
    storage = await freshStorage('embedded');
    sim = await startWhmcsSimulator({ ...CREDS, clients: 3 });
    p = await startPuente(testEnv({ ...storage.env, ...whmcsEnv(sim), WHMCS_SEND_WELCOME_EMAIL: 'true' }));
  });
  after(async () => {
    await p?.close();
    await sim?.close();
    await storage?.dispose();
  });

  test('WHMCS_SEND_WELCOME_EMAIL=true lets AddClient send it', async () => {
    const id = await addLocalUser(p, { name: 'Ana Bienvenida', email: 'ana.bienvenida@puente.test' });
    const r = await p.api(`/api/whmcs/clients/push/${id}`, { method: 'POST' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(
      sim.welcomeEmails.map((m) => m.email),
      ['ana.bienvenida@puente.test'],
    );
    assert.equal(sim.lastBodies.filter((b) => b.action === 'AddClient').at(-1)!.noemail, undefined);
  });

  test('the simulator reads WHMCS booleans as PHP does: "false" is true', async () => {
    const form = (extra: Record<string, string>) =>
      new URLSearchParams({ action: 'GetClientsDetails', identifier: CREDS.identifier, secret: CREDS.secret, responsetype: 'json', clientid: '1', ...extra });
    const ask = async (extra: Record<string, string>) =>
      (await fetch(`${sim.url}/includes/api.php`, { method: 'POST', body: form(extra) })).json() as Promise<Record<string, unknown>>;
    assert.ok((await ask({ stats: 'false' })).stats, 'stats=false asks for statistics');
    assert.equal((await ask({ stats: '0' })).stats, undefined);
    assert.equal((await ask({})).stats, undefined);
  });
});

describe('WHMCS switched off or not configured', () => {
  let storage: Storage;
  let p: TestPuente;
  before(async () => {
    storage = await freshStorage('embedded');
    p = await startPuente(testEnv({ ...storage.env, WHMCS_ENABLED: 'false' }));
  });
  after(async () => {
    await p?.close();
    await storage?.dispose();
  });

  test('every WHMCS route answers 503 with a clear message', async () => {
    for (const [method, path] of [
      ['GET', '/api/whmcs/sync/test'],
      ['POST', '/api/whmcs/clients/push/1'],
      ['POST', '/api/whmcs/clients/list'],
      ['GET', '/api/whmcs/sync/stats'],
    ] as const) {
      const r = await p.api(path, { method });
      assert.equal(r.status, 503, path);
      assert.equal(r.body.success, false);
      assert.equal(r.body.code, 'whmcs.disabled');
    }
  });
});
