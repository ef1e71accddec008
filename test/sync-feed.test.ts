import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { SyncClient, type Change } from '../src/clients/sync-client.ts';
import { eventually, freshStorage, modes, runsIn, startPuente, testEnv, type Storage, type TestPuente } from './support/puente.ts';
import { spawnPuente } from './support/spawn.ts';
import { FEED_CHANNEL } from '../src/modules/sync-feed/sync-feed.service.ts';

const KEY = 'test-cloud-api-key';
const order = (n: number, extra: Record<string, unknown> = {}) => ({
  items: [{ sku: `SKU-${n}`, name: `Producto ${n}`, quantity: 1, price: 10 + n }],
  ...extra,
});

function connect(url: string, auth: Record<string, unknown>): Promise<Socket> {
  const s = io(`${url}/sync`, { auth, transports: ['websocket'], reconnection: false, forceNew: true });
  return new Promise((resolve, reject) => {
    s.once('connect', () => resolve(s));
    s.once('connect_error', (err) => {
      s.close();
      reject(err);
    });
  });
}

const once = <T = unknown>(s: Socket, event: string, ms = 5000) =>
  new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ${event} within ${ms} ms`)), ms);
    s.once(event, (d: T) => {
      clearTimeout(t);
      resolve(d);
    });
  });

for (const mode of modes) {
  describe(`orders change feed (${mode})`, runsIn(mode), () => {
    let storage: Storage;
    let p: TestPuente;
    const pull = (limit = 100, key = KEY) => p.api(`/sync/pull-changes?limit=${limit}`, { token: key });
    const confirm = (body: unknown, key = KEY) => p.api('/sync/confirm', { body, token: key });
    /** Confirms every change so far: a test starts with nothing unread, whatever ran before it. */
    const drain = async () => {
      for (let page = (await pull(1000)).body; page.changes.length; page = (await pull(1000)).body) await confirm({ seq: page.last_seq });
    };

    before(async () => {
      storage = await freshStorage(mode);
      p = await startPuente(testEnv(storage.env));
    });
    after(async () => {
      await p?.close();
      await storage?.dispose();
    });

    test("the handshake needs an API key: missing and wrong keys get the seed's messages", async () => {
      await assert.rejects(connect(p.url, {}), { message: 'API key required' });
      await assert.rejects(connect(p.url, { apiKey: 'not-the-key' }), { message: 'Invalid API key' });
      const s = await connect(p.url, { apiKey: KEY });
      assert.ok(s.connected);
      s.close();
    });

    test('REST routes refuse unknown keys with 401 and malformed confirms with 400', async () => {
      const unknown = await pull(100, 'nope');
      assert.deepEqual([unknown.status, unknown.body.code], [401, 'sync.invalid_api_key']);
      const none = await p.api('/sync/pull-changes', { token: null });
      assert.deepEqual([none.status, none.body.code], [401, 'sync.missing_api_key']);
      const bad = await confirm({ seq: 'x' });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.success, false);
      assert.equal(bad.body.code, 'validation_error');
      assert.equal((await p.api('/orders', { body: { items: [] } })).status, 400);
    });

    test('an order committed while a client is connected sends changes:pending with no payload', async () => {
      // Nothing unread, so the notification is the commit's, not the one a behind client gets as it connects.
      await drain();
      const s = await connect(p.url, { apiKey: KEY });
      const pending = new Promise<unknown[]>((resolve) => s.once('changes:pending', (...args: unknown[]) => resolve(args)));
      const created = await p.api('/orders', { body: order(1) });
      assert.equal(created.status, 201);
      assert.deepEqual(await pending, []);
      s.close();
    });

    test("a process tells its own sockets of its commit from memory, without waiting for the commit's bus event", async () => {
      await drain();
      const s = await connect(p.url, { apiKey: KEY });
      // Its position is read as it connects; the commit comes after.
      await new Promise((r) => setTimeout(r, 200));
      const { bus } = p.ctx;
      const feed = p.ctx.services.syncFeed;
      const publish = bus.publish;
      const lastSeq = feed.lastSeq;
      const held: (() => void)[] = [];
      // The commit's event reaches nobody until the end, and the periodic sweep's read of the feed learns nothing.
      bus.publish = (channel, message) => {
        if (channel !== FEED_CHANNEL) return publish.call(bus, channel, message);
        held.push(() => void publish.call(bus, channel, message));
        return Promise.resolve();
      };
      feed.lastSeq = async () => 0;
      try {
        const pending = once(s, 'changes:pending', 2000);
        assert.equal((await p.api('/orders', { body: order(50) })).status, 201);
        await pending;
        // The change is in this process's memory too: the pull it prompts has it.
        assert.equal((await pull(1000)).body.count, 1);
      } finally {
        bus.publish = publish;
        feed.lastSeq = lastSeq;
        for (const release of held) release();
        s.close();
      }
    });

    test('an order answers 201 once committed even when telling its own sockets fails', async () => {
      const off = p.ctx.services.syncFeed.onCommit(() => {
        throw new Error('listener broke');
      });
      try {
        const r = await p.api('/orders', { body: order(55) });
        assert.equal(r.status, 201, JSON.stringify(r.body));
      } finally {
        off();
      }
    });

    test("an order by a staff token checks the token's session once", async () => {
      const { tokens } = p.ctx;
      const verify = tokens.verify;
      let checks = 0;
      tokens.verify = (token) => {
        checks++;
        return verify.call(tokens, token);
      };
      try {
        assert.equal((await p.api('/orders', { body: order(60) })).status, 201);
      } finally {
        tokens.verify = verify;
      }
      assert.equal(checks, 1);
    });

    test('a burst of orders is one notification until the client pulls; after a pull the next order is announced', async () => {
      await drain();
      const s = await connect(p.url, { apiKey: KEY });
      const told: number[] = [];
      s.on('changes:pending', () => told.push(Date.now()));
      await Promise.all(Array.from({ length: 60 }, (_, i) => p.api('/orders', { body: order(100 + i) })));
      await eventually(async () => told.length > 0, 5000, 'a notification');
      // A short window proving nothing more happens: the rest of the burst adds no notification.
      await new Promise((r) => setTimeout(r, 300));
      // A client told and not pulled is reminded 5 s later (on the next commit): on a loaded machine the
      // burst itself can last that long. Within those 5 s, one notification.
      const coalesced = told.filter((at) => at - told[0]! < 5000).length;
      assert.equal(coalesced, 1, `60 orders produced ${coalesced} notifications within 5 s (${told.length} in all)`);
      await pull(1000);
      const pulled = Date.now();
      await p.api('/orders', { body: order(200) });
      await eventually(async () => told.some((at) => at >= pulled), 5000, 'a notification after the pull');
      s.close();
    });

    test('pull pages in order, confirm is idempotent, never backwards, and refuses what was not delivered', async () => {
      // Three pages of ten of this test's own changes.
      await drain();
      for (let i = 0; i < 25; i++) assert.equal((await p.api('/orders', { body: order(600 + i) })).status, 201);
      const first = await pull(10);
      assert.equal(first.status, 200);
      assert.equal(first.body.changes.length, 10);
      assert.equal(first.body.has_more, true);
      const seqs = first.body.changes.map((c: Change) => c.seq);
      assert.deepEqual(
        seqs,
        [...seqs].sort((a, b) => a - b),
      );
      assert.equal(first.body.changes[0].op, 'created');
      const beyond = await confirm({ seq: first.body.last_seq + 1000 });
      assert.deepEqual([beyond.status, beyond.body.code, beyond.body.seq], [400, 'sync.seq_beyond_delivered', first.body.last_seq + 1000]);
      const ok = await confirm({ seq: first.body.last_seq });
      assert.equal(ok.body.cursor, first.body.last_seq);
      assert.equal((await confirm({ seq: first.body.last_seq })).body.cursor, first.body.last_seq, 'idempotent');
      assert.equal((await confirm({ seq: 1 })).body.cursor, first.body.last_seq, 'never backwards');
      const second = await pull(10);
      assert.ok(second.body.changes[0].seq > first.body.last_seq);
      const again = await pull(10);
      assert.deepEqual(
        again.body.changes.map((c: Change) => c.seq),
        second.body.changes.map((c: Change) => c.seq),
        'unconfirmed changes come again',
      );
      // drain
      let page = again.body;
      while (page.changes.length) {
        await confirm({ seq: page.last_seq });
        page = (await pull(100)).body;
      }
      assert.equal(page.has_more, false);
    });

    test("sync:orders answers orders:pending with the client's unconfirmed orders", async () => {
      // Nothing unread: a client with unread changes is told as it connects, and not again until it pulls.
      await drain();
      const s = await connect(p.url, { apiKey: KEY });
      // Listening before the order: the notification may arrive before the reply does.
      const told = once(s, 'changes:pending');
      const made = await p.api('/orders', { body: order(900) });
      await told;
      s.emit('sync:orders');
      const data = await once<{ count: number; orders: any[] }>(s, 'orders:pending');
      assert.ok(data.orders.some((o) => o.id === made.body.order.id));
      s.close();
    });

    test('updates and cancels are changes too; a client connecting with unread changes is told at once', async () => {
      const made = await p.api('/orders', { body: order(901) });
      const id = made.body.order.id;
      assert.equal((await p.api(`/orders/${id}`, { method: 'PATCH', body: { status: 'confirmed' } })).status, 200);
      assert.equal((await p.api(`/orders/${id}/cancel`, { method: 'POST' })).body.order.status, 'cancelled');
      const twice = await p.api(`/orders/${id}/cancel`, { method: 'POST' });
      assert.deepEqual([twice.status, twice.body.code, twice.body.order_id], [409, 'sync.order_already_cancelled', id]);
      const s = io(`${p.url}/sync`, { auth: { apiKey: KEY }, transports: ['websocket'], reconnection: false, forceNew: true });
      await once(s, 'changes:pending');
      s.close();
      const ops = (await pull(1000)).body.changes.filter((c: Change) => c.entity_id === String(id)).map((c: Change) => c.op);
      assert.deepEqual(ops, ['created', 'updated', 'cancelled']);
    });

    test('the reference client applies every change once, across a disconnect and a restart', async () => {
      const created = await p.api('/api/sync-clients', { body: { name: 'pos-1' } });
      assert.equal(created.status, 201);
      const key = created.body.api_key;
      const cursorFile = join(mkdtempSync(join(tmpdir(), 'sync-client-')), 'cursor');
      const applied: number[] = [];
      const make = () => new SyncClient({ backendUrl: p.url, apiKey: key, cursorFile, pageSize: 7, apply: (c) => void applied.push(c.seq) });
      let client = make();
      await client.connect();
      for (let i = 0; i < 15; i++) await p.api('/orders', { body: order(2000 + i) });
      const last = async () => (await p.api('/api/sync-clients')).body.last_seq;
      await eventually(async () => client.applied === (await last()), 10_000, 'the client to catch up');
      client.disconnect();
      for (let i = 0; i < 5; i++) await p.api('/orders', { body: order(3000 + i) });
      client = make(); // a restart: a new process reading the same cursor file
      await client.connect();
      await eventually(async () => client.applied === (await last()), 10_000, 'the restarted client to catch up');
      client.disconnect();
      assert.equal(new Set(applied).size, applied.length, 'no change applied twice');
      const all = (await p.ctx.db.query<{ seq: string }>('SELECT seq FROM sync_changes ORDER BY seq')).map((r) => Number(r.seq));
      assert.deepEqual(applied, all, 'every change, in order');
      const view = (await p.api('/api/sync-clients')).body.data.find((c: any) => c.name === 'pos-1');
      assert.equal(view.cursor_lag, 0);
      assert.ok(view.last_seen_at);
    });

    test('a revoked key stops working on REST and disconnects its sockets', async () => {
      const created = await p.api('/api/sync-clients', { body: { name: 'pos-revoked' } });
      const s = await connect(p.url, { apiKey: created.body.api_key });
      const view = (await p.api('/api/sync-clients')).body.data.find((c: any) => c.name === 'pos-revoked');
      assert.equal(view.connected, true);
      const gone = once(s, 'disconnect');
      assert.equal((await p.api(`/api/sync-clients/${created.body.client.id}`, { method: 'DELETE' })).status, 200);
      await gone;
      assert.equal((await pull(10, created.body.api_key)).status, 401);
      await assert.rejects(connect(p.url, { apiKey: created.body.api_key }), { message: 'Invalid API key' });
    });

    test('a sync client key may create orders; only admins manage sync clients', async () => {
      assert.equal((await p.api('/orders', { body: order(5000), token: KEY })).status, 201);
      assert.equal((await p.api('/api/sync-clients', { body: { name: 'x' }, token: KEY })).status, 401);
      const again = await p.api('/orders', { body: order(5001, { external_ref: 'pos-ref-1' }) });
      const repeat = await p.api('/orders', { body: order(5001, { external_ref: 'pos-ref-1' }) });
      assert.equal(again.status, 201);
      assert.equal(repeat.status, 200);
      assert.equal(repeat.body.order.id, again.body.order.id, 'external_ref makes creation idempotent');
    });

    test('a change that commits while a told client is pulling is told when that pull lands, not at the next commit', async () => {
      await drain();
      const s = await connect(p.url, { apiKey: KEY });
      let count = 0;
      s.on('changes:pending', () => count++);
      await p.api('/orders', { body: order(300) });
      await eventually(async () => count === 1, 5000, 'the first notification');
      await p.api('/orders', { body: order(301) }); // told already, not pulled: no second notification
      // A short window proving nothing happens: no second notification arrives.
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(count, 1);
      // This pull takes only the first change, as one that read before the second committed would.
      const page = (await pull(1)).body;
      assert.equal(page.count, 1);
      await eventually(async () => count === 2, 3000, 'a notification for the change the pull did not take');
      s.close();
    });
  });
}

if (modes.includes('scaled')) {
  describe('orders change feed across two server processes (PostgreSQL + Redis)', runsIn('scaled'), () => {
    test('an order created through one process notifies a client connected to the other', async () => {
      const storage = await freshStorage('scaled');
      const env = testEnv(storage.env);
      const a = await startPuente(env);
      const b = await spawnPuente(['serve'], env);
      try {
        // Listening from the connect on: a change committed while b reads this client's position is told when it has read it.
        const s = await connect(b.url!, { apiKey: KEY });
        const pending = once(s, 'changes:pending', 5000);
        assert.equal((await a.api('/orders', { body: order(1) })).status, 201);
        await pending;
        const pulled = await fetch(`${b.url}/sync/pull-changes`, { headers: { authorization: `Bearer ${KEY}` } }).then((r) => r.json() as Promise<any>);
        assert.equal(pulled.changes.length, 1);
        const view = (await a.api('/api/sync-clients')).body.data.find((c: any) => c.is_default);
        assert.equal(view.connected, true, 'presence is seen across processes');
        s.close();
      } finally {
        await b.stop();
        await a.close();
        await storage.dispose();
      }
    });
  });
}
