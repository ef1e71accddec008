import { fork, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execSync } from 'node:child_process';
import pg from 'pg';
import { benchDatabase, benchModes, cpuOf, pct, postgresPids, spawnPuente } from './support.ts';

/**
 * The change feed over two Puente nodes (scaled mode: PostgreSQL + Redis, each node its own process),
 * with its clients in separate processes. Two measures, each beside its floor from the same run:
 *
 * `npm run bench -- sync-feed-scaled freshness [clients=1000] [rate=50] [seconds=30] [clientProcesses=2]`
 *   Every client pulls every change on its own, as the seed's client does (`changes:pending` → pull →
 *   confirm, again while there is more). Orders are created at a steady rate, alternately through
 *   each node. Reports commit → applied: from each order's POST (its send, and its reply) to each
 *   client's first pull that contains it, and how many pulls each node answered from memory and
 *   from the database. Floor: the same clients and orders against two bare processes that keep the
 *   feed in an array (bench/sync-feed-floor.process.ts).
 *
 * `npm run bench -- sync-feed-scaled sockets [sockets=10000] [rounds=5] [clientProcesses=4]`
 *   One sync client per socket, half on each node. Each round creates one order and measures commit →
 *   `changes:pending` at every socket; then every client pulls (so it is told again next round).
 *   Floor: a bare Socket.IO emit from the two floor processes to the same number of sockets.
 *
 * `npm run bench -- sync-feed-scaled pairs [clients=200] [rounds=30]`
 *   Server CPU per pull + confirm pair, which a loaded machine disturbs far less than latencies. The
 *   benchmark process is every client (no sockets; client i on node i mod 2): each round one order
 *   is made, then every client pulls (limit 1000) from its node and confirms the page. Reports the
 *   servers' and PostgreSQL's CPU per pair, beside the floor's.
 */
export async function run(args: string[]) {
  const [what = 'freshness', ...rest] = args;
  if (!benchModes('postgres').includes('postgres')) return void process.stdout.write('sync-feed-scaled runs in scaled mode only (PostgreSQL + Redis)\n');
  const load = () => execSync('uptime').toString().trim();
  process.stdout.write(`load before: ${load()}\n`);
  if (what === 'freshness') await freshness(Number(rest[0] ?? 1000), Number(rest[1] ?? 50), Number(rest[2] ?? 30), Number(rest[3] ?? 2));
  else if (what === 'sockets') await sockets(Number(rest[0] ?? 10_000), Number(rest[1] ?? 5), Number(rest[2] ?? 4));
  else if (what === 'pairs') await pairs(Number(rest[0] ?? 200), Number(rest[1] ?? 30));
  else throw new Error(`unknown measure ${what} (freshness | sockets | pairs)`);
  process.stdout.write(`load after: ${load()}\n`);
}

const wall = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const f1 = (x: number) => x.toFixed(1);

/** Client processes (bench/sync-feed-clients.process.ts) and a way to ask all of them. */
async function clientProcesses(n: number) {
  const children = await Promise.all(
    Array.from({ length: n }, async () => {
      const child = fork(fileURLToPath(new URL('./sync-feed-clients.process.ts', import.meta.url)), [], { serialization: 'advanced', stdio: 'inherit' });
      await new Promise<void>((resolve) => child.once('message', () => resolve()));
      return child;
    }),
  );
  let next = 0;
  const ask = (child: ChildProcess, type: string, extra: Record<string, unknown> = {}) =>
    new Promise<any>((resolve) => {
      const id = ++next;
      const on = (m: any) => {
        if (m.id !== id) return;
        child.off('message', on);
        resolve(m.data);
      };
      child.on('message', on);
      child.send({ type, id, ...extra });
    });
  return {
    children,
    ask,
    all: (type: string, extra: (i: number) => Record<string, unknown> = () => ({})) => Promise.all(children.map((c, i) => ask(c, type, extra(i)))),
    async close() {
      await Promise.all(children.map((c) => ask(c, 'close').catch(() => {})));
      await Promise.all(children.map((c) => (c.exitCode === null ? once(c, 'exit') : null)));
    },
  };
}

