import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { io, type Socket } from 'socket.io-client';
import { benchDatabase, benchModes } from './support.ts';

/**
 * 1,000 sync clients (one socket each) connected to a Puente process; orders created at a steady
 * rate. Measures commit → `changes:pending` and commit → pulled (p50/p99), checks that every client
 * can pull every change, sustained orders per second, and Puente's RSS per connection.
 * `npm run bench -- sync-feed [clients=1000] [rate=20] [seconds=10] [modes=pglite,postgres]`
 */
export async function run(args: string[]) {
  const clients = Number(args[0] ?? 1000);
  const rate = Number(args[1] ?? 20);
  const seconds = Number(args[2] ?? 10);
  const floor = await emitFloor(clients);
  process.stdout.write(
    `floor: bare Socket.IO emit to ${clients} sockets (server and clients in this process), emit → received by the first 20 sockets: p50 ${pct(floor, 50).toFixed(2)} ms, p99 ${pct(floor, 99).toFixed(2)} ms\n`,
  );
  for (const mode of benchModes(args[3] ?? 'pglite,postgres')) await runMode(mode, clients, rate, seconds, floor);
}

/** What a notification costs at the least: one emit from a bare Socket.IO server to `n` websocket clients. */
async function emitFloor(n: number) {
  const http = createServer();
  const server = new Server(http);
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
  const sockets = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<Socket>((resolve) => {
          const s = io(url, { transports: ['websocket'], reconnection: false, forceNew: true });
          s.once('connect', () => resolve(s));
        }),
    ),
  );
  const times: number[] = [];
  for (let round = 0; round < 40; round++) {
    await new Promise((r) => setTimeout(r, 20));
    const sent = performance.now();
    await Promise.all(
      sockets
        .map(
          (s, i) =>
            new Promise<void>((resolve) =>
              s.once('ping-floor', () => {
                if (i < 20) times.push(performance.now() - sent); // as many sockets as the benchmark's pulling clients
                resolve();
              }),
            ),
        )
        .concat([Promise.resolve(void server.emit('ping-floor'))]),
    );
  }
  for (const s of sockets) s.close();
  await server.close();
  return times;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

