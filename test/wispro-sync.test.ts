import { describe, test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import WebSocket from 'ws';
import { startWisproSimulator, type WisproSimulator } from '../src/simulators/wispro/wispro.simulator.ts';
import { parseCedula } from '../src/modules/wispro/wispro.mapper.ts';
import { eventually, freshStorage, modes, runsIn, startPuente, testEnv, waitForJob, type Storage, type TestPuente } from './support/puente.ts';

const TOKEN = 'wispro-test-token';
const SEED_MESSAGE = 'Sincronización iniciada en segundo plano. Revisa los logs para ver el progreso.';

for (const mode of modes) {
  describe(`Wispro sync (${mode})`, runsIn(mode), () => {
    let storage: Storage;
    let sim: WisproSimulator;
    let p: TestPuente;
    const users = async () => await p.ctx.db.query<any>('SELECT * FROM users WHERE role = 0 ORDER BY id');
    const sync = async () => {
      const res = await p.api('/api/users/sync-wispro-all', { method: 'POST' });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return waitForJob(p, res.body.job_id);
    };
    /** A first, complete sync: the customers a test about later syncs starts from. */
    const synced = async () => {
      const job = await sync();
      assert.equal(job.status, 'completed', job.error);
      assert.ok((await users()).length > 0);
      return job;
    };

    // Every test has its own database, simulator (the same 230 seeded clients) and Puente: none relies
    // on what another left, so each runs alone (--test-name-pattern) and in any order.
    beforeEach(async () => {
      storage = await freshStorage(mode, { migrated: true });
      sim = await startWisproSimulator({ token: TOKEN, clients: 230, seed: 7 });
      // A schedule that cannot fire during a test run (29 February), in a zone other than UTC.
      p = await startPuente(
        testEnv({
          ...storage.env,
          WISPRO_API_URL: sim.url,
          WISPRO_API_TOKEN: TOKEN,
          WISPRO_PER_PAGE: '50',
          WISPRO_TIMEOUT_MS: '1500',
          WISPRO_SYNC_CRON: '0 3 29 2 *',
          TZ: 'America/Caracas',
        }),
      );
    });
    afterEach(async () => {
      await p?.close();
      await sim?.close();
      await storage?.dispose();
    });

    test('the sync route needs a bearer token', async () => {
      const res = await p.api('/api/users/sync-wispro-all', { method: 'POST', token: null });
      assert.equal(res.status, 401);
      assert.equal(res.body.success, false);
      assert.equal(res.body.code, 'auth.missing_token');
    });

    test('first sync creates a user per distinct usable client, streams its events, and counts the rest', async () => {
      const res = await p.api('/api/users/sync-wispro-all', { method: 'POST' });
      assert.equal(res.body.success, true);
      assert.equal(res.body.message, SEED_MESSAGE);
      const events: any[] = [];
      const ws = new WebSocket(`${p.url.replace('http', 'ws')}/ws/job/${res.body.job_id}?token=${p.token}`);
      ws.on('message', (m) => events.push(JSON.parse(String(m))));
      const job = await waitForJob(p, res.body.job_id);
      await eventually(async () => events.some((e) => e.type === 'job_completed'), 5000, 'job_completed event');
      ws.close();
      assert.equal(job.status, 'completed');
      assert.equal(job.type, 'wispro.sync');
      const types = events.map((e) => e.type);
      assert.equal(types[0], 'subscribed');
      assert.ok(types.indexOf('job_completed') > 0);

      const expected = new Map<string, string>();
      let unusable = 0;
      for (const c of sim.clients) {
        const cedula = parseCedula(c.national_identification_number);
        if (!c.name) continue;
        if (!cedula) unusable++;
        else if (!expected.has(cedula.digits)) expected.set(cedula.digits, c.id);
      }
      const rows = await users();
      assert.equal(rows.length, expected.size + unusable, 'one user per distinct cédula, plus clients without one');
      assert.equal(job.progress.created, rows.length);
      assert.equal(job.progress.pages, 5);
      assert.equal(job.progress.total_records, 230);
      const p2 = job.progress;
      assert.equal(p2.created + p2.updated + p2.unchanged + p2.skipped + p2.errors, 230);
      assert.ok(p2.skipped > 0 && p2.errors > 0, 'the simulator mixes in duplicates and broken records');
      assert.ok(job.results.issues.some((i: any) => /duplicada/.test(i.reason)));
      assert.equal(new Set(rows.map((u: any) => u.cedula_digits).filter(Boolean)).size, expected.size, 'no cédula twice');

      const dotted = sim.clients.find(
        (c) =>
          /^\d{1,3}(\.\d{3})+$/.test(c.national_identification_number ?? '') &&
          c.name &&
          c.email &&
          expected.get(parseCedula(c.national_identification_number)!.digits) === c.id,
      )!;
      const user = rows.find((u: any) => u.id_wispro === dotted.id);
      assert.equal(user.id_number, `V-${dotted.national_identification_number!.replaceAll('.', '')}`);
      assert.equal(user.code, dotted.national_identification_number!.replaceAll('.', ''));
      assert.equal(user.must_change_password, true);
      assert.equal(user.password_hash, null, 'no hashing at sync time');
      const login = await p.api('/auth/login', { token: null, body: { email: dotted.email, password: user.code } });
      assert.equal(login.status, 200, 'a synced customer logs in with the cédula');
      assert.equal(login.body.user.must_change_password, true);
    });

    test("pages after the first are asked a few at a time and written in Wispro's order", async () => {
      sim.setFaults({ latencyMs: 100 });
      const job = await synced();
      sim.setFaults({});
      assert.equal(job.progress.pages, 5);
      assert.ok(sim.maxInFlight >= 2 && sim.maxInFlight <= 4, `requests open at once: ${sim.maxInFlight}`);
      const pagesAsked = sim.requests.filter((r) => r.path === '/api/v1/clients').map((r) => Number(r.query.page));
      assert.deepEqual(
        [...pagesAsked].sort((a, b) => a - b),
        [1, 2, 3, 4, 5],
        'each page asked once',
      );
      const created = (await users()).map((u) => u.id_wispro as string);
      const wisproOrder = new Map(sim.clients.map((c, i) => [c.id, i]));
      const positions = created.map((id) => wisproOrder.get(id)!);
      assert.deepEqual(
        positions,
        [...positions].sort((a, b) => a - b),
        'users are created in the order Wispro lists them',
      );
    });

    test('a client Wispro lists again on a later page (its pages moved) is one user, with one outcome', async () => {
      // The first page is always a batch of its own, so the repeat is in a later batch: its outcome's key
      // is already recorded, the batch's write is refused and its pages are written one client at a time.
      const again = sim.clients.find((c, i) => i < 50 && c.name && parseCedula(c.national_identification_number))!;
      sim.clients.splice(160, 0, { ...again });
      const job = await synced();
      assert.equal(job.progress.total_records, 231);
      const p2 = job.progress;
      assert.equal(p2.created + p2.updated + p2.unchanged + p2.skipped + p2.errors, 231, 'every record counted');
      assert.equal((await users()).filter((u: any) => u.id_wispro === again.id).length, 1, 'one user for the client');
      const twice = await p.ctx.db.query('SELECT id_wispro FROM users WHERE id_wispro IS NOT NULL GROUP BY id_wispro HAVING count(*) > 1');
      assert.deepEqual(twice, [], 'no Wispro id twice');
      const items = await p.ctx.db.query<{ status: string }>('SELECT status FROM job_items WHERE job_id = $1 AND item_key = $2', [job.id, again.id]);
      assert.deepEqual(
        items.map((i) => i.status),
        ['unchanged'],
        'the later page decides the outcome',
      );
      const [count] = await p.ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM job_items WHERE job_id = $1', [job.id]);
      assert.equal(count?.n, 230, 'one outcome per distinct client');
    });

    test('a client another process creates while its batch waits to be written is matched, not created twice', {
      skip: mode !== 'scaled' && 'needs a second session holding the job: PostgreSQL',
    }, async () => {
      sim.setFaults({ latencyMs: 300 });
      const res = await p.api('/api/users/sync-wispro-all', { method: 'POST' });
      const jobId = res.body.job_id as string;
      await eventually(async () => (await p.api(`/jobs/${jobId}`)).body.status === 'processing', 10_000, 'the sync started');
      const other = sim.clients.find((c, i) => i < 50 && c.name && parseCedula(c.national_identification_number))!;
      const holder = new pg.Client({ connectionString: storage.env.DATABASE_URL });
      await holder.connect();
      try {
        // Another session holds the job's row: the first batch is read, and its write waits for the row.
        await holder.query('BEGIN');
        await holder.query('SELECT 1 FROM jobs WHERE id = $1 FOR UPDATE', [jobId]);
        await eventually(
          // Read from another session: a transaction keeps its first reading of pg_stat_activity.
          async () =>
            (await p.ctx.db.query("SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'SELECT id FROM jobs%FOR UPDATE'")).length > 0,
          10_000,
          "the first batch's write waiting",
        );
        // Meanwhile another process creates one of that batch's clients.
        await p.ctx.db.query(`INSERT INTO users (name, id_wispro) VALUES ('Creado por otro proceso', $1)`, [other.id]);
        await holder.query('COMMIT');
      } finally {
        await holder.end();
      }
      sim.setFaults({});
      const job = await waitForJob(p, jobId);
      assert.equal(job.status, 'completed', job.error);
      const p2 = job.progress;
      assert.equal(p2.created + p2.updated + p2.unchanged + p2.skipped + p2.errors, 230, 'every record counted');
      const mine = (await users()).filter((u: any) => u.id_wispro === other.id);
      assert.equal(mine.length, 1, 'one user for the client');
      assert.equal(mine[0].name, other.name, "the sync's batch, written again, matched it and took Wispro's profile");
      const [item] = await p.ctx.db.query<{ status: string }>('SELECT status FROM job_items WHERE job_id = $1 AND item_key = $2', [jobId, other.id]);
      assert.equal(item?.status, 'updated');
      assert.equal(p2.created, (await users()).length - 1, 'created counts the users the sync created');
    });

    test('the simulator sends the recorded client shape: no zone field, city and state present; zones stay empty', async () => {
      await synced();
      assert.ok(
        sim.clients.every((c) => !('zone_name' in c) && !('zone' in c) && c.city && c.state),
        'no zone in the recorded payload',
      );
      const [user] = await p.ctx.db.query<any>('SELECT * FROM users WHERE id_wispro IS NOT NULL ORDER BY id LIMIT 1');
      const client = sim.clients.find((c) => c.id === user.id_wispro)!;
      assert.deepEqual([user.city, user.state, user.zone], [client.city, client.state, null], 'city and state are kept for WHMCS; no zone is invented');
    });

    test('re-sync updates only name, email, address (city, state) and zone', async () => {
      await synced();
      const [before] = await p.ctx.db.query<any>(`SELECT * FROM users WHERE role = 0 AND email IS NOT NULL AND code IS NOT NULL ORDER BY id LIMIT 1`);
      await p.ctx.db.query(`UPDATE users SET plan_id = 7, status = false, role = 0, password_hash = '$argon2id$kept' WHERE id = $1`, [before.id]);
      const client = sim.clients.find((c) => c.id === before.id_wispro)!;
      Object.assign(client, {
        name: 'Nombre Nuevo',
        email: 'nuevo@correo.com',
        address: 'Av. Nueva 1',
        zone_name: 'Zona Nueva',
        city: 'Cabimas',
        state: 'Falcón',
        phone_mobile: '+584269999999',
        national_identification_number: 'E-11111111',
      });
      await p.ctx.db.query(`UPDATE users SET postcode = '4013', country = 'VE' WHERE id = $1`, [before.id]);
      const job = await sync();
      assert.equal(job.status, 'completed');
      assert.equal(job.progress.created, 0);
      assert.ok(job.progress.updated >= 1);
      const [after] = await p.ctx.db.query<any>('SELECT * FROM users WHERE id = $1', [before.id]);
      assert.deepEqual([after.name, after.email, after.address, after.zone], ['Nombre Nuevo', 'nuevo@correo.com', 'Av. Nueva 1', 'Zona Nueva']);
      assert.deepEqual([after.city, after.state], ['Cabimas', 'Falcón'], 'the address WHMCS needs follows Wispro');
      assert.deepEqual([after.postcode, after.country], ['4013', 'VE'], 'a postcode and country Wispro does not send are kept');
      for (const kept of ['password_hash', 'code', 'id_number', 'plan_id', 'status', 'role', 'phone', 'cedula_digits']) {
        assert.deepEqual(after[kept], kept === 'password_hash' ? '$argon2id$kept' : kept === 'plan_id' ? 7 : kept === 'status' ? false : before[kept], kept);
      }
    });

    test('the zone is read from a nested zone object too; a client without one has none', async () => {
      const [withZone, without] = sim.clients.filter((c) => c.name && c.email).slice(5, 7) as [any, any];
      withZone.zone = { id: 12, name: 'Torre Norte' };
      delete without.zone_name;
      delete without.zone;
      const job = await sync();
      assert.equal(job.status, 'completed');
      const zoneOf = async (id: string) => (await p.ctx.db.query<any>('SELECT zone FROM users WHERE id_wispro = $1', [id]))[0].zone;
      assert.equal(await zoneOf(withZone.id), 'Torre Norte');
      assert.equal(await zoneOf(without.id), null);
    });

    test('the nightly sync is scheduled in TZ and its next run is visible', async () => {
      await synced();
      const status = await p.api('/api/users/sync-wispro-status');
      assert.equal(status.status, 200, JSON.stringify(status.body));
      assert.equal(status.body.success, true);
      assert.deepEqual(status.body.schedule, { enabled: true, cron: '0 3 29 2 *', timezone: 'America/Caracas', next_run_at: '2028-02-29T07:00:00.000Z' });
      assert.equal(status.body.last_sync.status, 'completed');
      const stored = await p.ctx.runner.boss.getSchedule('wispro.sync');
      assert.equal(stored?.cron, '0 3 29 2 *');
      assert.equal(stored?.options?.tz, 'America/Caracas', 'pg-boss evaluates the cron in TZ');
      assert.equal((await p.api('/api/users/sync-wispro-status', { token: null })).status, 401);
    });

    test('a scheduled run that fails an attempt is retried, not left pending for good', async () => {
      sim.setFaults({ failPages: [1] });
      // A delivery as the cron sends it: no job record yet, no job id in its data.
      await p.ctx.runner.boss.send('wispro.sync', {});
      const failed = await eventually(
        async () => {
          const [row] = await p.ctx.db.query<any>(`SELECT * FROM jobs WHERE type = 'wispro.sync' AND created_by = 'schedule' ORDER BY created_at DESC LIMIT 1`);
          return row?.status === 'pending' && row.error ? row : null;
        },
        60_000,
        'the scheduled attempt to fail',
      );
      sim.setFaults({});
      const done = await waitForJob(p, failed.id, 90_000);
      assert.equal(done.status, 'completed', 'the retry ran the same record');
      assert.ok(done.attempts >= 2);
    });

    test('a local user is matched by cédula in any form and linked, not duplicated', async () => {
      await synced();
      const [local] = await p.ctx.db.query<any>(
        `INSERT INTO users (name, id_number, cedula_digits, code) VALUES ('Local', 'V-9876543', '9876543', '9876543') RETURNING *`,
      );
      sim.clients.push({ ...sim.clients[0]!, id: 'local-match-1', name: 'Desde Wispro', national_identification_number: '9.876.543' });
      const count = (await users()).length;
      const job = await sync();
      assert.equal(job.status, 'completed');
      assert.equal((await users()).length, count);
      const [linked] = await p.ctx.db.query<any>('SELECT * FROM users WHERE id = $1', [local.id]);
      assert.equal(linked.id_wispro, 'local-match-1');
      assert.equal(linked.name, 'Desde Wispro');
    });

    test('a second request while a sync runs answers with the running job', async () => {
      sim.setFaults({ latencyMs: 150 });
      try {
        const a = await p.api('/api/users/sync-wispro-all', { method: 'POST' });
        const b = await p.api('/api/users/sync-wispro-all', { method: 'POST' });
        assert.equal(b.body.job_id, a.body.job_id);
        assert.equal(b.body.already_running, true);
        await waitForJob(p, a.body.job_id);
      } finally {
        sim.setFaults({});
      }
    });

    test('HTTP 500s and HTTP-200 errors with status 500 are retried', async () => {
      const seen = sim.requests.length;
      const failures = () => sim.requests.slice(seen).filter((r) => r.status === 500).length;
      try {
        sim.setFaults({ status500Rate: 1 });
        const res = await p.api('/api/users/sync-wispro-all', { method: 'POST' });
        await eventually(async () => failures() >= 1, 10_000, 'an HTTP 200 with status 500');
        sim.setFaults({ http500Rate: 1 });
        await eventually(async () => failures() >= 2, 10_000, 'a real HTTP 500');
        sim.setFaults({});
        const job = await waitForJob(p, res.body.job_id);
        assert.equal(job.status, 'completed');
        assert.equal(job.progress.pages, job.progress.total_pages);
      } finally {
        sim.setFaults({});
      }
    });

    test('one record the database refuses costs only itself, not its page', async () => {
      await synced();
      const before = (await users()).length;
      const template = sim.clients[0]!;
      sim.clients.push(
        { ...template, id: 'nul-1', name: 'Bad\u0000Name', national_identification_number: '31000001' },
        { ...template, id: 'ok-1', name: 'Good Neighbour', national_identification_number: '31000002' },
      );
      const job = await sync();
      assert.equal(job.status, 'completed');
      assert.equal((await users()).length, before + 1, 'the good record of the same page was created');
      assert.ok(job.results.issues.some((i: any) => i.wispro_id === 'nul-1' && /base de datos/.test(i.reason)));
      assert.ok(job.progress.errors >= 1);
    });

    test('a request Wispro never answers is timed out and retried', async () => {
      sim.setFaults({ timeoutRate: 1 });
      const seen = sim.requests.length;
      try {
        const res = await p.api('/api/users/sync-wispro-all', { method: 'POST' });
        await eventually(async () => sim.requests.slice(seen).length > 0, 10_000, 'a request to hang');
        sim.setFaults({});
        const job = await waitForJob(p, res.body.job_id);
        assert.equal(job.status, 'completed');
        assert.equal(sim.requests[seen]!.status, 0, 'the first request was never answered');
        assert.equal(job.progress.pages, job.progress.total_pages);
      } finally {
        sim.setFaults({});
      }
    });

    test('a page that keeps failing fails the attempt; the retry resumes after the last saved page', async () => {
      await synced();
      const before = (await users()).length;
      sim.setFaults({ failPages: [3] });
      const res = await p.api('/api/users/sync-wispro-all', { method: 'POST' });
      const jobId = res.body.job_id;
      const firstRequest = sim.requests.length;
      await eventually(async () => (await p.api(`/jobs/${jobId}`)).body.error, 60_000, 'the first attempt to fail');
      sim.setFaults({});
      const job = await waitForJob(p, jobId, 90_000);
      assert.equal(job.status, 'completed');
      const pagesFetched = sim.requests.slice(firstRequest).map((r) => Number(r.query.page));
      assert.equal(pagesFetched.filter((n) => n === 1).length, 1, 'page 1 is not fetched again');
      assert.equal(pagesFetched.filter((n) => n === 2).length, 1, 'page 2 is not fetched again');
      assert.equal((await users()).length, before, 'no duplicates after resuming');
    });

    test('an attempt whose job was taken over writes nothing more: its next batch commits neither users nor checkpoint', async () => {
      // A lease long enough that this attempt's own renewal cannot notice the takeover during the test:
      // only the fence on each batch's transaction can stop it.
      await p.close();
      p = await startPuente(
        testEnv({ ...storage.env, WISPRO_API_URL: sim.url, WISPRO_API_TOKEN: TOKEN, WISPRO_PER_PAGE: '50', WISPRO_SYNC_CRON: 'off', JOB_LEASE_SECONDS: '120' }),
      );
      // Page 1 comes alone (it tells how many there are) and is written within a second (the embedded
      // database's longest wait for more pages); the other four come together two seconds after it.
      sim.setFaults({ latencyMs: 2000 });
      const res = await p.api('/api/users/sync-wispro-all', { method: 'POST' });
      const jobId = res.body.job_id;
      await eventually(async () => (await p.api(`/jobs/${jobId}`)).body.progress?.pages >= 1, 30_000, 'a first batch written');
      // Another attempt takes the job over, as `markProcessing` does once a lease has expired.
      const [taken] = await p.ctx.db.query<{ checkpoint: unknown; users: number }>(
        `WITH t AS (UPDATE jobs SET lease = 'taken-over', lease_until = now() + interval '1 hour' WHERE id = $1 RETURNING checkpoint)
         SELECT (SELECT checkpoint FROM t), (SELECT count(*)::int FROM users WHERE role = 0) AS users`,
        [jobId],
      );
      assert.ok((taken!.checkpoint as { next_page: number }).next_page <= 5, 'the takeover came before the last page was written');
      // A window proving nothing more is written: the remaining pages arrive within it.
      await new Promise((r) => setTimeout(r, 3000));
      sim.setFaults({});
      const [now] = await p.ctx.db.query<{ checkpoint: unknown; users: number; status: string; lease: string }>(
        `SELECT checkpoint, status, lease, (SELECT count(*)::int FROM users WHERE role = 0) AS users FROM jobs WHERE id = $1`,
        [jobId],
      );
      assert.deepEqual(now!.checkpoint, taken!.checkpoint, 'the checkpoint is the one the takeover read');
      assert.equal(now!.users, taken!.users, 'no user written after the takeover');
      assert.deepEqual([now!.status, now!.lease], ['processing', 'taken-over'], 'the job is left to the attempt that took it');
    });

    test('a rejected token fails the job at once with a clear reason', async () => {
      sim.setToken('rotated');
      try {
        const job = await sync();
        assert.equal(job.status, 'failed');
        assert.match(job.error, /WISPRO_API_TOKEN/);
        const [row] = await p.ctx.db.query<any>('SELECT attempts FROM jobs WHERE id = $1', [job.id]);
        assert.equal(row.attempts, 1, 'not retried');
      } finally {
        sim.setToken(TOKEN);
      }
    });

    test('an expired licence (402 in an HTTP 200) fails the job saying so', async () => {
      sim.setFaults({ licenceExpired: true });
      try {
        const job = await sync();
        assert.equal(job.status, 'failed');
        assert.match(job.error, /402.*licencia/);
      } finally {
        sim.setFaults({});
      }
    });
  });
}

describe('Wispro schedule settings', () => {
  test('WISPRO_SYNC_CRON defaults to 3 AM, is on whenever Wispro is configured, and "off" turns it off', async () => {
    const { loadConfig } = await import('../src/platform/config.ts');
    const { wisproJobs } = await import('../src/modules/wispro/wispro.jobs.ts');
    const scheduleWith = (env: Record<string, string>) => wisproJobs({ config: loadConfig(env) } as never)[0]!.schedule!();
    assert.equal(loadConfig({}).WISPRO_SYNC_CRON, '0 3 * * *');
    assert.equal(scheduleWith({ WISPRO_API_TOKEN: 't' }), '0 3 * * *');
    assert.equal(scheduleWith({}), null, 'no token, no schedule');
    assert.equal(scheduleWith({ WISPRO_API_TOKEN: 't', WISPRO_SYNC_CRON: 'off' }), null);
    assert.throws(() => loadConfig({ WISPRO_SYNC_CRON: 'every night' }), /WISPRO_SYNC_CRON/);
    assert.throws(() => loadConfig({ TZ: 'Mars/Olympus' }), /TZ/, 'a zone name that does not exist stops start-up');
    assert.equal(loadConfig({ TZ: ':/etc/localtime' }).TZ, ':/etc/localtime', 'a POSIX TZ some images set is left to the process');
  });
});