async function floorProcess() {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./sync-feed-floor.process.ts', import.meta.url))], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve) => {
    child.stdout.on('data', (d: Buffer) => {
      const m = /floor listening on (\S+)/.exec(d.toString());
      if (m) resolve(m[1]!);
    });
  });
  return {
    url,
    child,
    async stop() {
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

/** Two Puente nodes on a new PostgreSQL database and a Redis prefix of their own, with `clients` sync clients. */
async function puenteNodes(clients: number) {
  const db = await benchDatabase('postgres', 'puente_bench_feed2');
  const dataDir = mkdtempSync(join(tmpdir(), 'puente-bench-'));
  const env = {
    DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    ADMIN_EMAIL: 'bench@puente.local',
    ADMIN_PASSWORD: 'bench-password-1',
    JWT_SECRET: 'bench-secret-bench-secret-bench-secret-0000',
    CLOUD_API_KEY: 'bench-cloud-key',
    LOGIN_RATE_LIMIT_PER_MINUTE: '1000',
    REALTIME_MAX_CONNECTIONS_PER_ADDRESS: String(clients + 1000),
    DATABASE_URL: db.url!,
    REDIS_URL: 'redis://127.0.0.1:6379',
    REDIS_PREFIX: db.name,
  };
  const nodes: ReturnType<typeof spawnPuente>[] = [];
  const urls: string[] = [];
  for (let i = 0; i < 2; i++) {
    // PUENTE_NODE_OPTIONS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`) is passed to both nodes: a profile of a run.
    const node = spawnPuente(['serve'], { ...env, LOG_LEVEL: 'info', NODE_OPTIONS: process.env.PUENTE_NODE_OPTIONS });
    nodes.push(node);
    urls.push(await node.ready); // one at a time: the first runs the migrations
  }
  const login = await fetch(`${urls[0]}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: env.ADMIN_EMAIL, password: env.ADMIN_PASSWORD }),
  }).then((r) => r.json() as Promise<{ access_token: string }>);
  // The clients, straight into the table (their keys' SHA-256, as Puente keeps them): creating 10,000 through the API is not what is measured.
  const c = new pg.Client({ connectionString: db.url! });
  await c.connect();
  await c.query(
    `INSERT INTO sync_clients (name, key_hash, key_prefix)
     SELECT 'bench-' || i, encode(sha256(convert_to('bench-key-' || i, 'UTF8')), 'hex'), 'bench' FROM generate_series(1, $1) AS i`,
    [clients],
  );
  await c.end();
  const keys = Array.from({ length: clients }, (_, i) => `bench-key-${i + 1}`);
  const rss = () => nodes.map((n) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${n.child.pid}/status`, 'utf8'))![1]) / 1024);
  return {
    urls,
    keys,
    token: login.access_token,
    pids: nodes.map((n) => n.child.pid!),
    rss,
    async stop() {
      await Promise.all(nodes.map((n) => n.stop()));
      rmSync(dataDir, { recursive: true, force: true });
      await db.drop();
    },
  };
}

/** The two servers a measure runs against: two bare floor processes, or two Puente nodes with `clients` sync clients. */
async function servers(target: 'floor' | 'puente', clients: number) {
  if (target === 'puente') return puenteNodes(clients);
  const floors = [await floorProcess(), await floorProcess()];
  return {
    urls: floors.map((f) => f.url),
    keys: Array.from({ length: clients }, (_, i) => `floor-key-${i}`),
    token: null,
    pids: floors.map((f) => f.child.pid!),
    rss: null,
    async stop() {
      await Promise.all(floors.map((f) => f.stop()));
    },
  };
}