async function runMode(mode: string, clientCount: number, rate: number, seconds: number, floor: number[]) {
  const dataDir = mkdtempSync(join(tmpdir(), 'puente-bench-'));
  const db = await benchDatabase(mode, 'puente_bench_feed');
  const env = {
    PATH: process.env.PATH,
    DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    ADMIN_EMAIL: 'bench@puente.local',
    ADMIN_PASSWORD: 'bench-password-1',
    JWT_SECRET: 'bench-secret-bench-secret-bench-secret-0000',
    CLOUD_API_KEY: 'bench-cloud-key',
    LOGIN_RATE_LIMIT_PER_MINUTE: '1000',
    ...(db.url ? { DATABASE_URL: db.url, REDIS_URL: 'redis://127.0.0.1:6379', REDIS_PREFIX: db.name } : {}),
  };
  // PUENTE_NODE_OPTIONS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`) is passed to Puente's process: a profile of a run.
  const server = spawn(process.execPath, [fileURLToPath(new URL('../src/main.ts', import.meta.url)), 'serve'], {
    env: { ...env, NODE_OPTIONS: process.env.PUENTE_NODE_OPTIONS },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve) => {
    server.stdout.on('data', (d: Buffer) => {
      const m = /Puente listening on (http:\/\/[^\s(]+)/.exec(d.toString());
      if (m) resolve(m[1]!);
    });
  });
  const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))![1]) * 1024;
  const post = (path: string, body: unknown, token: string) =>
    fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) }).then(
      (r) => r.json() as Promise<any>,
    );
  const { access_token: token } = await post('/auth/login', { email: env.ADMIN_EMAIL, password: env.ADMIN_PASSWORD }, '');
  try {
    const keys: string[] = [];
    for (let i = 0; i < clientCount; i++) keys.push((await post('/api/sync-clients', { name: `pos-${i}` }, token)).api_key);
    const idle = rss();
    const received = new Map<number, number[]>(); // socket index → notification times
    const sockets: Socket[] = [];
    for (let i = 0; i < keys.length; i++) {
      const s = io(`${url}/sync`, { auth: { apiKey: keys[i] }, transports: ['websocket'], reconnection: false, forceNew: true });
      received.set(i, []);
      s.on('changes:pending', () => received.get(i)!.push(performance.now()));
      sockets.push(s);
      if (i % 100 === 99) await new Promise((r) => setTimeout(r, 50));
    }
    await Promise.all(sockets.map((s) => (s.connected ? null : new Promise<void>((r) => s.once('connect', () => r())))));
    await new Promise((r) => setTimeout(r, 1000));
    const perConnection = (rss() - idle) / clientCount;
    for (const list of received.values()) list.length = 0;

    // Steady orders; 20 clients also pull and confirm on every notification.
    const pullers = 20;
    const seenAt = new Map<number, number[]>(); // order seq → pull times
    const pullLoop = (i: number) => async () => {
      const page = await fetch(`${url}/sync/pull-changes?limit=1000`, { headers: { authorization: `Bearer ${keys[i]}` } }).then(
        (r) => r.json() as Promise<any>,
      );
      const now = performance.now();
      for (const c of page.changes) (seenAt.get(c.seq) ?? seenAt.set(c.seq, []).get(c.seq)!).push(now);
      if (page.changes.length) await post('/sync/confirm', { seq: page.last_seq }, keys[i]!);
    };
    for (let i = 0; i < pullers; i++) sockets[i]!.on('changes:pending', pullLoop(i));
    const commits: { seq: number; sent: number; at: number }[] = [];
    const started = performance.now();
    for (let n = 0; n < rate * seconds; n++) {
      const due = started + (n * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const sent = performance.now();
      const res = await post('/orders', { items: [{ name: `item ${n}`, quantity: 1, price: 1 }] }, token);
      commits.push({ seq: n, sent, at: performance.now() });
      void res;
    }
    await new Promise((r) => setTimeout(r, 1500));
    const achieved = commits.length / ((commits.at(-1)!.at - started) / 1000);

    // Pulling clients are told about every change that arrives after their last pull; a client that
    // never pulls is told once (and reminded every 5 s), so latency is measured on the pullers.
    const notify: number[] = [];
    /** The same pairs without the first WARM orders: the first notification goes to all 1,000 sockets and the benchmark's own process takes a while to absorb it. */
    const WARM = 10;
    const steady: number[] = [];
    let missed = 0;
    for (const [i, times] of received) {
      if (i >= pullers) {
        if (!times.length) missed++;
        continue;
      }
      for (const c of commits) {
        // From the request's send: the commit is inside the request, and the notification often beats the
        // reply (this process also holds the 1,000 sockets), so this is an upper bound of commit → told.
        const first = times.find((t) => t >= c.sent);
        if (first !== undefined) notify.push(first - c.sent);
        if (first !== undefined && c.seq >= WARM) steady.push(first - c.sent);
      }
    }
    const slowest = commits
      .map((c, k): [number, number] => {
        let fastest = Number.POSITIVE_INFINITY;
        for (const [i, times] of received) if (i < pullers) fastest = Math.min(fastest, (times.find((t) => t >= c.sent) ?? Number.NaN) - c.sent);
        return [k, fastest];
      })
      .sort((a, b) => b[1] - a[1])
      .slice(0, 5);
    const firstSeq = Number(
      (await fetch(`${url}/sync/pull-changes?limit=1`, { headers: { authorization: `Bearer ${keys[pullers]}` } }).then((r) => r.json() as Promise<any>))
        .changes[0]?.seq ?? 1,
    );
    const pulled: number[] = [];
    commits.forEach((c, i) => {
      for (const t of seenAt.get(firstSeq + i) ?? []) pulled.push(t - c.at);
    });
    let incomplete = 0;
    for (let i = pullers; i < keys.length; i++) {
      const page = await fetch(`${url}/sync/pull-changes?limit=1000`, { headers: { authorization: `Bearer ${keys[i]}` } }).then(
        (r) => r.json() as Promise<any>,
      );
      if (page.changes.length !== commits.length) incomplete++;
    }

    // Sustained orders per second: 16 writers as fast as they go for 5 s (pullers detached, sockets still connected).
    for (let i = 0; i < pullers; i++) sockets[i]!.off('changes:pending');
    const until = performance.now() + 5000;
    let made = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (performance.now() < until) {
          await post('/orders', { items: [{ name: 'x', quantity: 1, price: 1 }] }, token);
          made++;
        }
      }),
    );
    for (const s of sockets) s.close();

    process.stdout.write(
      [
        `mode ${mode}: ${clientCount} clients, ${commits.length} orders at ${achieved.toFixed(1)}/s`,
        `  POST /orders sent → changes:pending (bounds commit → changes:pending): p50 ${pct(notify, 50).toFixed(1)} ms, p99 ${pct(notify, 99).toFixed(1)} ms, max ${pct(notify, 100).toFixed(1)} ms over ${notify.length} (order, pulling client) pairs; non-pulling clients never told: ${missed} of ${keys.length - pullers}`,
        `  ratio to the floor: p50 ${(pct(notify, 50) / pct(floor, 50)).toFixed(1)}×, p99 ${(pct(notify, 99) / pct(floor, 99)).toFixed(1)}× (targets: p50 ≤ 3 ms, p99 ≤ 15 ms)`,
        `  after the first ${WARM} orders: p50 ${pct(steady, 50).toFixed(1)} ms, p99 ${pct(steady, 99).toFixed(1)} ms (ratio ${(pct(steady, 50) / pct(floor, 50)).toFixed(1)}× / ${(pct(steady, 99) / pct(floor, 99)).toFixed(1)}×); slowest orders (index: fastest of its pairs, ms): ${slowest.map(([k, v]) => `${k}: ${v.toFixed(1)}`).join(', ')}`,
        `  commit → pulled (${pullers} pulling clients): p50 ${pct(pulled, 50).toFixed(1)} ms, p99 ${pct(pulled, 99).toFixed(1)} ms over ${pulled.length}`,
        `  clients whose pull lacked a change: ${incomplete} of ${keys.length - pullers}`,
        `  sustained: ${(made / 5).toFixed(0)} orders/s with 16 concurrent writers (${clientCount} sockets connected)`,
        `  Puente RSS per connection: ${(perConnection / 1024).toFixed(1)} KiB`,
        '',
      ].join('\n'),
    );
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
    await db.drop();
  }
}
