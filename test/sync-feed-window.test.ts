import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { io, type Socket } from 'socket.io-client';
import { eventually, freshStorage, modes, runsIn, startPuente, testEnv, type Storage, type TestPuente } from './support/puente.ts';
import type { PuenteProcess } from './support/spawn.ts';
import type { TestRedis } from './support/faults.ts';
import { startTwoNodes, type TwoNodes } from './support/two-nodes.ts';
import { safeEncode } from 'zod/v4/core';
import { pullReply } from '../src/modules/sync-feed/sync-feed.contract.ts';

/**
 * Pulls of recent changes are answered from memory shared by every client of a process (the window
 * of recent changes). These tests check that such a page is exactly the page the database gives, that
 * nothing is missed across the window's edge, across processes, after a lost event and through a
 * Redis outage, and that confirm still refuses what was never delivered.
 */
const KEY = 'test-cloud-api-key';
const order = (n: number) => ({ items: [{ sku: `SKU-${n}`, name: `Producto ${n}`, quantity: 1 + (n % 3), price: 10 + n }], notes: `nota ${n}` });

interface Page {
  cursor: number;
  last_seq: number;
  has_more: boolean;
  count: number;
  changes: { seq: number; data: Record<string, unknown> }[];
}

/** How many pulls a Puente at `url` answered from memory and from the database (its /metrics). */
async function pullSources(url: string) {
  const text = await fetch(`${url}/metrics`).then((r) => r.text());
  const of = (source: string) => Number(new RegExp(`puente_sync_pulls_total\\{source="${source}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
  return { memory: of('memory'), database: of('database') };
}

const pullAt = async (url: string, key: string, limit: number) => {
  const res = await fetch(`${url}/sync/pull-changes?limit=${limit}`, { headers: { authorization: `Bearer ${key}` } });
  assert.equal(res.status, 200);
  return (await res.json()) as Page;
};
const confirmAt = async (url: string, key: string, seq: number) => {
  const res = await fetch(`${url}/sync/confirm`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ seq }),
  });
  return { status: res.status, body: (await res.json()) as any };
};

/** The page the feed itself holds after `cursor`, read straight from sync_changes (compared by value: replies are serialised in the schema's key order). */
async function databasePage(p: TestPuente, cursor: number, limit: number) {
  const rows = await p.ctx.db.query<{ seq: string; entity: string; entity_id: string; op: string; data: unknown; created_at: Date | string }>(
    'SELECT * FROM sync_changes WHERE seq > $1 ORDER BY seq LIMIT $2',
    [cursor, limit + 1],
  );
  return {
    has_more: rows.length > limit,
    changes: rows.slice(0, limit).map((r) => ({
      seq: Number(r.seq),
      entity: r.entity,
      entity_id: r.entity_id,
      op: r.op,
      data: r.data,
      created_at: new Date(r.created_at).toISOString(),
    })),
  };
}

/** Pages until nothing is left, confirming each; returns every seq received, in order. */
async function drain(url: string, key: string, limit: number) {
  const seqs: number[] = [];
  for (;;) {
    const page = await pullAt(url, key, limit);
    seqs.push(...page.changes.map((c) => c.seq));
    if (page.count) assert.equal((await confirmAt(url, key, page.last_seq)).status, 200);
    if (!page.has_more) return seqs;
  }
}

const allSeqs = async (p: TestPuente) => (await p.ctx.db.query<{ seq: string }>('SELECT seq FROM sync_changes ORDER BY seq')).map((r) => Number(r.seq));
const newClient = async (p: TestPuente, name: string) => {
  const made = await p.api('/api/sync-clients', { body: { name } });
  assert.equal(made.status, 201);
  return made.body.api_key as string;
};

for (const mode of modes) {
  describe(`pulls answered from the window of recent changes (${mode})`, runsIn(mode), () => {
    let storage: Storage;
    let p: TestPuente;
    before(async () => {
      storage = await freshStorage(mode);
      // A small window, so that its edge is crossed within a test.
      p = await startPuente(testEnv({ ...storage.env, SYNC_FEED_WINDOW: '8' }));
    });
    after(async () => {
      await p?.close();
      await storage?.dispose();
    });

    test('a pull answered from memory is exactly the page the database holds (created, updated and cancelled changes)', async () => {
      const key = await newClient(p, 'pos-equal');
      await drain(p.url, key, 1000);
      const made = await p.api('/orders', { body: order(1) });
      await p.api(`/orders/${made.body.order.id}`, { method: 'PATCH', body: { status: 'confirmed', notes: null } });
      await p.api(`/orders/${made.body.order.id}/cancel`, { method: 'POST' });
      await Promise.all([2, 3].map((n) => p.api('/orders', { body: order(n) })));
      const before = await pullSources(p.url);
      for (const limit of [1, 2, 5, 100]) {
        const page = await pullAt(p.url, key, limit);
        const expected = await databasePage(p, page.cursor, limit);
        assert.deepStrictEqual(page.changes, expected.changes, `limit ${limit}: the same changes, field for field`);
        assert.equal(page.has_more, expected.has_more);
        assert.equal(page.count, expected.changes.length);
        assert.equal(page.last_seq, expected.changes.at(-1)?.seq ?? page.cursor);
      }
      assert.deepEqual(
        (await pullAt(p.url, key, 100)).changes.map((c) => c.data.status),
        ['pending', 'confirmed', 'cancelled', 'pending', 'pending'],
      );
      // Byte for byte what the route's serializer makes of the same page (the contract's fields, in its order).
      const res = await fetch(`${p.url}/sync/pull-changes?limit=4`, { headers: { authorization: `Bearer ${key}` } });
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      const text = await res.text();
      assert.equal(text, JSON.stringify(safeEncode(pullReply, JSON.parse(text)).data));
      const after = await pullSources(p.url);
      assert.equal(after.memory - before.memory, 6, 'every one of these pulls came from memory');
      assert.equal(after.database, before.database);
    });

    test("no change is missed across the window's edge: older cursors are read from the database, recent ones from memory", async () => {
      const key = await newClient(p, 'pos-edge');
      await drain(p.url, key, 1000);
      const start = (await allSeqs(p)).at(-1)!;
      for (let i = 0; i < 20; i++) await p.api('/orders', { body: order(100 + i) }); // more than the window holds
      const before = await pullSources(p.url);
      const got = await drain(p.url, key, 3);
      const after = await pullSources(p.url);
      assert.deepEqual(
        got,
        (await allSeqs(p)).filter((s) => s > start),
        'every change after the cursor, once, in order',
      );
      assert.ok(after.database > before.database, 'the pages older than the window came from the database');
      assert.ok(after.memory > before.memory, 'the recent pages came from memory');
    });

    test('a confirm after a pull from memory is accepted; beyond what was delivered it is refused', async () => {
      const key = await newClient(p, 'pos-confirm');
      const other = await newClient(p, 'pos-never-pulled');
      await drain(p.url, key, 1000);
      await p.api('/orders', { body: order(300) });
      await p.api('/orders', { body: order(301) });
      const before = await pullSources(p.url);
      const page = await pullAt(p.url, key, 1);
      assert.equal((await pullSources(p.url)).memory, before.memory + 1);
      const beyond = await confirmAt(p.url, key, page.last_seq + 1);
      assert.deepEqual([beyond.status, beyond.body.code, beyond.body.delivered_upto], [400, 'sync.seq_beyond_delivered', page.last_seq]);
      const ok = await confirmAt(p.url, key, page.last_seq);
      assert.deepEqual([ok.status, ok.body.cursor], [200, page.last_seq]);
      // A client that never pulled has had nothing delivered.
      const never = await confirmAt(p.url, other, page.last_seq);
      assert.deepEqual([never.status, never.body.code], [400, 'sync.seq_beyond_delivered']);
      const view = (await p.api('/api/sync-clients')).body.data.find((c: any) => c.name === 'pos-confirm');
      assert.equal(view.delivered_upto, page.last_seq);
    });

    test('many clients pulling at once each get their own delivered mark (written together)', async () => {
      const keys = await Promise.all(Array.from({ length: 12 }, (_, i) => newClient(p, `pos-many-${i}`)));
      for (const k of keys) await drain(p.url, k, 1000);
      await p.api('/orders', { body: order(400) });
      await p.api('/orders', { body: order(401) });
      const pages = await Promise.all(keys.map((k, i) => pullAt(p.url, k, 1 + (i % 2))));
      const results = await Promise.all(keys.map((k, i) => confirmAt(p.url, k, pages[i]!.last_seq)));
      assert.deepEqual(
        results.map((r) => r.status),
        keys.map(() => 200),
      );
      const view = new Map<string, any>((await p.api('/api/sync-clients')).body.data.map((c: any) => [c.name, c]));
      for (const [i, page] of pages.entries()) assert.equal(view.get(`pos-many-${i}`).delivered_upto, page.last_seq);
    });

    test(
      'on the embedded database, pulls and confirms that arrive together share their statements (not one statement each)',
      mode === 'embedded' ? {} : { skip: 'PostgreSQL groups them by itself: rows arrive while a statement is in flight' },
      async () => {
        const keys = await Promise.all(Array.from({ length: 12 }, (_, i) => newClient(p, `pos-shared-${i}`)));
        for (const k of keys) await drain(p.url, k, 1000);
        // One connection per client already open: the requests below arrive together.
        await Promise.all(keys.map((k) => pullAt(p.url, k, 1)));
        await p.api('/orders', { body: order(420) });
        const feed = p.ctx.services.syncFeed;
        const clients = await Promise.all(keys.map(async (k) => (await feed.authenticate(k))!));
        const pglite = p.ctx.db.pglite!;
        const query = pglite.query;
        const statements: string[] = [];
        pglite.query = function (this: typeof pglite, text: string, ...rest: unknown[]) {
          statements.push(text);
          return (query as (...a: unknown[]) => ReturnType<typeof query>).call(this, text, ...rest);
        } as typeof query;
        let pages: Page[];
        let confirmed: number[];
        try {
          pages = await Promise.all(keys.map((k) => pullAt(p.url, k, 100)));
          // Confirms that reach the service in the same turn (as requests read together do).
          confirmed = await Promise.all(clients.map((c, i) => feed.confirm(c, pages[i]!.last_seq).then((r) => r.cursor)));
        } finally {
          pglite.query = query;
        }
        assert.deepEqual(
          confirmed,
          pages.map((page) => page.last_seq),
        );
        const marks = statements.filter((t) => t.includes('SET delivered_upto')).length;
        const confirms = statements.filter((t) => t.includes('SET cursor = GREATEST')).length;
        assert.ok(marks >= 1 && marks <= keys.length / 2, `${keys.length} pulls took ${marks} delivered-mark statements`);
        // Without collecting the turn, the first confirm would go alone and the rest in a second statement.
        assert.equal(confirms, 1, `${keys.length} confirms took ${confirms} statements`);
      },
    );

    test('confirms sent at once are each answered on their own seq (written together, one per client in a statement)', async () => {
      const keys = await Promise.all([0, 1, 2].map((i) => newClient(p, `pos-confirms-${i}`)));
      for (const k of keys) await drain(p.url, k, 1000);
      for (let i = 0; i < 3; i++) await p.api('/orders', { body: order(450 + i) });
      const pages = await Promise.all(keys.map((k) => pullAt(p.url, k, 2)));
      const [k0, k1, k2] = keys as [string, string, string];
      const last = pages[0]!.last_seq;
      const results = await Promise.all([
        confirmAt(p.url, k0, last - 1),
        confirmAt(p.url, k0, last + 1),
        confirmAt(p.url, k0, last),
        confirmAt(p.url, k1, last),
        confirmAt(p.url, k2, last + 1),
      ]);
      assert.deepEqual(
        results.map((r) => r.status),
        [200, 400, 200, 200, 400],
      );
      assert.equal(results[1]!.body.code, 'sync.seq_beyond_delivered');
      assert.equal(results[1]!.body.delivered_upto, last);
      const view = new Map<string, any>((await p.api('/api/sync-clients')).body.data.map((c: any) => [c.name, c]));
      assert.deepEqual(
        [0, 1, 2].map((i) => view.get(`pos-confirms-${i}`).cursor),
        [last, last, pages[2]!.cursor],
      );
    });

    test('a change written without its event (a lost event) is not skipped: the next change reveals the gap', async () => {
      const key = await newClient(p, 'pos-lost');
      await drain(p.url, key, 1000);
      await p.api('/orders', { body: order(500) });
      // Appended straight to the feed: no process hears of it.
      await p.ctx.db.query(
        `INSERT INTO sync_changes (entity, entity_id, op, data) SELECT entity, entity_id, 'updated', data FROM sync_changes ORDER BY seq DESC LIMIT 1`,
      );
      await p.api('/orders', { body: order(501) });
      const page = await pullAt(p.url, key, 100);
      const expected = await databasePage(p, page.cursor, 100);
      assert.deepEqual(
        page.changes.map((c) => c.seq),
        expected.changes.map((c) => c.seq),
      );
      assert.equal(page.count, 3);
      // Once the window has read the gap, pulls come from memory again and still match.
      await eventually(
        async () => {
          const before = await pullSources(p.url);
          const again = await pullAt(p.url, key, 100);
          assert.deepStrictEqual(again.changes, expected.changes);
          return (await pullSources(p.url)).memory > before.memory;
        },
        5000,
        'pulls from memory again',
      );
    });

    test("a change committed without its event is in the very next pull (the pull's delivered mark reads the feed's latest change)", async () => {
      const key = await newClient(p, 'pos-unheard');
      await drain(p.url, key, 1000);
      await p.api('/orders', { body: order(502) });
      await drain(p.url, key, 1000);
      const [row] = await p.ctx.db.query<{ seq: string }>(
        // Appended straight to the feed, as another process's commit whose event has not arrived yet.
        `INSERT INTO sync_changes (entity, entity_id, op, data) SELECT entity, entity_id, 'updated', data FROM sync_changes ORDER BY seq DESC LIMIT 1 RETURNING seq`,
      );
      const page = await pullAt(p.url, key, 100);
      assert.deepEqual(
        page.changes.map((c) => c.seq),
        [Number(row!.seq)],
      );
    });
  });
}

function connect(url: string, key: string): Promise<Socket> {
  const s = io(`${url}/sync`, { auth: { apiKey: key }, transports: ['websocket'], reconnection: false, forceNew: true });
  return new Promise((resolve, reject) => {
    s.once('connect', () => resolve(s));
    s.once('connect_error', reject);
  });
}

if (modes.includes('scaled')) {
  describe('the window of recent changes across two server processes (PostgreSQL + Redis)', runsIn('scaled'), () => {
    let nodes: TwoNodes;
    let redis: TestRedis;
    let a: TestPuente;
    let b: PuenteProcess;
    before(async () => {
      nodes = await startTwoNodes();
      ({ redis, a, b } = nodes);
    });
    after(() => nodes?.close());

    test('changes committed on both processes reach a client of either, from memory, with none missed', async () => {
      const key = await newClient(a, 'pos-two');
      await drain(b.url!, key, 1000);
      const s = await connect(b.url!, key);
      const got: number[] = [];
      let pulling = false;
      let again = false;
      const follow = async () => {
        if (pulling) return void (again = true);
        pulling = true;
        do {
          again = false;
          for (;;) {
            const page = await pullAt(b.url!, key, 7);
            got.push(...page.changes.map((c) => c.seq));
            if (page.count) await confirmAt(b.url!, key, page.last_seq);
            if (!page.has_more) break;
          }
        } while (again);
        pulling = false;
      };
      s.on('changes:pending', () => void follow());
      const start = (await allSeqs(a)).at(-1) ?? 0;
      const before = await pullSources(b.url!);
      // Concurrent commits through both processes.
      await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          fetch(`${(i % 2 ? a.url : b.url)!}/orders`, {
            method: 'POST',
            headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
            body: JSON.stringify(order(600 + i)),
          }),
        ),
      );
      const expected = (await allSeqs(a)).filter((x) => x > start);
      assert.equal(expected.length, 40);
      await eventually(async () => got.length >= expected.length, 15_000, 'the client to have every change');
      s.close();
      assert.deepEqual(got, expected, 'every change, once, in order');
      assert.ok((await pullSources(b.url!)).memory > before.memory, 'the other process answered from memory');
      // The process the client did not pull from accepts a confirm of what the other delivered.
      assert.equal((await confirmAt(a.url, key, expected.at(-1)!)).status, 200);
    });

    test('a pull starts at the cursor a confirm through the other process has just moved (the key was checked before it moved)', async () => {
      const key = await newClient(a, 'pos-moved');
      await drain(b.url!, key, 1000);
      for (let i = 0; i < 3; i++) assert.equal((await a.api('/orders', { body: order(640 + i) })).status, 201);
      const first = await pullAt(b.url!, key, 2);
      assert.equal(first.count, 2);
      // Confirmed through a: b has not heard of it (positions travel in batches), and its kept key holds the old cursor.
      assert.equal((await confirmAt(a.url, key, first.last_seq)).status, 200);
      const next = await pullAt(b.url!, key, 100);
      assert.equal(next.cursor, first.last_seq, 'the cursor as confirmed, not as b last knew it');
      assert.deepEqual(
        next.changes.map((c) => c.seq),
        (await databasePage(a, first.last_seq, 100)).changes.map((c) => c.seq),
      );
      assert.equal(next.count, 1);
    });

    test('a change whose event was lost, with nothing committed after it, is still found and pulled', async () => {
      const key = await newClient(a, 'pos-lost-tail');
      assert.equal((await a.api('/orders', { body: order(650) })).status, 201);
      await drain(b.url!, key, 1000);
      const s = await connect(b.url!, key);
      let told = 0;
      s.on('changes:pending', () => told++);
      const [row] = await a.ctx.db.query<{ seq: string }>(
        // A copy of the latest change (its data is a valid order).
        `INSERT INTO sync_changes (entity, entity_id, op, data) SELECT entity, entity_id, 'updated', data FROM sync_changes ORDER BY seq DESC LIMIT 1 RETURNING seq`,
      );
      // The periodic look at the feed's latest change finds it and tells the client.
      await eventually(async () => told > 0, 10_000, 'a notification for the change nobody announced');
      const page = await pullAt(b.url!, key, 100);
      assert.deepEqual(
        page.changes.map((c) => c.seq),
        [Number(row!.seq)],
      );
      s.close();
    });

    test('while Redis is away pulls read the database (no page misses what another process committed); afterwards memory again', async () => {
      const key = await newClient(a, 'pos-outage');
      await drain(b.url!, key, 1000);
      await redis.kill();
      try {
        // Committed through a: b cannot hear of these while Redis is away.
        for (let i = 0; i < 3; i++) assert.equal((await a.api('/orders', { body: order(700 + i) })).status, 201);
        const before = await pullSources(b.url!);
        const page = await pullAt(b.url!, key, 100);
        const expected = await databasePage(a, page.cursor, 100);
        assert.deepStrictEqual(page.changes, expected.changes);
        assert.equal(page.count, 3);
        assert.equal((await pullSources(b.url!)).memory, before.memory, 'not from memory while the bus is away');
        assert.equal((await confirmAt(b.url!, key, page.last_seq)).status, 200);
      } finally {
        await redis.start();
      }
      await eventually(async () => (await fetch(`${b.url}/ready`).then((r) => r.status)) === 200, 15_000, 'b to see Redis again');
      await eventually(async () => (await a.api('/ready')).status === 200, 15_000, 'a to see Redis again');
      // A change committed through a right after the outage, then one that nobody announced.
      for (let i = 0; i < 2; i++) await a.api('/orders', { body: order(710 + i) });
      await eventually(
        async () => {
          const before = await pullSources(b.url!);
          const page = await pullAt(b.url!, key, 100);
          const expected = await databasePage(a, page.cursor, 100);
          assert.deepStrictEqual(page.changes, expected.changes, 'never a page with a hole');
          return page.count === 2 && (await pullSources(b.url!)).memory > before.memory;
        },
        15_000,
        'b to answer from memory again, with both changes',
      );
    });
  });
}