/** How many pulls Puente's nodes answered from memory and from the database (their /metrics, summed). */
async function pullSources(urls: string[]) {
  const sources = [0, 0];
  for (const url of urls) {
    const text = await fetch(`${url}/metrics`).then((r) => r.text());
    for (const [i, source] of ['memory', 'database'].entries())
      sources[i]! += Number(new RegExp(`puente_sync_pulls_total\\{source="${source}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
  }
  return sources;
}

/** Client i talks to node i % 2 (its socket and its requests); the clients are dealt over the `procs` processes. */
const dealt = (keys: string[], urls: string[], procs: number) => (p: number) =>
  keys.map((key, i) => ({ key, url: urls[i % 2]! })).filter((_, i) => i % procs === p);

/** Orders at a steady rate, alternately through each URL; not waiting for one reply to send the next. */
async function createOrders(urls: string[], token: string | null, rate: number, seconds: number) {
  const commits: Record<string, [number, number]> = {};
  const pending: Promise<void>[] = [];
  let failed = 0;
  const started = performance.now();
  const total = Math.round(rate * seconds);
  for (let n = 0; n < total; n++) {
    const due = started + (n * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const sent = wall();
    const floorId = 1_000_000 + n;
    // The floor processes all get every order (they share nothing); Puente gets each through one node.
    const targets = token ? [urls[n % urls.length]!] : urls;
    pending.push(
      Promise.all(
        targets.map((url) =>
          fetch(`${url}/orders`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
            body: JSON.stringify({ ...(token ? {} : { id: floorId }), items: [{ name: `item ${n}`, quantity: 1, price: 1 }] }),
          }).then((r) => r.json() as Promise<any>),
        ),
      ).then(
        (replies) => {
          const replied = wall();
          const id = token ? replies[0]?.order?.id : floorId;
          if (id === undefined && failed++ === 0) process.stdout.write(`  first failed order: ${JSON.stringify(replies[0]).slice(0, 300)}\n`);
          if (id === undefined) return;
          commits[String(id)] = [sent, replied];
        },
        (err: Error) => {
          if (failed++ === 0) process.stdout.write(`  first failed order: ${err.message} ${(err.cause as Error | undefined)?.message ?? ''}\n`);
        },
      ),
    );
  }
  const lastSent = performance.now();
  await Promise.all(pending);
  return { commits, failed, achieved: total / ((lastSent - started) / 1000), total };
}

function concat(parts: Float64Array[]) {
  const out: number[] = [];
  for (const p of parts) for (const x of p) out.push(x);
  return out;
}

const summary = (xs: number[]) => `p50 ${f1(pct(xs, 50))} ms, p99 ${f1(pct(xs, 99))} ms, max ${f1(pct(xs, 100))} ms`;

async function freshness(clients: number, rate: number, seconds: number, procs: number) {
  process.stdout.write(
    `freshness: ${clients} clients over two nodes (${procs} client processes), ${rate} orders/s for ${seconds} s, every client pulls every change\n`,
  );
  const results: Record<string, { fromSend: number[]; fromReply: number[]; missed: number; pulls: number; errors: number; achieved: number; failed: number }> =
    {};
  for (const target of ['floor', 'puente'] as const) {
    const cp = await clientProcesses(procs);
    const { urls, keys, token, pids: serverPids, stop } = await servers(target, clients);
    try {
      const mine = dealt(keys, urls, procs);
      const connected = await cp.all('connect', (p) => ({ clients: mine(p), pull: true }));
      await sleep(1000);
      await cp.all('reset');
      const cpu0 = [cpuOf(serverPids), cpuOf(postgresPids()), cpuOf(cp.children.map((c) => c.pid!)), cpuOf([process.pid])];
      const made = await createOrders(urls, token, rate, seconds);
      const cpu = [cpuOf(serverPids), cpuOf(postgresPids()), cpuOf(cp.children.map((c) => c.pid!)), cpuOf([process.pid])].map(
        (x, i) => (x - cpu0[i]!) / seconds / 10,
      );
      // Until every client has every change (or 10 s after the last order).
      const ids = Object.keys(made.commits);
      let report: any[] = [];
      for (const until = performance.now() + 10_000; performance.now() < until; ) {
        await sleep(500);
        report = await cp.all('report', () => ({ commits: made.commits }));
        if (report.every((r) => r.missed === 0)) break;
      }
      results[target] = {
        fromSend: concat(report.map((r) => r.fromSend)),
        fromReply: concat(report.map((r) => r.fromReply)),
        missed: report.reduce((s, r) => s + r.missed, 0),
        pulls: report.reduce((s, r) => s + r.pulls, 0),
        errors: report.reduce((s, r) => s + r.errors, 0),
        achieved: made.achieved,
        failed: made.failed,
      };
      const r = results[target]!;
      process.stdout.write(
        [
          `${target}: ${connected.reduce((s: number, c: { connected: number }) => s + c.connected, 0)} sockets connected, ${ids.length} orders at ${f1(r.achieved)}/s (${r.failed} failed)`,
          `  commit → applied, from the POST's send: ${summary(r.fromSend)}`,
          `  commit → applied, from the POST's reply: ${summary(r.fromReply)}`,
          `  (order, client) pairs never pulled: ${r.missed} of ${ids.length * clients}; pulls ${r.pulls} (${f1(r.pulls / seconds)}/s), failed pulls ${r.errors}`,
          `  CPU while orders were made (% of one core): ${target} processes ${f1(cpu[0]!)}, PostgreSQL (all) ${f1(cpu[1]!)}, client processes ${f1(cpu[2]!)}, benchmark ${f1(cpu[3]!)}`,
          ...(token ? [`  pulls answered from memory / from the database (both nodes): ${(await pullSources(urls)).join(' / ')}`] : []),
          '',
        ].join('\n'),
      );
    } finally {
      await cp.close();
      await stop();
    }
  }
  const p = results.puente!;
  const fl = results.floor!;
  process.stdout.write(
    `ratio to the floor (from the send): p50 ${f1(pct(p.fromSend, 50) / pct(fl.fromSend, 50))}×, p99 ${f1(pct(p.fromSend, 99) / pct(fl.fromSend, 99))}× (target: p99 ≤ 500 ms, 0 missed)\n`,
  );
}

