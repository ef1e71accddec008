import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest, Agent } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { io as ioClient, type Socket } from 'socket.io-client';
import { startWhatsAppSimulator, type WaSimulator } from '../src/simulators/whatsapp/whatsapp.simulator.ts';
import { startWisproSimulator } from '../src/simulators/wispro/wispro.simulator.ts';
import { SyncClient } from '../src/clients/sync-client.ts';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createRedisBus } from '../src/platform/events/bus.ts';
import { createLogger } from '../src/platform/logger.ts';
import { ADMIN, eventually, freshStorage, redisUrl, runsIn, startPuente, testEnv, waitForJob, type Storage, type TestPuente } from './support/puente.ts';
import { spawnPuente, type PuenteProcess } from './support/spawn.ts';
import { redisServerMissing, startTcpProxy, startTestRedis, type TcpProxy, type TestRedis } from './support/faults.ts';

const API_KEY = 'test-cloud-api-key';
/** A loaded CI machine can take a while to start a process; that is not what is measured here. */
const STARTUP_MS = 120_000;
/** A send of a few thousand messages at the devices' pace, on a loaded machine. */
const LONG_TEST_MS = 400_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Scaled out (PostgreSQL + Redis, several nodes), with the dependencies taken away: a Redis of the
 * suite's own that it kills and restarts, PostgreSQL behind a TCP proxy it cuts, workers killed with
 * SIGKILL and serve nodes stopped with SIGTERM under load. Timing settings are the defaults (lease,
 * heartbeat, queue polling), so what is measured is what a deployment gets.
 */
/** Skipped, saying why, without PostgreSQL (scaled mode) or without a redis-server program to kill and restart. */
const faultsRunIn = (): { skip?: string } => {
  const scaled = runsIn('scaled');
  if (scaled.skip) return scaled;
  const missing = redisServerMissing();
  return missing ? { skip: `fault tests skipped: ${missing}` } : {};
};

