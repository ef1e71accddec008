import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import { eventually, modes, runsIn, type TestPuente } from './support/puente.ts';
import type { PuenteProcess } from './support/spawn.ts';
import type { TestRedis } from './support/faults.ts';
import { startTwoNodes, type TwoNodes } from './support/two-nodes.ts';

/**
 * Each process keeps the sync API keys it has checked in memory (SYNC_KEY_CACHE_SECONDS). These tests
 * check, over two server processes and a real Redis bus, that a key that stops being valid is refused
 * everywhere: at once after a revocation (announced on the bus), at once by pulls and confirms
 * whatever the process kept (their statement checks the key), and within the time limit when the
 * announcement never comes.
 */
const CACHE_SECONDS = 3;
const order = (n: number) => ({ items: [{ sku: `SKU-${n}`, name: `Producto ${n}`, quantity: 1, price: 10 + n }] });

const pullAt = (url: string, key: string) => fetch(`${url}/sync/pull-changes?limit=100`, { headers: { authorization: `Bearer ${key}` } });
const confirmAt = (url: string, key: string, seq: number) =>
  fetch(`${url}/sync/confirm`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ seq }),
  });
const orderAt = (url: string, key: string, n: number) =>
  fetch(`${url}/orders`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(order(n)),
  });
/** Resolves with null once connected (and disconnects), or with the refusal's message. */
const handshake = (url: string, key: string) =>
  new Promise<string | null>((resolve) => {
    const s = io(`${url}/sync`, { auth: { apiKey: key }, transports: ['websocket'], reconnection: false, forceNew: true });
    s.once('connect', () => {
      s.close();
      resolve(null);
    });
    s.once('connect_error', (err) => {
      s.close();
      resolve(err.message);
    });
  });