async function sockets(count: number, rounds: number, procs: number) {
  process.stdout.write(`sockets: ${count} sockets (one sync client each) over two nodes, ${procs} client processes, ${rounds} rounds of one order\n`);
  const results: Record<string, { told: number[]; missed: number; rss?: number[] }> = {};
  for (const target of ['floor', 'puente'] as const) {
    const cp = await clientProcesses(procs);
    const { urls, keys, token, rss, stop } = await servers(target, count);
    try {
      const started = performance.now();
      const mine = dealt(keys, urls, procs);
      const connected = await cp.all('connect', (p) => ({ clients: mine(p), pull: false }));
      const n = connected.reduce((s: number, c: { connected: number }) => s + c.connected, 0);
      process.stdout.write(`${target}: ${n} sockets connected in ${f1((performance.now() - started) / 1000)} s\n`);
      await sleep(2000);
      const told: number[] = [];
      let missed = 0;
      for (let round = 0; round < rounds; round++) {
        await cp.all('reset');
        const sent = wall();
        const url = urls[round % 2]!;
        const targets = token ? [url] : urls;
        await Promise.all(
          targets.map((u) =>
            fetch(`${u}/orders`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
              body: JSON.stringify({ ...(token ? {} : { id: 2_000_000 + round }), items: [{ name: `round ${round}`, quantity: 1, price: 1 }] }),
            }).then((r) => r.arrayBuffer()),
          ),
        );
        const replied = wall();
        let notices: number[][] = [];
        for (const until = performance.now() + 5000; performance.now() < until; ) {
          await sleep(250);
          notices = (await cp.all('notices')).flat();
          if (notices.every((x) => x.length > 0)) break;
        }
        for (const x of notices) {
          if (!x.length) missed++;
          else told.push(x[0]! - sent);
        }
        process.stdout.write(
          `  round ${round + 1}: POST took ${f1(replied - sent)} ms; sent → changes:pending ${summary(notices.filter((x) => x.length).map((x) => x[0]! - sent))}\n`,
        );
        // Every client pulls, so that it is told about the next round's change.
        const pullStart = performance.now();
        if (round < rounds - 1) await cp.all('pullAll');
        if (round < rounds - 1) process.stdout.write(`    ${n} pulls in ${f1((performance.now() - pullStart) / 1000)} s\n`);
        await sleep(500);
      }
      results[target] = { told, missed, rss: rss?.() };
      process.stdout.write(
        `${target}: POST sent → changes:pending over ${told.length} (socket, order) pairs: ${summary(told)}; never told: ${missed}${
          rss
            ? `; node RSS ${rss()
                .map((x) => `${x.toFixed(0)} MiB`)
                .join(' / ')}`
            : ''
        }\n`,
      );
    } finally {
      await cp.close();
      await stop();
    }
  }
  const p = results.puente!.told;
  const fl = results.floor!.told;
  process.stdout.write(`ratio to the floor: p50 ${f1(pct(p, 50) / pct(fl, 50))}×, p99 ${f1(pct(p, 99) / pct(fl, 99))}× (target: p99 ≤ 50 ms, 0 missed)\n`);
}