describe('faults: Redis, PostgreSQL and nodes going away (scaled out)', { timeout: 900_000, ...faultsRunIn() }, () => {
  let storage: Storage;
  let redis: TestRedis;
  let pgProxy: TcpProxy;
  let sim: WaSimulator;
  const simDevices: ReturnType<WaSimulator['addDevice']>[] = [];
  let env: NodeJS.ProcessEnv;
  let a: TestPuente;
  let b: TestPuente;
  const procs: PuenteProcess[] = [];
  const sockets: Socket[] = [];
  const syncClients: SyncClient[] = [];
  const dirs: string[] = [];

  const upload = async (p: TestPuente, rows: string, devicesLimit = 2) => {
    const form = new FormData();
    form.append('file', new Blob([rows]), 'clientes.csv');
    form.append('message', 'F @valor1');
    form.append('devices_limit', String(devicesLimit));
    const res = await fetch(`${p.url}/messages/send-bulk-file`, { method: 'POST', headers: { authorization: `Bearer ${p.token}` }, body: form });
    const body = (await res.json()) as any;
    assert.equal(res.status, 200, JSON.stringify(body));
    return body.job.id as string;
  };
  // Receipts move sent messages on to delivered and read: all three were sent.
  const recipients = (jobId: string) =>
    a.ctx.db
      .query<{ sent: number; uncertain: number; other: number }>(
        `
    SELECT count(*) FILTER (WHERE status IN ('sent', 'delivered', 'read'))::int AS sent, count(*) FILTER (WHERE status = 'uncertain')::int AS uncertain,
           count(*) FILTER (WHERE status NOT IN ('sent', 'delivered', 'read', 'uncertain'))::int AS other
    FROM message_recipients WHERE job_id = $1`,
        [jobId],
      )
      .then((r) => r[0]!);
  const jobRow = (jobId: string) =>
    a.ctx.db.query<{ status: string; attempts: number }>('SELECT status, attempts FROM jobs WHERE id = $1', [jobId]).then((r) => r[0]!);
  const bossRetries = (jobId: string) => a.ctx.db.query<{ retry_count: number }>(`SELECT retry_count FROM pgboss.job WHERE data->>'jobId' = $1`, [jobId]);
  /** A sync client of the test's own: its position is moved by nobody else. */
  const newSyncKey = async (name: string) => {
    const r = await a.api('/api/sync-clients', { body: { name } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.api_key as string;
  };
  const feedSocket = (p: TestPuente, apiKey = API_KEY) => {
    const s = ioClient(`${p.url}/sync`, { auth: { apiKey }, transports: ['websocket'], reconnectionDelay: 100, reconnectionDelayMax: 500 });
    sockets.push(s);
    const told: number[] = [];
    s.on('changes:pending', () => told.push(Date.now()));
    return { socket: s, told };
  };
  /** Runs `during` with Redis killed; Redis is started again whatever happens, so each test stands alone. */
  const withRedisDown = async <T>(during: () => Promise<T>): Promise<T> => {
    await redis.kill();
    try {
      return await during();
    } finally {
      await redis.start().catch(() => {});
    }
  };
  /** A job row that no worker runs (paused), for the tests that only read one. */
  const pausedJob = async () => {
    const [row] = await a.ctx.db.query<{ id: string }>(
      `INSERT INTO jobs (id, type, status) VALUES (gen_random_uuid(), 'messaging.bulk-send', 'paused') RETURNING id`,
    );
    return row!.id;
  };
  const lastSeq = async () => Number((await a.ctx.db.query<{ seq: string | null }>('SELECT max(seq) AS seq FROM sync_changes'))[0]!.seq ?? 0);

  before(async () => {
    storage = await freshStorage('scaled');
    redis = await startTestRedis();
    pgProxy = await startTcpProxy(Number(new URL(storage.env.DATABASE_URL!).port || 5432));
    sim = await startWhatsAppSimulator();
    const viaProxy = new URL(storage.env.DATABASE_URL!);
    viaProxy.port = String(pgProxy.port);
    env = testEnv({ ...storage.env, DATABASE_URL: viaProxy.toString(), REDIS_URL: redis.url, DEFAULT_COUNTRY: 'PE' });
    // The defaults, not the suite's quicker test settings: takeover time is measured as deployed.
    for (const k of ['JOB_HEARTBEAT_SECONDS', 'JOB_MONITOR_INTERVAL_SECONDS', 'JOB_POLL_INTERVAL_SECONDS']) delete env[k];
    // Two serve nodes in this process (HTTP + sockets, no workers); jobs run in worker processes.
    a = await startPuente(env, { work: false });
    b = await startPuente(env, { work: false });
    for (let i = 0; i < 2; i++) {
      const dev = sim.addDevice({ provider: 'simulator', latencyMs: 10 });
      simDevices.push(dev);
      const r = await a.api('/devices', {
        body: { name: `sim-${i}`, provider: 'simulator', base_url: dev.baseUrl, credentials: dev.credentials, messages_per_minute: 3000 },
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
  });
  after(async () => {
    // Each clean-up step gets a bounded time, so one that hangs cannot keep the others (the test's own
    // redis-server among them) from running.
    const within = (work: Promise<unknown> | undefined, ms = 15_000) =>
      Promise.race([Promise.resolve(work).catch(() => {}), new Promise((resolve) => setTimeout(resolve, ms).unref())]);
    for (const s of sockets) s.disconnect();
    for (const c of syncClients) c.disconnect();
    for (const p of procs) await within(p.kill());
    await within(a?.close());
    await within(b?.close());
    await within(sim?.close());
    await within(redis?.kill());
    await within(pgProxy?.close());
    await within(storage?.dispose());
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test('Redis down: committed orders answer 201 within 1 s; every client is told within 5 s of its return, with no new commit', async () => {
    // The watchers never pull, so they stay behind; the reference clients (another sync client) catch up.
    const watcherKey = await newSyncKey('faults-watchers');
    const watchers = [feedSocket(a, watcherKey), feedSocket(a, watcherKey), feedSocket(b, watcherKey), feedSocket(b, watcherKey)];
    for (const node of [a, b]) {
      const dir = mkdtempSync(join(tmpdir(), 'puente-faults-'));
      dirs.push(dir);
      const client = new SyncClient({
        backendUrl: node.url,
        apiKey: await newSyncKey(`faults-reference-${syncClients.length}`),
        cursorFile: join(dir, 'cursor'),
        apply: () => {},
        retryBaseMs: 100,
      });
      syncClients.push(client);
      await client.connect();
    }
    await eventually(async () => watchers.every((w) => w.socket.connected), 10_000, 'sockets connected');

    const last = await withRedisDown(async () => {
      const ready = await eventually(
        async () => {
          const r = await a.api('/ready');
          return r.status === 503 ? r : null;
        },
        10_000,
        '/ready to report Redis down',
      );
      assert.notEqual(ready.body.checks.redis, 'ok');
      assert.equal(ready.body.checks.database, 'ok');

      const latencies: number[] = [];
      for (let i = 0; i < 20; i++) {
        const node = i % 2 ? b : a;
        const started = performance.now();
        const r = await node.api('/orders', { body: { external_ref: `outage-${i}`, items: [{ name: 'Plan 50 Mbps', quantity: 1, price: 25 }] } });
        latencies.push(performance.now() - started);
        assert.equal(r.status, 201, `order ${i} (${latencies.at(-1)!.toFixed(0)} ms): ${JSON.stringify(r.body)}`);
      }
      const worst = Math.max(...latencies);
      console.log(`# orders during the Redis outage: worst ${worst.toFixed(0)} ms, median ${latencies.sort((x, y) => x - y)[10]!.toFixed(0)} ms`);
      assert.ok(worst < 1000, `every committed order answered within 1 s (worst ${worst.toFixed(0)} ms)`);
      const [{ n }] = (await a.ctx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM orders WHERE external_ref LIKE 'outage-%'`)) as [{ n: number }];
      assert.equal(n, 20, 'each order committed once');
      // Presence asks every node over the Socket.IO adapter; without Redis it answers with this node's.
      const started = performance.now();
      const clients = await a.api('/api/sync-clients');
      assert.equal(clients.status, 200, JSON.stringify(clients.body));
      assert.ok(performance.now() - started < 1000, 'presence does not wait on Redis');
      assert.equal(clients.body.data.find((c: any) => c.name === 'faults-watchers')?.connected, true);
      return lastSeq();
    });
    const back = Date.now(); // Redis is up again
    const notified = await eventually(
      async () => {
        const times = watchers.map((w) => w.told.find((t) => t >= back));
        return times.every((t) => t !== undefined) ? times.map((t) => t! - back) : null;
      },
      5000,
      'every socket told of its pending changes after Redis returned',
    );
    console.log(`# sockets behind told after Redis returned: ${notified.join(', ')} ms`);
    await eventually(async () => syncClients.every((c) => c.applied >= last), 5000, 'the reference clients to catch up');
    await eventually(async () => (await a.api('/ready')).status === 200, 10_000, '/ready to recover');
  });

  test('a reference client whose pull fails (its node lost the database) catches up by itself once it can answer', async () => {
    // A third node with a database link of its own, cut while the others keep theirs.
    const link = await startTcpProxy(Number(new URL(storage.env.DATABASE_URL!).port || 5432));
    const viaLink = new URL(storage.env.DATABASE_URL!);
    viaLink.port = String(link.port);
    const c = await startPuente({ ...env, DATABASE_URL: viaLink.toString() }, { work: false });
    const dir = mkdtempSync(join(tmpdir(), 'puente-faults-'));
    dirs.push(dir);
    const errors: string[] = [];
    const client = new SyncClient({
      backendUrl: c.url,
      apiKey: await newSyncKey('faults-retrying-client'),
      cursorFile: join(dir, 'cursor'),
      apply: () => {},
      onError: (e) => errors.push(e.message),
      retryBaseMs: 100,
      retryMaxMs: 400,
    });
    try {
      await client.connect();
      await eventually(async () => client.applied >= (await lastSeq()), 10_000, 'the client to be caught up');
      let told = 0;
      client.socket?.on('changes:pending', () => told++);
      link.cut();
      // Committed through another node: the client is told (from memory, no query), and its pull fails.
      const order = await a.api('/orders', { body: { items: [{ name: 'while cut', quantity: 1, price: 1 }] } });
      assert.equal(order.status, 201);
      const seq = await lastSeq();
      await eventually(
        async () => errors.length > 0,
        10_000,
        'a pull to fail',
        async () => {
          const ready = await c.api('/ready').catch((e: Error) => ({ status: e.message, body: null }));
          return `the client was told ${told} times since the cut, applied ${client.applied} of ${seq}; the node's /ready: ${ready.status} ${JSON.stringify(ready.body)}`;
        },
      );
      // A window, not a wait for a condition: the link stays cut a little longer than the failed pull,
      // as an outage does, so what follows proves the client retries on its own once the node answers.
      await sleep(500);
      link.restore();
      const restored = Date.now();
      // Well before the node's own reminder (5 s after it told the client): the client retried.
      await eventually(async () => client.applied >= seq, 3000, 'the client to catch up after its failed pull');
      console.log(`# reference client caught up ${Date.now() - restored} ms after its node could answer again`);
    } finally {
      client.disconnect();
      link.restore();
      await c.close();
      await link.close();
    }
  });

  test('Redis down: logins never answer 500; the login limit is kept per process', async () => {
    const statuses = await withRedisDown(async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 14; i++) {
        const started = performance.now();
        const r = await b.api('/auth/login', { body: ADMIN, token: null });
        const took = performance.now() - started;
        assert.ok(took < 1000, `no login waits on Redis (${took.toFixed(0)} ms, ${r.status})`);
        statuses.push(r.status);
      }
      return statuses;
    });
    assert.ok(
      statuses.every((s) => s === 200 || s === 429),
      `only 200 or 429: ${statuses.join(',')}`,
    );
    assert.equal(statuses[0], 200);
    assert.ok(statuses.includes(429), 'the limit still holds while Redis is away');
  });

  test('Redis down during a bulk send: no attempt spent, nobody uncertain that was not in flight, nobody sent twice', { timeout: LONG_TEST_MS }, async () => {
    procs.push(await spawnPuente(['worker'], env, STARTUP_MS));
    const total = 2500;
    const rows = Array.from({ length: total }, (_, i) => `+5197${String(1_000_000 + i)}|r${i}`).join('\n');
    sim.reset();
    const jobId = await upload(a, rows);
    const events: any[] = [];
    const ws = new WebSocket(`${a.url.replace('http', 'ws')}/ws/job/${jobId}?token=${a.token}`);
    ws.on('message', (m) => events.push(JSON.parse(String(m))));
    // Redis goes just before the second chunk (CHUNK_SIZE 1000) is announced, so that announcement
    // is made while it is away.
    await eventually(async () => sim.messages.length >= 500, 60_000, '500 messages sent');
    const from = { n: sim.messages.length, at: Date.now() };
    await eventually(async () => sim.messages.length >= 985, 60_000, '985 messages sent');
    const perSecond = (sim.messages.length - from.n) / ((Date.now() - from.at) / 1000);
    const outage = await withRedisDown(async () => {
      const atKill = { n: sim.messages.length, at: Date.now() };
      // The outage itself: a fixed window over which the send rate without Redis is measured.
      await sleep(6000);
      return { sent: sim.messages.length - atKill.n, seconds: (Date.now() - atKill.at) / 1000 };
    });
    assert.ok(sim.messages.length < total, 'Redis came back before the send finished');
    const job = await waitForJob(a, jobId, 240_000);
    ws.close();
    assert.equal(job.status, 'completed', JSON.stringify(job));
    // Every device went on at its pace: none waited on the chunk's announcement.
    const outageRate = outage.sent / outage.seconds;
    console.log(`# bulk send during the Redis outage: ${outageRate.toFixed(0)} msg/s (before it: ${perSecond.toFixed(0)} msg/s)`);
    assert.ok(outageRate > perSecond * 0.6, `sending went on at its pace while Redis was away (${outageRate.toFixed(0)}/s, before: ${perSecond.toFixed(0)}/s)`);
    const c = await recipients(jobId);
    assert.deepEqual(c, { sent: total, uncertain: 0, other: 0 });
    assert.deepEqual(sim.duplicates(), []);
    assert.equal((await jobRow(jobId)).attempts, 1, 'the outage cost no attempt');
    assert.ok(
      (await bossRetries(jobId)).every((j) => j.retry_count === 0),
      'no queue retry was spent',
    );
    assert.ok(
      events.some((e) => e.type === 'chunk_processing' && e.chunk_start === 1000),
      'the chunk announced during the outage arrived once Redis was back',
    );
    assert.ok(
      events.some((e) => e.type === 'job_completed'),
      'the socket heard the end once Redis was back',
    );
  });

  test('PostgreSQL unreachable: 503 with Retry-After, and recovery without a restart', async () => {
    const jobId = await pausedJob();
    assert.equal((await a.api(`/jobs/${jobId}`)).status, 200);
    pgProxy.cut();
    try {
      const job = await a.api(`/jobs/${jobId}`);
      assert.equal(job.status, 503, JSON.stringify(job.body));
      assert.equal(job.body.code, 'database.unavailable');
      assert.ok(Number(job.headers.get('retry-after')) > 0, 'Retry-After says when to try again');
      const order = await b.api('/orders', { body: { items: [{ name: 'x', quantity: 1, price: 1 }] } });
      assert.equal(order.status, 503);
      assert.ok(order.headers.get('retry-after'));
      const ready = await a.api('/ready');
      assert.equal(ready.status, 503);
      assert.notEqual(ready.body.checks.database, 'ok');
      assert.equal((await a.api('/health')).status, 200, 'the process itself is alive');
    } finally {
      pgProxy.restore();
    }
    await eventually(async () => (await a.api(`/jobs/${jobId}`)).status === 200, 20_000, 'GET /jobs/{id} to recover');
    await eventually(async () => (await b.api('/ready')).status === 200, 20_000, '/ready to recover');
    const order = await b.api('/orders', { body: { items: [{ name: 'after', quantity: 1, price: 1 }] } });
    assert.equal(order.status, 201);
  });

  test('a worker killed with SIGKILL: its send resumes on another worker within 10 s, nobody sent twice', { timeout: LONG_TEST_MS }, async () => {
    for (const p of procs.splice(0)) await p.stop();
    const victim = await spawnPuente(['worker'], env, STARTUP_MS);
    procs.push(victim);
    const total = 2000;
    const rows = Array.from({ length: total }, (_, i) => `+5196${String(1_000_000 + i)}|k${i}`).join('\n');
    sim.reset();
    const jobId = await upload(a, rows);
    const events: any[] = [];
    const ws = new WebSocket(`${a.url.replace('http', 'ws')}/ws/job/${jobId}?token=${a.token}`);
    ws.on('message', (m) => events.push(JSON.parse(String(m))));
    await eventually(async () => sim.messages.length >= 200, 60_000, '200 messages sent');
    procs.push(await spawnPuente(['worker'], env, STARTUP_MS)); // the survivor, up before the crash
    // The devices answer slowly for a moment, so that the crash comes while sends are in flight.
    for (const d of simDevices) d.set({ latencyMs: 3000 });
    await eventually(
      async () => {
        const [{ n }] = (await a.ctx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM message_recipients WHERE job_id = $1 AND status = 'sending'`, [
          jobId,
        ])) as [{ n: number }];
        return n > 0;
      },
      10_000,
      'a send in flight',
    );
    // A short window, not a condition: more sends (3 s each now) get in flight before the crash.
    await sleep(300);
    await victim.kill();
    const killedAt = Date.now();
    for (const d of simDevices) d.set({ latencyMs: 10 });
    const [{ n: inFlight }] = (await a.ctx.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM message_recipients WHERE job_id = $1 AND status = 'sending'`,
      [jobId],
    )) as [{ n: number }];
    const atKill = sim.messages.length;
    await eventually(async () => (await jobRow(jobId)).attempts >= 2, 30_000, 'another worker to take the job');
    const takeover = Date.now() - killedAt;
    await eventually(async () => sim.messages.length > atKill, 10_000, 'sending to go on');
    const resumed = Date.now() - killedAt;
    console.log(`# takeover after kill -9: claimed after ${takeover} ms, sending again after ${resumed} ms`);
    if (process.env.FAULTS_DEBUG)
      console.log(
        procs
          .at(-1)!
          .output.join('')
          .split('\n')
          .filter((l) => /lease|job/i.test(l))
          .map((l) => `# ${l}`)
          .join('\n'),
        killedAt,
      );
    assert.ok(resumed <= 10_000, `resumed within 10 s (${resumed} ms)`);
    const job = await waitForJob(a, jobId, 240_000);
    assert.equal(job.status, 'completed', JSON.stringify(job));
    assert.deepEqual(sim.duplicates(), [], 'nobody got the same message twice');
    const c = await recipients(jobId);
    assert.equal(c.other, 0);
    assert.equal(c.sent + c.uncertain, total);
    assert.ok(c.uncertain <= inFlight, `only what was in flight can be uncertain (${c.uncertain} of ${inFlight})`);
    assert.ok(c.uncertain > 0, 'the crash left sends in flight');
    // Each recipient left uncertain by the crash is told on the job socket, as any uncertain one is.
    await eventually(async () => events.some((e) => e.type === 'job_completed'), 10_000, 'the job socket to hear the end');
    ws.close();
    const told = events.filter((e) => e.type === 'error' && /restart/.test(String(e.error)));
    assert.equal(told.length, Math.min(c.uncertain, 20), JSON.stringify(told));
    assert.equal((await jobRow(jobId)).attempts, 2, 'one takeover, no other attempt');
  });

  test('SIGTERM to a worker in the middle of a scheduled run: another worker goes on with the same record, nothing lost', {
    timeout: LONG_TEST_MS,
  }, async () => {
    for (const p of procs.splice(0)) await p.stop();
    const wispro = await startWisproSimulator({ token: 'faults-wispro', clients: 400, seed: 7, faults: { latencyMs: 300 } });
    try {
      const workerEnv = { ...env, WISPRO_API_URL: wispro.url, WISPRO_API_TOKEN: 'faults-wispro', WISPRO_PER_PAGE: '10' };
      const workers = [await spawnPuente(['worker'], workerEnv, STARTUP_MS), await spawnPuente(['worker'], workerEnv, STARTUP_MS)];
      procs.push(...workers);
      // What the nightly schedule sends: a delivery that names no record (the run makes its own).
      await a.ctx.runner.boss.send('wispro.sync', {});
      const scheduled = () =>
        a.ctx.db.query<{ id: string; status: string; attempts: number; pages: number }>(`
        SELECT id, status, attempts, coalesce((progress->>'pages')::int, 0) AS pages FROM jobs
        WHERE type = 'wispro.sync' AND params->>'trigger' = 'schedule'`);
      await eventually(async () => ((await scheduled())[0]?.pages ?? 0) >= 3, 60_000, 'the scheduled run to be under way');
      const id = (await scheduled())[0]!.id;
      const running = workers.find((w) => w.output.join('').includes(id))!;
      assert.ok(running, 'one of the workers runs it');
      const stopping = Date.now();
      const code = await running.stop();
      const drained = Date.now() - stopping;
      await eventually(async () => (await scheduled())[0]?.attempts === 2, 30_000, 'the other worker to take the run');
      const handedOver = Date.now() - stopping;
      console.log(`# worker SIGTERM during a scheduled run: exit ${code} after ${drained} ms, run taken by the other worker after ${handedOver} ms`);
      assert.equal(code, 0, running.output.join(''));
      const runs = await eventually(
        async () => {
          const r = await scheduled();
          return r.every((j) => ['completed', 'failed'].includes(j.status)) ? r : null;
        },
        120_000,
        'the scheduled run to finish',
      );
      assert.equal(runs.length, 1, 'one record for the run, not a second one');
      const job = (await a.api(`/jobs/${id}`)).body;
      assert.equal(job.status, 'completed', JSON.stringify(job));
      assert.equal(job.attempts, 2);
      const r = job.results;
      assert.equal(
        r.created + r.updated + r.unchanged + r.skipped + r.errors,
        wispro.clients.length,
        `every Wispro client went through once: ${JSON.stringify(r)}`,
      );
    } finally {
      for (const p of procs.splice(0)) await p.stop();
      await wispro.close();
    }
  });

  test('SIGTERM the moment a serve node says it listens is a graceful stop (exit 0), not a death by signal', async () => {
    // What an orchestrator does to a node it has just started: the stop comes while start-up's last
    // query (is there an administrator?) is still out, and must find the signal handled.
    for (let i = 0; i < 3; i++) {
      const node = await spawnPuente(['serve', '--no-worker'], env, STARTUP_MS);
      procs.push(node);
      assert.equal(await node.stop(), 0, node.output.join(''));
    }
  });

  test('SIGTERM to a serve node with busy keep-alive clients: exit 0 within SHUTDOWN_TIMEOUT_SECONDS; sockets told to reconnect', async () => {
    const timeoutSeconds = Number(env.SHUTDOWN_TIMEOUT_SECONDS);
    const node = await spawnPuente(['serve', '--no-worker'], env, STARTUP_MS);
    procs.push(node);
    const url = new URL(node.url!);
    const agent = new Agent({ keepAlive: true, maxSockets: 4 });
    let running = true;
    const answered: number[] = [];
    const busy = async () => {
      while (running) {
        const status = await new Promise<number>((resolve) => {
          const req = httpRequest({ host: url.hostname, port: url.port, path: '/health', agent }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          });
          req.on('error', () => resolve(-1));
          req.end();
        });
        // Refused while restarting: pace the retries.
        if (status === -1) await sleep(20);
        else answered.push(status);
      }
    };
    const clients = Array.from({ length: 4 }, busy);
    // And one that is always in the middle of a request: an upload trickling in a byte at a time.
    const slow = httpRequest({
      host: url.hostname,
      port: url.port,
      path: '/orders',
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': '100000' },
    });
    slow.on('error', () => {});
    slow.write('{');
    const trickle = setInterval(() => slow.write(' '), 100);
    const feed = ioClient(`${node.url}/sync`, { auth: { apiKey: API_KEY }, transports: ['polling'], reconnection: false });
    sockets.push(feed);
    await eventually(async () => feed.connected, 10_000, 'a long-polling socket');
    const reason = new Promise<string>((resolve) => feed.on('disconnect', (r) => resolve(r)));
    const jobId = await pausedJob();
    const jobSocket = new WebSocket(`${node.url!.replace('http', 'ws')}/ws/job/${jobId}`);
    const closeCode = new Promise<number>((resolve) => jobSocket.on('close', (code) => resolve(code)));
    await new Promise((resolve) => jobSocket.once('open', resolve));
    await eventually(async () => answered.length > 50, 10_000, 'keep-alive clients busy');

    const started = Date.now();
    const code = await node.stop();
    const took = Date.now() - started;
    running = false;
    clearInterval(trickle);
    slow.destroy();
    await Promise.all(clients);
    agent.destroy();
    console.log(`# serve node SIGTERM under load: exit ${code} after ${took} ms`);
    assert.equal(code, 0, node.output.join(''));
    assert.ok(took < timeoutSeconds * 1000, `exited within SHUTDOWN_TIMEOUT_SECONDS (${took} ms)`);
    assert.equal(await closeCode, 1012, 'job socket told the service restarts');
    assert.notEqual(await reason, 'io server disconnect', 'a Socket.IO client is left free to reconnect');
  });
});

test('Redis slow to answer: a subscription is in place once subscribe resolves, so an event published right after reaches it', runsIn('scaled'), async () => {
  // A job socket subscribes, then reads where the job stands: an event published after that read
  // (the job's completion) must reach it, however long Redis takes to confirm the subscription.
  const target = new URL(redisUrl);
  const proxy = await startTcpProxy(Number(target.port || 6379), target.hostname);
  const prefix = `slow-${randomUUID()}`;
  const bus = await createRedisBus(`redis://127.0.0.1:${proxy.port}`, prefix, createLogger({ LOG_LEVEL: 'silent' }));
  const direct = new Redis(redisUrl);
  try {
    proxy.slow(300);
    const got: unknown[] = [];
    await bus.subscribe('job:slow', (m) => got.push(m));
    assert.equal(await direct.publish(`${prefix}:events:job:slow`, JSON.stringify({ type: 'job_completed' })), 1, 'Redis had the subscription');
    await eventually(async () => got.length === 1, 3000, 'the event');
    assert.deepEqual(got, [{ type: 'job_completed' }]);
  } finally {
    direct.disconnect();
    await bus.close();
    await proxy.close();
  }
});