if (modes.includes('scaled')) {
  describe('checked sync keys across two server processes (PostgreSQL + Redis)', runsIn('scaled'), () => {
    let nodes: TwoNodes;
    let a: TestPuente;
    let bUrl: string;
    before(async () => {
      nodes = await startTwoNodes({ SYNC_KEY_CACHE_SECONDS: String(CACHE_SECONDS) });
      ({ a } = nodes);
      bUrl = nodes.b.url!;
    });
    after(() => nodes?.close());

    /** A new sync client, its key checked (and so kept) by b, with one change pulled and confirmed there. */
    async function clientKeptByB(name: string) {
      const made = await a.api('/api/sync-clients', { body: { name } });
      assert.equal(made.status, 201);
      const key = made.body.api_key as string;
      assert.equal((await orderAt(bUrl, key, made.body.client.id)).status, 201);
      const pulled = await pullAt(bUrl, key);
      // Pulls and confirms go without the browser headers, nosniff aside (no page is served there).
      assert.equal(pulled.headers.get('x-content-type-options'), 'nosniff');
      const page = (await pulled.json()) as { last_seq: number };
      const confirmed = await confirmAt(bUrl, key, page.last_seq);
      assert.equal(confirmed.status, 200);
      assert.equal(confirmed.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(await handshake(bUrl, key), null);
      return { id: made.body.client.id as number, key, seq: page.last_seq };
    }

    test('a key revoked through one process is refused by the other at once: pulls, confirms, orders and the socket handshake', async () => {
      const { id, key, seq } = await clientKeptByB('keys-revoked');
      const revokedAt = performance.now();
      assert.equal((await a.api(`/api/sync-clients/${id}`, { method: 'DELETE' })).status, 200);
      // Checked by their own statement: refused on the very next request, bus or not.
      assert.equal((await confirmAt(bUrl, key, seq)).status, 401);
      const refused = await pullAt(bUrl, key);
      assert.equal(refused.status, 401);
      assert.equal(refused.headers.get('x-content-type-options'), 'nosniff');
      // Orders and the handshake rely on b having forgotten the key: the announcement, well before the time limit.
      const another = await a.api('/api/sync-clients', { body: { name: 'keys-revoked-2' } });
      const key2 = another.body.api_key as string;
      assert.equal((await orderAt(bUrl, key2, 1)).status, 201);
      const revoked2At = performance.now();
      assert.equal((await a.api(`/api/sync-clients/${another.body.client.id}`, { method: 'DELETE' })).status, 200);
      await eventually(async () => (await orderAt(bUrl, key2, 2)).status === 401, 1000, 'b to refuse the revoked key for orders');
      assert.ok(performance.now() - revoked2At < CACHE_SECONDS * 1000, 'refused before the time limit could have expired it');
      assert.equal(await handshake(bUrl, key2), 'Invalid API key');
      assert.equal((await orderAt(bUrl, key, 3)).status, 401);
      assert.equal(await handshake(bUrl, key), 'Invalid API key');
      assert.ok(performance.now() - revokedAt < CACHE_SECONDS * 1000 + 2000);
    });

    test('a revocation whose announcement is lost: pulls and confirms are refused at once, everything else within SYNC_KEY_CACHE_SECONDS', async () => {
      const { id, key } = await clientKeptByB('keys-lost');
      // Revoked straight in the database: no process announces it.
      await a.ctx.db.query('UPDATE sync_clients SET revoked_at = now() WHERE id = $1', [id]);
      const revokedAt = performance.now();
      // b still holds the key it checked, so an order is accepted until the time limit: the bound, not a hole.
      assert.equal((await orderAt(bUrl, key, 10)).status, 201, 'b answers from the key it kept (the cache is in use)');
      await eventually(async () => (await orderAt(bUrl, key, 11)).status === 401, (CACHE_SECONDS + 2) * 1000, 'b to refuse the key once its time is up');
      assert.ok(performance.now() - revokedAt <= (CACHE_SECONDS + 1) * 1000, 'refused within the time limit');
      assert.equal(await handshake(bUrl, key), 'Invalid API key');

      // The same, answered by pulls and confirms: no wait at all.
      const other = await clientKeptByB('keys-lost-pull');
      await a.ctx.db.query('UPDATE sync_clients SET revoked_at = now() WHERE id = $1', [other.id]);
      assert.equal((await confirmAt(bUrl, other.key, other.seq)).status, 401);
      const third = await clientKeptByB('keys-lost-pull-2');
      await a.ctx.db.query('UPDATE sync_clients SET revoked_at = now() WHERE id = $1', [third.id]);
      assert.equal((await pullAt(bUrl, third.key)).status, 401);
      // Refused by the statement, b forgets the key: the rest of its routes refuse it at once too.
      assert.equal((await orderAt(bUrl, third.key, 12)).status, 401);
    });

    test('a client deleted, or whose key is replaced, in the database is refused by pulls and confirms at once', async () => {
      const gone = await clientKeptByB('keys-deleted');
      await a.ctx.db.query('DELETE FROM sync_clients WHERE id = $1', [gone.id]);
      assert.equal((await pullAt(bUrl, gone.key)).status, 401);
      const rotated = await clientKeptByB('keys-rotated');
      await a.ctx.db.query(`UPDATE sync_clients SET key_hash = md5(random()::text) WHERE id = $1`, [rotated.id]);
      assert.equal((await confirmAt(bUrl, rotated.key, rotated.seq)).status, 401);
      const rotated2 = await clientKeptByB('keys-rotated-2');
      await a.ctx.db.query(`UPDATE sync_clients SET key_hash = md5(random()::text) WHERE id = $1`, [rotated2.id]);
      assert.equal((await pullAt(bUrl, rotated2.key)).status, 401);
    });
  });
}

if (modes.includes('scaled')) {
  describe('checked sync keys after a Redis outage (PostgreSQL + Redis, keys kept for a minute)', runsIn('scaled'), () => {
    let nodes: TwoNodes;
    let redis: TestRedis;
    let a: TestPuente;
    let b: PuenteProcess;
    before(async () => {
      nodes = await startTwoNodes({ SYNC_KEY_CACHE_SECONDS: '60' });
      ({ redis, a, b } = nodes);
    });
    after(() => nodes?.close());

    test('a revocation made while Redis is away is honoured by the other process once Redis returns, long before the time limit', async () => {
      const made = await a.api('/api/sync-clients', { body: { name: 'keys-outage' } });
      const key = made.body.api_key as string;
      assert.equal((await orderAt(b.url!, key, 1)).status, 201);
      await redis.kill();
      const revokedAt = performance.now();
      try {
        // Through a, while the bus is away: b cannot hear of it.
        assert.equal((await a.api(`/api/sync-clients/${made.body.client.id}`, { method: 'DELETE' })).status, 200);
      } finally {
        await redis.start();
      }
      await eventually(async () => (await orderAt(b.url!, key, 2)).status === 401, 20_000, 'b to refuse the key once the bus is back');
      assert.ok(performance.now() - revokedAt < 40_000, 'long before the minute the key could have been kept');
    });
  });
}