async function pairs(clients: number, rounds: number) {
  process.stdout.write(`pairs: ${clients} clients over two nodes, ${rounds} rounds of one order then a pull and a confirm by every client\n`);
  const perPair: Record<string, number> = {};
  for (const target of ['floor', 'puente'] as const) {
    const { urls, keys, token, pids, stop } = await servers(target, clients);
    try {
      const mine = keys.map((key, i) => ({ key, url: urls[i % 2]! }));
      let n = 0;
      const order = () => {
        const id = 3_000_000 + n++;
        // The floor processes all get every order (they share nothing); Puente gets each through one node.
        const targets = token ? [urls[n % 2]!] : urls;
        return Promise.all(
          targets.map((u) =>
            fetch(`${u}/orders`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
              body: JSON.stringify({ ...(token ? {} : { id }), items: [{ name: `pair ${id}`, quantity: 1, price: 1 }] }),
            }).then((r) => r.arrayBuffer()),
          ),
        );
      };
      const pair = async ({ key, url }: { key: string; url: string }): Promise<number> => {
        const page = (await fetch(`${url}/sync/pull-changes?limit=1000`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.json())) as {
          count: number;
          last_seq: number;
        };
        if (!page.count) return 0;
        const r = await fetch(`${url}/sync/confirm`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ seq: page.last_seq }),
        });
        await r.arrayBuffer();
        if (r.status !== 200) throw new Error(`confirm answered ${r.status}`);
        return 1;
      };
      // Warm-up: every key checked once, every client up to date.
      for (let r = 0; r < 3; r++) {
        await order();
        await Promise.all(mine.map(pair));
      }
      const cpu0 = [cpuOf(pids), cpuOf(postgresPids())];
      const started = performance.now();
      let done = 0;
      for (let r = 0; r < rounds; r++) {
        await order();
        done += (await Promise.all(mine.map(pair))).reduce((a, b) => a + b, 0);
      }
      const seconds = (performance.now() - started) / 1000;
      const server = cpuOf(pids) - cpu0[0]!;
      const db = cpuOf(postgresPids()) - cpu0[1]!;
      perPair[target] = server / done;
      process.stdout.write(
        `${target}: ${done} pairs in ${f1(seconds)} s (${f1(done / seconds)}/s); CPU per pair: ${target} processes ${(server / done).toFixed(2)} ms, PostgreSQL (all) ${(db / done).toFixed(2)} ms\n`,
      );
    } finally {
      await stop();
    }
  }
  process.stdout.write(`ratio to the floor (server CPU per pair): ${f1(perPair.puente! / perPair.floor!)}×\n`);
}
