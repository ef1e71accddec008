import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { startWisproSimulator, type WisproSimulator } from '../src/simulators/wispro/wispro.simulator.ts';
import { startWhatsAppSimulator, type WaSimulator } from '../src/simulators/whatsapp/whatsapp.simulator.ts';
import { LOST_WORKER_REASON } from '../src/platform/jobs/jobs.reconciler.ts';
import {
  ADMIN,
  eventually,
  freshStorage,
  modes,
  runsIn,
  startPuente,
  testEnv,
  waitForJob,
  type Mode,
  type Storage,
  type TestPuente,
} from './support/puente.ts';
import { spawnPuente, type PuenteProcess } from './support/spawn.ts';

const WISPRO_TOKEN = 'wispro-orphan-token';
const SWEEP_SECONDS = 2;
const TOTAL = 3000;

interface Front {
  url: string;
  token: string;
}

async function call(front: Front, path: string, init: { method?: string; body?: unknown } = {}) {
  const res = await fetch(front.url + path, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: { authorization: `Bearer ${front.token}`, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

async function uploadBulk(front: Front, content: string, fields: Record<string, string>) {
  const form = new FormData();
  form.append('file', new Blob([content]), 'clientes.csv');
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  const res = await fetch(`${front.url}/messages/send-bulk-file`, { method: 'POST', headers: { authorization: `Bearer ${front.token}` }, body: form });
  return { status: res.status, body: (await res.json()) as any };
}

function follow(url: string, token: string, jobId: string) {
  const events: any[] = [];
  const ws = new WebSocket(`${url.replace('http', 'ws')}/ws/job/${jobId}?token=${token}`);
  ws.on('message', (m) => events.push(JSON.parse(String(m))));
  return { events, close: () => ws.close() };
}

/**
 * Where a job is killed during its last attempt, and who is left to notice.
 *
 * Scaled out: the job runs in a separate `puente worker` process that is killed with SIGKILL; the
 * HTTP/socket process (this test's, without workers) stays up, and two other worker processes, as a
 * deployment would have, are what reconcile (concurrently).
 *
 * Embedded: the worker is the whole process, and PGlite cannot be opened by a second process while
 * the first holds it, so no survivor can watch a worker die beside it. What is closest to reality is
 * what happens to an embedded install: a `puente serve` process (PGlite on DATA_DIR, workers inside)
 * is killed with SIGKILL mid-job, and Puente is started again on the same DATA_DIR. The restarted
 * process sees the queue job its dead predecessor left `active`, waits until pg-boss fails it (its
 * heartbeat stopped; no retry is left), and closes the record on its next sweep. Its heartbeat is
 * longer here so that the restart (and the socket opened on it) comes before the queue gives up.
 */
class Harness {
  readonly mode: Mode;
  storage!: Storage;
  env!: NodeJS.ProcessEnv;
  wispro!: WisproSimulator;
  wa!: WaSimulator;
  /** Scaled: the HTTP process, up all along. Embedded: the Puente started after the kill. */
  observer: TestPuente | null = null;
  readonly workers: PuenteProcess[] = [];

  constructor(mode: Mode) {
    this.mode = mode;
  }

  async before() {
    this.storage = await freshStorage(this.mode);
    this.wispro = await startWisproSimulator({ token: WISPRO_TOKEN, clients: 400, seed: 18 });
    this.wa = await startWhatsAppSimulator();
    this.env = testEnv({
      ...this.storage.env,
      WISPRO_API_URL: this.wispro.url,
      WISPRO_API_TOKEN: WISPRO_TOKEN,
      WISPRO_PER_PAGE: '10',
      DEFAULT_COUNTRY: 'PE',
      JOB_RECONCILE_INTERVAL_SECONDS: String(SWEEP_SECONDS),
      JOB_HEARTBEAT_SECONDS: this.mode === 'embedded' ? '20' : '10',
    });
    const p = await startPuente(this.env, { work: false });
    // The test's retry limit: every attempt is the last one.
    for (const queue of ['wispro.sync', 'messaging.bulk-send']) await p.ctx.runner.boss.updateQueue(queue, { retryLimit: 0 });
    for (const provider of ['simulator', 'waha'] as const) {
      const dev = this.wa.addDevice({ provider, latencyMs: 150 });
      const added = await p.api('/devices', { body: { name: `${provider}-${dev.id}`, provider, base_url: dev.baseUrl, credentials: dev.credentials } });
      assert.equal(added.status, 201, JSON.stringify(added.body));
    }
    if (this.mode === 'scaled') this.observer = p;
    else await p.close();
  }

  async after() {
    for (const w of this.workers) await w.kill();
    await this.observer?.close();
    await this.wispro?.close();
    await this.wa?.close();
    await this.storage?.dispose();
  }

  /** A process that will run the next job and be killed: its API (to start the job) and its kill switch. */
  async doomed(): Promise<{ front: Front; kill(): Promise<void> }> {
    if (this.mode === 'scaled') {
      // The doomed worker is the only one: the job must run there.
      for (const w of this.workers.splice(0)) await w.stop();
      const worker = await spawnPuente(['worker'], this.env);
      return { front: { url: this.observer!.url, token: this.observer!.token }, kill: () => worker.kill() };
    }
    await this.observer?.close();
    this.observer = null;
    const serve = await spawnPuente(['serve'], this.env);
    const login = await fetch(`${serve.url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ADMIN) });
    return { front: { url: serve.url!, token: ((await login.json()) as any).access_token }, kill: () => serve.kill() };
  }

  /** After the kill: scaled, another worker joins; embedded, Puente starts again on the same data. */
  async survivor(): Promise<TestPuente> {
    if (this.mode === 'scaled') {
      // Two of them: both sweep, and the job must still be closed (and announced) once.
      this.workers.push(...(await Promise.all([spawnPuente(['worker'], this.env), spawnPuente(['worker'], this.env)])));
      return this.observer!;
    }
    this.observer = await startPuente(this.env);
    return this.observer;
  }

  /** Seconds between the queue giving the job up and the record being closed. */
  async closeDelay(p: TestPuente, jobId: string) {
    const [row] = await p.ctx.db.query<{ s: number }>(
      `
      SELECT EXTRACT(EPOCH FROM j.finished_at - max(q.completed_on))::float8 AS s
      FROM jobs j JOIN pgboss.job q ON q.data->>'jobId' = j.id::text WHERE j.id = $1 GROUP BY j.finished_at`,
      [jobId],
    );
    return row!.s;
  }
}

for (const mode of modes) {
  describe(`jobs whose worker dies on the last attempt (${mode})`, runsIn(mode), () => {
    const h = new Harness(mode);
    before(() => h.before());
    after(() => h.after());

    test('a sync killed on its last attempt ends failed within the sweep interval, job_failed reaches the socket, a new sync can start, and its retry resumes from the saved page', async (t) => {
      h.wispro.setFaults({ latencyMs: 250 });
      const doomed = await h.doomed();
      const started = await call(doomed.front, '/api/users/sync-wispro-all', { method: 'POST' });
      assert.equal(started.status, 200, JSON.stringify(started.body));
      const jobId: string = started.body.job_id;
      const early = mode === 'scaled' ? follow(h.observer!.url, h.observer!.token, jobId) : null;
      // Scaled, the socket opened before the kill must have seen progress before it: the worker
      // publishes progress at most every 200 ms, so three saved pages alone may all precede it.
      await eventually(
        async () =>
          (await call(doomed.front, `/jobs/${jobId}`)).body.progress?.pages >= 3 && (!early || early.events.some((e) => e.type === 'progress' && e.progress)),
        60_000,
        'three pages saved (and followed on the socket)',
      );
      await doomed.kill();
      const p = await h.survivor();
      const socket = early ?? follow(p.url, p.token, jobId);
      h.wispro.setFaults({});

      const job = await waitForJob(p, jobId, 120_000);
      assert.equal(job.status, 'failed', JSON.stringify(job));
      assert.equal(job.error, LOST_WORKER_REASON);
      assert.equal(job.attempts, 1, 'the queue did not retry it: that was the last attempt');
      const [saved] = await p.ctx.db.query<any>('SELECT checkpoint FROM jobs WHERE id = $1', [jobId]);
      assert.equal(job.progress.pages, saved.checkpoint.next_page - 1, 'final counts are the ones recorded');
      assert.equal(job.results.created, saved.checkpoint.counters.created);
      const delay = await h.closeDelay(p, jobId);
      t.diagnostic(`record closed ${delay.toFixed(2)} s after the queue gave the job up (sweep every ${SWEEP_SECONDS} s)`);
      assert.ok(delay <= SWEEP_SECONDS + 4, `closed ${delay.toFixed(1)} s after the queue gave up (sweep every ${SWEEP_SECONDS} s)`);

      const failed = await eventually(async () => socket.events.find((e) => e.type === 'job_failed'), 10_000, 'job_failed on the socket');
      // A window proving nothing more happens: two more sweeps by every worker, none announces it again.
      await new Promise((r) => setTimeout(r, SWEEP_SECONDS * 2 * 1000));
      socket.close();
      assert.equal(socket.events.filter((e) => e.type === 'job_failed').length, 1, 'closed and announced once');
      assert.equal(failed.error, LOST_WORKER_REASON);
      assert.match(failed.message, /El job falló/);
      assert.deepEqual(failed.progress, job.progress, 'published with its final counts as it closed, not read back later');
      assert.ok(
        socket.events.some((e) => e.type === 'progress' && e.progress),
        'the socket followed the job while it was running',
      );

      const again = await p.api('/api/users/sync-wispro-all', { method: 'POST' });
      assert.equal(again.body.already_running, false, 'the singleton sync is free again');
      assert.notEqual(again.body.job_id, jobId);
      assert.equal((await waitForJob(p, again.body.job_id, 120_000)).status, 'completed');

      const before = h.wispro.requests.length;
      const retry = await p.api(`/jobs/${jobId}/retry`, { method: 'POST' });
      assert.equal(retry.status, 201, JSON.stringify(retry.body));
      const resumed = await waitForJob(p, retry.body.job_id, 120_000);
      assert.equal(resumed.status, 'completed', JSON.stringify(resumed));
      assert.equal(resumed.retry_of, jobId);
      const pages = h.wispro.requests.slice(before).map((r) => Number(r.query.page));
      assert.equal(Math.min(...pages), saved.checkpoint.next_page, 'the retry resumed from the page the lost attempt had saved');
      assert.equal(resumed.progress.pages, resumed.progress.total_pages);
      assert.equal((await p.api(`/jobs/${jobId}`)).body.retried_as, resumed.id);
    });

    test('a bulk send killed on its last attempt ends failed with in-flight recipients uncertain; its retry sends the rest and nobody twice', async () => {
      h.wa.reset();
      const doomed = await h.doomed();
      const rows = Array.from({ length: TOTAL }, (_, i) => `+5198${String(4_000_000 + i)}|r${i}`).join('\n');
      const upload = await uploadBulk(doomed.front, rows, { message: 'R @valor1', devices_limit: '2' });
      assert.equal(upload.status, 200, JSON.stringify(upload.body));
      const jobId: string = upload.body.job.id;
      await eventually(async () => h.wa.messages.length >= 300, 60_000, '300 messages sent');
      await doomed.kill();
      const p = await h.survivor();

      const job = await waitForJob(p, jobId, 120_000);
      assert.equal(job.status, 'failed', JSON.stringify(job));
      assert.equal(job.error, LOST_WORKER_REASON);
      // Receipts move sent messages on to delivered and read: all three were sent.
      const [c] = await p.ctx.db.query<any>(
        `
        SELECT count(*) FILTER (WHERE status IN ('sent', 'delivered', 'read'))::int AS sent, count(*) FILTER (WHERE status = 'uncertain')::int AS uncertain,
               count(*) FILTER (WHERE status = 'sending')::int AS sending, count(*) FILTER (WHERE status = 'queued')::int AS queued
        FROM message_recipients WHERE job_id = $1`,
        [jobId],
      );
      assert.equal(c.sending, 0, 'nothing is left in flight');
      assert.ok(c.uncertain > 0, 'what was in flight when the worker died is uncertain');
      assert.deepEqual(
        { sent: job.results.sent, uncertain: job.results.uncertain, unsent: job.results.unsent, total: job.results.total },
        { sent: c.sent, uncertain: c.uncertain, unsent: c.queued, total: TOTAL },
      );
      assert.equal(job.progress.sent, c.sent);
      assert.ok(c.sent >= 300 - c.uncertain && c.sent < TOTAL, `sent ${c.sent} before the kill`);

      const unknown = await p.api(`/jobs/${randomUUID()}/retry`, { method: 'POST' });
      assert.deepEqual([unknown.status, unknown.body.code], [404, 'job.not_found']);
      const beforeRetry = h.wa.messages.length;
      const retry = await p.api(`/jobs/${jobId}/retry`, { method: 'POST', body: {} });
      assert.equal(retry.status, 201, JSON.stringify(retry.body));
      assert.equal(retry.body.job.retry_of, jobId);
      const twice = await p.api(`/jobs/${jobId}/retry`, { method: 'POST' });
      assert.equal(twice.status, 409, 'a job is retried once: two retries would both send what is left');
      assert.equal(twice.body.code, 'job.not_retryable');

      const done = await waitForJob(p, retry.body.job_id, 120_000);
      assert.equal(done.status, 'completed', JSON.stringify(done));
      assert.deepEqual(h.wa.duplicates(), [], 'no recipient got the message twice');
      const uncertainPhones = new Set(
        (await p.ctx.db.query<{ phone: string }>(`SELECT phone FROM message_recipients WHERE job_id = $1 AND status = 'uncertain'`, [jobId])).map((r) =>
          r.phone.replace('+', ''),
        ),
      );
      assert.ok(
        h.wa.messages.slice(beforeRetry).every((m) => !uncertainPhones.has(m.to)),
        'uncertain recipients are not sent again',
      );
      assert.equal(done.results.sent, TOTAL - c.uncertain, 'everyone else has it now');
      assert.equal(done.results.uncertain, c.uncertain);
      assert.equal(h.wa.messages.length - beforeRetry, TOTAL - c.uncertain - c.sent, 'the retry sent only what was not sent before');
      const [old] = await p.ctx.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM message_recipients WHERE job_id = $1 AND status IN ('queued', 'sending')`,
        [jobId],
      );
      assert.equal(old!.n, 0, 'the failed job has nothing left that anyone could claim');

      const completed = await p.api(`/jobs/${done.id}/retry`, { method: 'POST' });
      assert.equal(completed.status, 409, 'a completed job is not retried');
      assert.deepEqual([completed.body.code, completed.body.job_status], ['job.not_retryable', 'completed']);
      const cleanup = randomUUID();
      await p.ctx.db.query(`INSERT INTO jobs (id, type, status) VALUES ($1, 'platform.jobs-cleanup', 'failed')`, [cleanup]);
      assert.equal((await p.api(`/jobs/${cleanup}/retry`, { method: 'POST' })).status, 409, 'a type without retry');
      const customer = await p.api(`/jobs/${jobId}/retry`, { method: 'POST', token: null });
      assert.equal(customer.status, 401);
    });

    test('a live slow job is never reconciled; a record nothing runs is', async () => {
      const p = h.observer ?? (await h.survivor());
      if (mode === 'scaled') h.workers.push(await spawnPuente(['worker'], h.env));
      // 40 pages, asked four at a time: about 16 s, longer than the window below.
      h.wispro.setFaults({ latencyMs: 1600 });
      const res = await p.api('/api/users/sync-wispro-all', { method: 'POST' });
      const liveId: string = res.body.job_id;
      await eventually(async () => (await p.api(`/jobs/${liveId}`)).body.progress?.pages >= 1, 60_000, 'the slow sync running');
      // Its lease looks lapsed (a slow renewal), but the queue job is active with a fresh heartbeat.
      await p.ctx.db.query(`UPDATE jobs SET lease_until = now() - interval '1 minute' WHERE id = $1`, [liveId]);
      const orphan = randomUUID();
      const fresh = randomUUID();
      await p.ctx.db.query(
        `
        INSERT INTO jobs (id, type, status, progress, lease, lease_until, started_at)
        VALUES ($1, 'zoho.product-sync', 'processing', '{"pages": 2, "upserted": 40}', 'gone', now() - interval '1 minute', now() - interval '5 minutes')`,
        [orphan],
      );
      // Written a moment ago and not queued yet (as a start is, between its insert and its send).
      await p.ctx.db.query(`INSERT INTO jobs (id, type, status) VALUES ($1, 'whmcs.push-all', 'pending')`, [fresh]);
      // A scheduled run's record is linked to its queue job by id (its data has no record id): still queued here.
      const queued = (await p.ctx.runner.boss.send('zoho.code-sync', {}, { startAfter: 3600 }))!;
      const scheduled = randomUUID();
      await p.ctx.db.query(
        `
        INSERT INTO jobs (id, type, status, params, lease, lease_until, created_by)
        VALUES ($1, 'zoho.code-sync', 'processing', $2::jsonb, 'gone', now() - interval '1 minute', 'schedule')`,
        [scheduled, JSON.stringify({ trigger: 'schedule', queue_job: queued })],
      );
      const runtime = p.server.runtime;
      const [a, b] = await Promise.all([runtime.reconciler.sweep(), runtime.reconciler.sweep()]);
      assert.deepEqual(a, b, 'a sweep already running is joined');
      const closed = await eventually(async () => ((await p.api(`/jobs/${orphan}`)).body.status === 'failed' ? true : null), 10_000, 'the orphan closed');
      assert.ok(closed);
      const gone = (await p.api(`/jobs/${orphan}`)).body;
      assert.equal(gone.error, LOST_WORKER_REASON);
      assert.deepEqual(gone.results, { pages: 2, upserted: 40 }, 'results are the last progress recorded');
      // A window proving nothing happens: several sweeps pass while the slow job runs, and leave it alone.
      await new Promise((r) => setTimeout(r, SWEEP_SECONDS * 3 * 1000));
      assert.equal((await runtime.reconciler.sweep()).includes(liveId), false);
      assert.equal((await p.api(`/jobs/${liveId}`)).body.status, 'processing');
      assert.equal((await p.api(`/jobs/${fresh}`)).body.status, 'pending', 'a just-written pending record is given time to be queued');
      assert.equal((await p.api(`/jobs/${scheduled}`)).body.status, 'processing', 'a scheduled run whose queue job is live is left alone');
      await p.ctx.runner.boss.deleteJob('zoho.code-sync', queued);
      await eventually(async () => (await p.api(`/jobs/${scheduled}`)).body.status === 'failed', 10_000, 'the scheduled run closed once its queue job is gone');
      h.wispro.setFaults({});
      const live = await waitForJob(p, liveId, 120_000);
      assert.equal(live.status, 'completed', JSON.stringify(live));
      assert.equal(live.error, null);
      await p.ctx.db.query(`DELETE FROM jobs WHERE id = $1`, [fresh]);
    });

    test('a retry asked to include uncertain recipients sends them, and still never what was sent', async () => {
      const p = h.observer!;
      h.wa.reset();
      const jobId = randomUUID();
      const phones = ['+51987000001', '+51987000002', '+51987000003', '+51987000004', '+51987000005'];
      await p.ctx.db.query(
        `
        INSERT INTO jobs (id, type, status, params, progress, finished_at)
        VALUES ($1, 'messaging.bulk-send', 'failed', $2::jsonb, '{}', now())`,
        [
          jobId,
          JSON.stringify({
            message: 'U @valor1',
            devices_limit: 1,
            total_numbers: 6,
            invalid_numbers: 1,
            duplicates: 0,
            file_name: 'u.csv',
            template: null,
            payload: {},
          }),
        ],
      );
      await p.ctx.db.query(
        `
        INSERT INTO message_recipients (job_id, seq, phone, raw_phone, vals, status, error)
        SELECT $1::uuid, r.seq, r.phone, coalesce(r.phone, 'abc'), 'v' || r.seq, r.status, NULL
        FROM jsonb_to_recordset($2::jsonb) AS r(seq int, phone text, status text)`,
        [
          jobId,
          JSON.stringify([
            { seq: 0, phone: phones[0], status: 'sent' },
            { seq: 1, phone: phones[1], status: 'uncertain' },
            { seq: 2, phone: phones[2], status: 'failed' },
            { seq: 3, phone: phones[3], status: 'queued' },
            { seq: 4, phone: phones[4], status: 'sent' },
            { seq: 5, phone: null, status: 'failed' },
          ]),
        ],
      );
      const retry = await p.api(`/jobs/${jobId}/retry`, { method: 'POST', body: { include_uncertain: true } });
      assert.equal(retry.status, 201, JSON.stringify(retry.body));
      const done = await waitForJob(p, retry.body.job_id, 60_000);
      assert.equal(done.status, 'completed', JSON.stringify(done));
      const to = h.wa.messages.map((m) => `+${m.to}`).sort();
      assert.deepEqual(to, [phones[1], phones[2], phones[3]], 'the uncertain one was asked for; sent ones are never sent again');
      assert.deepEqual(
        { sent: done.results.sent, failed: done.results.failed, uncertain: done.results.uncertain, total: done.results.total },
        { sent: 5, failed: 1, uncertain: 0, total: 6 },
        'the invalid number stays failed',
      );
      assert.equal((await p.api(`/jobs/${jobId}/retry`, { method: 'POST', body: { include_uncertain: 'yes' } })).status, 400, 'a bad body is refused');
    });
  });
}
