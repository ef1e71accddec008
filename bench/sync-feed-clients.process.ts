/**
 * Sync clients for bench/sync-feed-scaled.bench.ts, in a process of their own (one process cannot
 * hold 10,000 sockets and measure them on a 2-core machine). Driven over IPC:
 * - `connect` {clients: [{key, url}], pull}: opens one /sync socket per client on its node. With `pull`,
 *   each client does what the seed's client does: on `changes:pending` it pulls, applies, confirms, and
 *   pulls again while there is more (a notification that arrives meanwhile makes it go round once more).
 *   It records when each change (by `entity_id`) first arrived in one of its pulls.
 * - `reset`: forgets what was recorded. `pullAll`: every client pulls once (so it is told again).
 * - `report` {commits: {[entity_id]: [sent, replied]}}: latencies from each commit to each client's
 *   first pull containing it (from the send and from the reply), and the changes never pulled.
 * - `notices`: when each socket got `changes:pending` since the last reset.
 * - `close`.
 * Times are wall-clock milliseconds with sub-millisecond precision (performance.timeOrigin + now()),
 * comparable across the processes of one machine.
 */
import { Agent, setGlobalDispatcher } from 'undici';
import { io, type Socket } from 'socket.io-client';

setGlobalDispatcher(new Agent({ connections: 64, pipelining: 1, keepAliveTimeout: 60_000 }));
const now = () => performance.timeOrigin + performance.now();

interface Client {
  key: string;
  url: string;
  socket: Socket;
  notices: number[];
  firstPulled: Map<string, number>;
  busy: boolean;
  again: boolean;
  pulls: number;
  errors: number;
}
const clients: Client[] = [];
let pulling = false;

async function pullOnce(c: Client) {
  const res = await fetch(`${c.url}/sync/pull-changes?limit=1000`, { headers: { authorization: `Bearer ${c.key}` } });
  if (res.status !== 200) throw new Error(`pull ${res.status}`);
  const page = (await res.json()) as { last_seq: number; has_more: boolean; changes: { entity_id: string }[] };
  const t = now();
  c.pulls++;
  for (const ch of page.changes) if (!c.firstPulled.has(ch.entity_id)) c.firstPulled.set(ch.entity_id, t);
  if (page.changes.length) {
    const ok = await fetch(`${c.url}/sync/confirm`, {
      method: 'POST',
      headers: { authorization: `Bearer ${c.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ seq: page.last_seq }),
    });
    await ok.arrayBuffer();
  }
  return page.has_more;
}

async function follow(c: Client) {
  if (c.busy) return void (c.again = true);
  c.busy = true;
  try {
    do {
      c.again = false;
      try {
        while (await pullOnce(c));
      } catch {
        c.errors++;
        await new Promise((r) => setTimeout(r, 100));
        c.again = true;
      }
    } while (c.again && pulling);
  } finally {
    c.busy = false;
  }
}

process.on('message', async (m: any) => {
  const reply = (data: unknown) => process.send!({ id: m.id, data });
  if (m.type === 'connect') {
    pulling = m.pull;
    const batch: Promise<void>[] = [];
    for (const { key, url } of m.clients as { key: string; url: string }[]) {
      const socket = io(`${url}/sync`, { auth: { apiKey: key }, transports: ['websocket'], reconnection: false, forceNew: true });
      const c: Client = { key, url, socket, notices: [], firstPulled: new Map(), busy: false, again: false, pulls: 0, errors: 0 };
      clients.push(c);
      socket.on('changes:pending', () => {
        c.notices.push(now());
        if (pulling) void follow(c);
      });
      batch.push(
        new Promise<void>((resolve, reject) => {
          socket.once('connect', () => resolve());
          socket.once('connect_error', (e) => reject(e));
        }),
      );
      if (batch.length >= 200) await Promise.all(batch.splice(0));
    }
    await Promise.all(batch);
    return reply({ connected: clients.filter((c) => c.socket.connected).length });
  }
  if (m.type === 'reset') {
    for (const c of clients) {
      c.notices = [];
      c.firstPulled.clear();
      c.pulls = 0;
      c.errors = 0;
    }
    return reply(null);
  }
  if (m.type === 'pullAll') {
    const was = pulling;
    pulling = false;
    const queue = [...clients];
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        for (let c = queue.pop(); c; c = queue.pop()) await pullOnce(c).catch(() => {});
      }),
    );
    pulling = was;
    return reply(null);
  }
  if (m.type === 'notices') return reply(clients.map((c) => c.notices));
  if (m.type === 'report') {
    const commits = m.commits as Record<string, [number, number]>;
    const fromSend: number[] = [];
    const fromReply: number[] = [];
    let missed = 0;
    let pulls = 0;
    let errors = 0;
    for (const c of clients) {
      pulls += c.pulls;
      errors += c.errors;
      for (const [id, [sent, replied]] of Object.entries(commits)) {
        const t = c.firstPulled.get(id);
        if (t === undefined) missed++;
        else {
          fromSend.push(t - sent);
          fromReply.push(t - replied);
        }
      }
    }
    return reply({ fromSend: Float64Array.from(fromSend), fromReply: Float64Array.from(fromReply), missed, pulls, errors });
  }
  if (m.type === 'close') {
    pulling = false;
    for (const c of clients) c.socket.close();
    reply(null);
    setTimeout(() => process.exit(0), 50);
  }
});
process.send!({ ready: true });
