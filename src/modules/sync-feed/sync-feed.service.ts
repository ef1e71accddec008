import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { RuntimeContext } from '../../platform/context.ts';
import { safeEqual } from '../../platform/auth/passwords.ts';
import { AppError } from '../../platform/http/errors.ts';
import { tooManyAttempts } from '../../platform/auth/throttle.ts';
import { sqlState } from '../../platform/http/hostile-input.ts';
import { safeEncode } from 'zod/v4/core';
import { change as changeSchema, type Change, type Order, type PullReply, type SyncClient } from './sync-feed.contract.ts';
import { syncFeedRepository as repo, type ChangeRow, type MarkedClient, type OrderRow, type SyncClientRow } from './sync-feed.repository.ts';
import { ChangeWindow } from './sync-feed.window.ts';
import { syncPulls } from '../../platform/metrics.ts';
import { GroupCommit } from '../../platform/db/group-commit.ts';

/** What the service uses. */
export type SyncFeedDeps = Pick<RuntimeContext, 'db' | 'bus' | 'config' | 'throttle'> & { logger?: Pick<RuntimeContext['logger'], 'warn'> };

/** A committed change: `{ seq, change }` (`change` as a pull answers it; absent from older publishers). */
export const FEED_CHANNEL = 'sync-feed:changed';
export interface FeedEvent {
  seq: number;
  change?: Change;
}
/**
 * Where clients have pulled and confirmed up to (see sync-feed.realtime.ts): each process gathers its
 * pulls' and confirms' positions and publishes them together at most every POSITIONS_MS, the highest
 * per client, as `[id, cursor, delivered_upto]` triples. Its own listeners hear each one at once.
 */
export const FEED_CLIENT_CHANNEL = 'sync-feed:client';
export interface ClientPosition {
  id: number;
  cursor: number;
  delivered_upto: number;
}
export interface PositionsEvent {
  /** The publishing process (it has told its own listeners already). */
  origin: string;
  positions: [id: number, cursor: number, delivered_upto: number][];
}
export const POSITIONS_MS = 50;
/** A sync client revoked, or its key replaced: every process forgets the key it had checked. */
export const KEY_REVOKED_CHANNEL = 'sync-feed:key-revoked';
export interface KeyRevokedEvent {
  id: number;
}
/** The most checked keys a process keeps (the oldest go first). */
const KEY_CACHE_MAX = 100_000;
export const hashKey = (key: string) => createHash('sha256').update(key).digest('hex');

export interface OrderInput {
  external_ref?: string | null;
  customer_id?: number | null;
  items: { sku?: string; name: string; quantity: number; price: number }[];
  total?: number;
  notes?: string | null;
}

/** An order as the contract describes it (`Order`): numeric total, ISO dates. */
export function orderReply(o: OrderRow): Order {
  return {
    ...o,
    status: o.status as Order['status'],
    items: o.items as Order['items'],
    total: Number(o.total),
    created_at: new Date(o.created_at).toISOString(),
    updated_at: new Date(o.updated_at).toISOString(),
  };
}

/** A change as a pull answers it: `data` is the order as the change stored it (orderReply's shape, as JSON). */
export const changeReply = (c: ChangeRow): Change => ({
  ...c,
  seq: Number(c.seq),
  op: c.op as Change['op'],
  data: c.data as Order,
  created_at: new Date(c.created_at).toISOString(),
});

export function clientReply(c: SyncClientRow, lastSeq: number, connected: boolean): SyncClient {
  const cursor = Number(c.cursor);
  return {
    id: c.id,
    name: c.name,
    key_prefix: c.key_prefix,
    is_default: c.is_default,
    revoked: c.revoked_at !== null,
    connected,
    last_seen_at: c.last_seen_at && new Date(c.last_seen_at).toISOString(),
    cursor,
    delivered_upto: Number(c.delivered_upto),
    cursor_lag: Math.max(0, lastSeq - cursor),
    created_at: new Date(c.created_at).toISOString(),
  };
}

const invalidKey = () => new AppError('sync.invalid_api_key', 'API key inválida o revocada (Authorization: Bearer <api key>) / Invalid or revoked API key');

/** A delivered mark waiting for its statement; `marked` is what the statement returned for the client (null: not active). */
interface Mark {
  id: number;
  upto: number;
  marked?: MarkedClient | null;
}

/** A confirm waiting for its statement; `moved` is the client after it (null: refused). */
interface Confirm {
  id: number;
  hash: string;
  seq: number;
  moved?: { cursor: string; delivered_upto: string } | null;
}

const unknownCustomer = (id: number) =>
  new AppError(
    'sync.customer_not_found',
    `customer_id ${id} no es un usuario de Puente: use el id de un usuario existente (GET /api/users) u omítalo y use external_ref / customer_id ${id} is not a Puente user`,
    { customer_id: id },
    { field: 'customer_id' },
  );

/** Orders, the change feed, and the sync clients that read it (seed 001). */
export class SyncFeedService {
  readonly #ctx: SyncFeedDeps;
  #closeRealtime: (() => Promise<void>) | null = null;
  /** The recent changes every pull of this process is answered from when it can (see sync-feed.window.ts). */
  readonly #window: ChangeWindow;
  #filling: Promise<void> | null = null;
  #stopWindow: (() => Promise<void>) | null = null;
  /** Delivered marks of concurrent pulls, written together (a pull answers once its own mark is stored). */
  readonly #marks: GroupCommit<Mark>;
  /** Confirms of concurrent requests, written together in the same way. */
  readonly #confirms: GroupCommit<Confirm>;
  /** Keys checked recently, by hash: a pull, a confirm or an order does not read its key each time (see `authenticate`). */
  readonly #keys = new Map<string, { client: SyncClientRow; until: number }>();
  /** The highest confirmed cursor this process knows of per client (its confirms, marks, other processes' positions). */
  readonly #cursors = new Map<number, number>();
  /** This process, in the positions it publishes. */
  readonly #origin = randomUUID();
  readonly #positionListeners = new Set<(p: ClientPosition) => void>();
  readonly #commitListeners = new Set<(seq: number) => void>();
  /** Positions not yet published: the highest per client. */
  #positions = new Map<number, ClientPosition>();
  #positionsTimer: NodeJS.Timeout | null = null;
  #stopEvents: (() => Promise<void>) | null = null;
  /** Each change of the window as its reply's JSON, encoded once for every client (null: it does not match the contract). */
  readonly #encoded = new WeakMap<Change, string | null>();
  constructor(ctx: SyncFeedDeps) {
    this.#ctx = ctx;
    this.#window = new ChangeWindow(ctx.config.SYNC_FEED_WINDOW);
    // The embedded database runs each statement on this thread to its end: no request is read while one
    // is "in flight", so without collecting a turn's requests every pull and confirm would be a statement
    // of its own (and each a commit), all on the thread that also commits the orders they react to.
    const collect = ctx.db.kind === 'pglite' ? ('turn' as const) : ('none' as const);
    this.#marks = new GroupCommit(
      async (marks) => {
        const marked = new Map((await repo.markDelivered(this.#db, highestPerClient(marks.map((m) => [m.id, m.upto])))).map((c) => [c.id, c]));
        for (const m of marks) m.marked = marked.get(m.id) ?? null;
      },
      { maxBatch: Number.POSITIVE_INFINITY, collect },
    );
    this.#confirms = new GroupCommit(
      async (confirms) => {
        // One per client in each statement (each confirm is answered on its own seq).
        for (let left = confirms; left.length; ) {
          const once = new Map<number, Confirm>();
          const again: Confirm[] = [];
          for (const c of left) {
            if (once.has(c.id)) again.push(c);
            else once.set(c.id, c);
          }
          const moved = new Map(
            (
              await repo.confirm(
                this.#db,
                [...once.values()].map((c) => [c.id, c.hash, c.seq]),
              )
            ).map((r) => [r.id, r]),
          );
          for (const c of once.values()) c.moved = moved.get(c.id) ?? null;
          left = again;
        }
      },
      { maxBatch: Number.POSITIVE_INFINITY, collect },
    );
  }

  /**
   * Starts the window of recent changes: empty at the feed's latest change, then fed by this
   * process's commits and every process's bus events. After the bus comes back from an outage,
   * whatever it missed is found by reading the feed's latest change (pulls read the database until
   * the window has caught up).
   */
  async startWindow() {
    await this.#startEvents();
    if (!this.#window.enabled) return;
    const off = await this.#ctx.bus.subscribe(FEED_CHANNEL, (m) => {
      const e = m as FeedEvent;
      if (e.change && Number(e.change.seq) === Number(e.seq)) this.#window.add(e.change);
      else this.#window.know(Number(e.seq));
      if (this.#window.behind) this.#fill();
    });
    const offReconnect = this.#ctx.bus.onReconnect(() => void this.lastSeq().catch(() => {}));
    this.#stopWindow = async () => {
      offReconnect();
      await off();
    };
    this.#window.start(await repo.lastSeq(this.#db));
  }

  async stopWindow() {
    const stop = this.#stopWindow;
    this.#stopWindow = null;
    await stop?.();
    await this.#filling;
    const stopEvents = this.#stopEvents;
    this.#stopEvents = null;
    await stopEvents?.();
    this.#publishPositions();
  }

  /**
   * Other processes' revocations (this process forgets the key at once) and positions (the cursors
   * this process's pulls start from). After a bus outage every checked key is forgotten: a revocation
   * announced meanwhile was lost.
   */
  async #startEvents() {
    if (this.#stopEvents) return;
    const offRevoked = await this.#ctx.bus.subscribe(KEY_REVOKED_CHANNEL, (m) => this.#forget(Number((m as KeyRevokedEvent).id)));
    const offPositions = await this.#ctx.bus.subscribe(FEED_CLIENT_CHANNEL, (m) => {
      const e = m as PositionsEvent;
      if (e.origin === this.#origin || !Array.isArray(e.positions)) return;
      for (const [id, cursor, delivered] of e.positions) {
        const p: ClientPosition = { id: Number(id), cursor: Number(cursor), delivered_upto: Number(delivered) };
        this.#knowCursor(p.id, p.cursor);
        this.#tell(this.#positionListeners, p);
      }
    });
    const offReconnect = this.#ctx.bus.onReconnect(() => this.#keys.clear());
    this.#stopEvents = async () => {
      offReconnect();
      await offRevoked();
      await offPositions();
    };
  }

  /** Reads the feed after the window's last change until the window has every change this process knows of. */
  #fill() {
    // Only a window fed by the bus may answer: one that is not listening would not hear other processes' commits.
    if (this.#filling || !this.#stopWindow) return;
    this.#filling = (async () => {
      try {
        for (let rounds = 0; this.#window.behind && rounds < 100; rounds++) {
          const w = this.#window;
          if (w.upto < 0 || w.known - w.upto > this.#ctx.config.SYNC_FEED_WINDOW) {
            w.start(await repo.lastSeq(this.#db));
            continue;
          }
          const after = w.upto;
          const rows = await repo.changesAfter(this.#db, after, 1000);
          w.fill(after, rows.map(changeReply));
          if (!rows.length) break;
        }
      } catch (err) {
        this.#ctx.logger?.warn({ err: (err as Error).message }, 'could not read the change feed into memory');
      } finally {
        this.#filling = null;
      }
    })();
  }

  /** The /sync namespace this runtime attached, closed with it. */
  realtimeAttached(close: () => Promise<void>) {
    this.#closeRealtime = close;
  }

  async closeRealtime() {
    const close = this.#closeRealtime;
    this.#closeRealtime = null;
    await close?.();
  }

  get #db() {
    return this.#ctx.db.orm;
  }

  async ensureDefaultClient() {
    const key = this.#ctx.config.CLOUD_API_KEY;
    if (!key) return;
    const id = await repo.upsertDefaultClient(this.#db, hashKey(key), key.slice(0, 4));
    // Its key may have changed: other processes forget the one they had checked.
    if (id !== null) await this.#ctx.bus.publish(KEY_REVOKED_CHANNEL, { id } satisfies KeyRevokedEvent).catch(() => {});
  }

  /**
   * The client of a key presented by `address`, or a 401; after API_KEY_FAILURES_PER_MINUTE wrong keys
   * from one address in a minute, a 429 until the minute ends (so keys cannot be guessed at speed).
   */
  async authenticateFrom(key: string | undefined | null, address: string, onWait?: (seconds: number) => void): Promise<SyncClientRow> {
    if (!key) throw new AppError('sync.missing_api_key', 'Falta la API key (Authorization: Bearer <api key>) / Missing API key');
    const throttleKey = `api-key:${address}`;
    const wait = await this.#ctx.throttle.retryAfter(throttleKey);
    if (wait > 0) {
      onWait?.(wait);
      throw tooManyAttempts(wait);
    }
    const client = await this.authenticate(key);
    if (client) return client;
    await this.#ctx.throttle.fail(throttleKey, { kind: 'ceiling', max: this.#ctx.config.API_KEY_FAILURES_PER_MINUTE, windowSeconds: 60 });
    throw invalidKey();
  }

  /**
   * The active client a key belongs to, or null. The lookup is by hash; the final check is constant-time.
   * A key found active is kept in memory for SYNC_KEY_CACHE_SECONDS: a revocation (or a new default
   * key) is announced on the event bus and every process forgets the key at once; the time limit bounds
   * a lost announcement, and every key is forgotten when the bus comes back from an outage. Pulls and
   * confirms do not rely on this: their own statement checks that the key is still the client's and the
   * client is active (see `pull` and `confirm`), so a revoked key is refused by them at once anywhere.
   */
  async authenticate(key: string | undefined | null): Promise<SyncClientRow | null> {
    if (!key) return null;
    const hash = hashKey(key);
    const now = Date.now();
    const kept = this.#keys.get(hash);
    if (kept && kept.until > now) return kept.client;
    if (kept) this.#keys.delete(hash);
    const client = await repo.clientByHash(this.#db, hash);
    if (!client || client.revoked_at || !safeEqual(client.key_hash, hash)) return null;
    this.#knowCursor(client.id, Number(client.cursor));
    if (client.feed_last != null) this.#window.know(Number(client.feed_last));
    const seconds = this.#ctx.config.SYNC_KEY_CACHE_SECONDS;
    if (seconds > 0) {
      if (this.#keys.size >= KEY_CACHE_MAX) this.#keys.delete(this.#keys.keys().next().value!);
      this.#keys.set(hash, { client, until: now + seconds * 1000 });
    }
    return client;
  }

  /** Forgets a client's checked key (revoked, or its key replaced). */
  #forget(id: number) {
    for (const [hash, kept] of this.#keys) if (kept.client.id === id) this.#keys.delete(hash);
    this.#cursors.delete(id);
  }

  /** The highest cursor known for a client (cursors never move backwards). */
  #knowCursor(id: number, cursor: number) {
    if (cursor > (this.#cursors.get(id) ?? -1)) {
      if (this.#cursors.size >= KEY_CACHE_MAX && !this.#cursors.has(id)) this.#cursors.delete(this.#cursors.keys().next().value!);
      this.#cursors.set(id, cursor);
    }
  }

  async createOrder(input: OrderInput, createdBy: string) {
    const total = input.total ?? input.items.reduce((s, i) => s + i.quantity * i.price, 0);
    const result = await this.#db
      .transaction(async (tx) => {
        const order = await repo.insertOrder(tx, { ...input, total, created_by: createdBy });
        if (!order) return { order: (await repo.findOrderByRef(tx, input.external_ref!))!, change: null };
        const change = await repo.appendChange(tx, { entity: 'order', entity_id: String(order.id), op: 'created', data: orderReply(order) });
        return { order, change };
      })
      .catch((err: unknown) => {
        // The foreign key decides (no check-then-insert race with a user being removed).
        if (sqlState(err) === '23503' && input.customer_id != null) throw unknownCustomer(input.customer_id);
        throw err;
      });
    if (result.change !== null) this.#announce(result.change);
    return { order: result.order, created: result.change !== null };
  }

  async updateOrder(id: number, patch: { status?: 'pending' | 'confirmed' | 'completed'; items?: OrderInput['items']; notes?: string | null }) {
    return this.#change(id, 'updated', (o) => {
      if (o.status === 'cancelled') throw new AppError('sync.order_cancelled', `La orden ${id} está cancelada / Order is cancelled`, { order_id: id });
      const total = patch.items ? patch.items.reduce((s, i) => s + i.quantity * i.price, 0) : undefined;
      return { ...patch, total };
    });
  }

  async cancelOrder(id: number) {
    return this.#change(id, 'cancelled', (o) => {
      if (o.status === 'cancelled')
        throw new AppError('sync.order_already_cancelled', `La orden ${id} ya está cancelada / Order already cancelled`, { order_id: id });
      return { status: 'cancelled' };
    });
  }

  listOrders(f: { status?: string; limit: number; offset: number }) {
    return repo.listOrders(this.#db, f);
  }

  /**
   * The changes after the client's confirmed cursor, a page at a time. Recent changes come from the
   * window in memory when it can answer exactly as the feed would (and always when the event bus is
   * healthy and nothing is missing); otherwise from the database. The delivered mark is written,
   * together with other pulls' marks, before the page is answered: a confirm of anything in it, on
   * any process, finds it delivered.
   *
   * The page starts at the cursor this process knows for the client (`client` may be the row read when
   * its key was checked a while ago). The mark's statement reads the client's cursor, key and the
   * feed's latest seq as they are when the page is marked, after the pull began: a client revoked
   * meanwhile is refused; a cursor that moved (a confirm through another process) or a change that
   * committed through another process and that the window has not heard of yet make the page be taken
   * again from there (from memory if the window has it by then, else from the database) and marked
   * again. So a pull never misses a change committed before it began, whichever process answers it.
   */
  async pull(client: SyncClientRow, limit: number): Promise<{ reply: PullReply; json: string | null }> {
    let cursor = Math.max(Number(client.cursor), this.#cursors.get(client.id) ?? 0);
    for (let attempt = 0; ; attempt++) {
      const { changes, hasMore, fromMemory, seen } = await this.#page(cursor, limit);
      const last = changes.at(-1)?.seq ?? cursor;
      // Upto 0 only records that the client was seen.
      const mark: Mark = { id: client.id, upto: changes.length ? last : 0 };
      await this.#marks.add(mark);
      const now = mark.marked;
      if (!now || now.key_hash !== client.key_hash) {
        this.#forget(client.id);
        throw invalidKey();
      }
      const confirmed = Number(now.cursor);
      const feedLast = Number(now.feed_last ?? 0);
      this.#knowCursor(client.id, confirmed);
      this.#window.know(feedLast);
      if (attempt === 0 && (confirmed > cursor || feedLast > seen)) {
        cursor = Math.max(cursor, confirmed);
        if (this.#window.behind) this.#fill();
        continue;
      }
      if (changes.length) this.#announcePosition({ id: client.id, cursor, delivered_upto: last });
      const reply = { success: true as const, cursor, last_seq: last, has_more: hasMore, count: changes.length, changes };
      return { reply, json: fromMemory ? this.#encode(reply) : null };
    }
  }

  /**
   * The page after `cursor`, from the window when it can tell, else from the database; `seen` is the
   * highest seq the page accounts for (a change committed after it may be missing from a page from memory
   * that is not full; a page read from the database has everything committed before the read).
   */
  async #page(cursor: number, limit: number) {
    this.#window.know(cursor);
    const fromMemory = this.#stopWindow && this.#ctx.bus.health() === 'ok' ? this.#window.page(cursor, limit) : null;
    if (fromMemory) {
      syncPulls.inc({ source: 'memory' });
      return { ...fromMemory, fromMemory: true, seen: fromMemory.hasMore ? Number.POSITIVE_INFINITY : this.#window.upto };
    }
    if (this.#window.behind) this.#fill();
    const page = await repo.changesAfter(this.#db, cursor, limit + 1);
    syncPulls.inc({ source: 'database' });
    return { changes: page.slice(0, limit).map(changeReply), hasMore: page.length > limit, fromMemory: false, seen: Number.POSITIVE_INFINITY };
  }

  /**
   * A page from the window as the JSON the route's serializer would send (the contract's key order),
   * built from each change's JSON encoded once: a thousand clients pulling the same changes do not
   * encode them a thousand times. Null when a change does not match the contract (the serializer then
   * reports it).
   */
  #encode(r: PullReply): string | null {
    const parts: string[] = [];
    for (const c of r.changes) {
      let json = this.#encoded.get(c);
      if (json === undefined) {
        const encoded = safeEncode(changeSchema, JSON.parse(JSON.stringify(c)));
        json = encoded.error ? null : JSON.stringify(encoded.data);
        this.#encoded.set(c, json);
      }
      if (json === null) return null;
      parts.push(json);
    }
    return `{"success":true,"cursor":${r.cursor},"last_seq":${r.last_seq},"has_more":${r.has_more},"count":${r.count},"changes":[${parts.join(',')}]}`;
  }

  /**
   * Idempotent; never moves backwards; refuses what was never delivered. The statement moves the
   * cursor only while the key is still the client's and the client is active: a key revoked on any
   * process is refused here at once, whatever this process had kept of it.
   */
  async confirm(client: SyncClientRow, seq: number) {
    const pending: Confirm = { id: client.id, hash: client.key_hash, seq };
    await this.#confirms.add(pending);
    const updated = pending.moved;
    if (!updated) {
      const now = await repo.clientById(this.#db, client.id);
      if (!now || now.revoked_at || now.key_hash !== client.key_hash) {
        this.#forget(client.id);
        throw invalidKey();
      }
      const delivered = Number(now.delivered_upto);
      throw new AppError(
        'sync.seq_beyond_delivered',
        `seq ${seq} es mayor que lo entregado (${delivered}); confirme solo lo que recibió / beyond what was delivered`,
        { seq, delivered_upto: delivered },
      );
    }
    this.#knowCursor(client.id, Number(updated.cursor));
    this.#announcePosition({ id: client.id, cursor: Number(updated.cursor), delivered_upto: Number(updated.delivered_upto) });
    return { success: true as const, cursor: Number(updated.cursor), confirmed: seq };
  }

  async pendingOrders(clientId: number) {
    const client = (await repo.clientById(this.#db, clientId))!;
    return repo.pendingOrders(this.#db, Number(client.cursor), 500);
  }

  /** The feed's latest seq; the window learns of it too (a change whose event was lost is found this way). */
  async lastSeq() {
    const last = await repo.lastSeq(this.#db);
    this.#window.know(last);
    if (this.#window.behind) this.#fill();
    return last;
  }

  /** Where a client has confirmed (`cursor`) and pulled (`delivered_upto`) up to. */
  async position(id: number): Promise<ClientPosition | null> {
    const c = await repo.clientById(this.#db, id);
    return c ? { id, cursor: Number(c.cursor), delivered_upto: Number(c.delivered_upto) } : null;
  }

  /** `position` for many clients in one read. */
  async positions(ids: number[]): Promise<ClientPosition[]> {
    if (!ids.length) return [];
    const found = await repo.positions(this.#db, ids);
    return found.map((c) => ({ id: Number(c.id), cursor: Number(c.cursor), delivered_upto: Number(c.delivered_upto) }));
  }

  listClients() {
    return repo.listClients(this.#db);
  }

  async createClient(name: string) {
    const key = `pk_${randomBytes(24).toString('base64url')}`;
    const client = await repo.insertClient(this.#db, { name, key_hash: hashKey(key), key_prefix: key.slice(0, 7) });
    if (!client)
      throw new AppError('sync.client_name_taken', `Ya existe un cliente de sincronización llamado ${name} / A sync client with this name already exists`, {
        name,
      });
    return { client, key };
  }

  /** Revokes a client; every process forgets its key at once (the bus), or within SYNC_KEY_CACHE_SECONDS if the announcement is lost. */
  async revokeClient(id: number) {
    const revoked = await repo.revokeClient(this.#db, id);
    if (!revoked)
      throw new AppError('sync.client_not_found', `Cliente de sincronización ${id} no encontrado o ya revocado / Sync client not found or already revoked`, {
        client_id: id,
      });
    this.#forget(id);
    await this.#ctx.bus.publish(KEY_REVOKED_CHANNEL, { id } satisfies KeyRevokedEvent).catch(() => {});
    return revoked;
  }

  async touch(id: number) {
    await repo.touch(this.#db, id);
  }

  async #change(id: number, op: 'updated' | 'cancelled', patchOf: (o: OrderRow) => Parameters<typeof repo.updateOrder>[2]) {
    const { order, change } = await this.#db.transaction(async (tx) => {
      const current = await repo.getOrder(tx, id, true);
      if (!current) throw new AppError('sync.order_not_found', `Orden ${id} no encontrada / Order not found`, { order_id: id });
      const order = (await repo.updateOrder(tx, id, patchOf(current)))!;
      const change = await repo.appendChange(tx, { entity: 'order', entity_id: String(id), op, data: orderReply(order) });
      return { order, change };
    });
    this.#announce(change);
    return order;
  }

  /**
   * Hears every client's position (the /sync namespace does): this process's pulls and confirms as
   * they happen, other processes' as their batches arrive on the bus.
   */
  onPosition(listener: (p: ClientPosition) => void) {
    this.#positionListeners.add(listener);
    return () => void this.#positionListeners.delete(listener);
  }

  /**
   * Hears this process's commits that add a change, at once, from memory: the seq of the change, as soon
   * as its transaction has committed (before its event on the bus, and whether or not that event
   * arrives). Other processes' commits are heard from the bus (FEED_CHANNEL).
   */
  onCommit(listener: (seq: number) => void) {
    this.#commitListeners.add(listener);
    return () => void this.#commitListeners.delete(listener);
  }

  /**
   * Tells this process's listeners at once; other processes get it in the next POSITIONS_MS batch.
   * Best-effort, like every event: a lost one delays a notification until the reminder, nothing more.
   */
  #announcePosition(p: ClientPosition) {
    this.#tell(this.#positionListeners, p);
    const had = this.#positions.get(p.id);
    this.#positions.set(p.id, {
      id: p.id,
      cursor: Math.max(p.cursor, had?.cursor ?? 0),
      delivered_upto: Math.max(p.delivered_upto, had?.delivered_upto ?? 0),
    });
    if (!this.#positionsTimer) {
      this.#positionsTimer = setTimeout(() => this.#publishPositions(), POSITIONS_MS);
      this.#positionsTimer.unref();
    }
  }

  #publishPositions() {
    if (this.#positionsTimer) clearTimeout(this.#positionsTimer);
    this.#positionsTimer = null;
    if (!this.#positions.size) return;
    const positions = [...this.#positions.values()].map((p): [number, number, number] => [p.id, p.cursor, p.delivered_upto]);
    this.#positions = new Map();
    this.#ctx.bus.publish(FEED_CLIENT_CHANNEL, { origin: this.#origin, positions } satisfies PositionsEvent).catch(() => {});
  }

  /**
   * Calls each listener with `value`, best-effort like every event: the write that led here has
   * committed, and a listener's failure must not turn its reply into an error.
   */
  #tell<T>(listeners: Set<(value: T) => void>, value: T) {
    for (const listener of listeners) {
      try {
        listener(value);
      } catch (err) {
        this.#ctx.logger?.warn({ err: (err as Error).message }, 'a sync feed listener failed');
      }
    }
  }

  /**
   * After commit only: a change is never announced before it can be pulled. Not awaited: the commit
   * is what the caller is told about; a lost announcement is made good by the reminders (see
   * sync-feed.realtime.ts).
   */
  #announce(row: ChangeRow) {
    const change = changeReply(row);
    // This process's pulls see it at once (before any socket hears of it); other processes' from the event.
    this.#window.add(change);
    // This process's sockets are told from here, without waiting for the bus's round trip.
    this.#tell(this.#commitListeners, change.seq);
    this.#ctx.bus.publish(FEED_CHANNEL, { seq: change.seq, change } satisfies FeedEvent).catch(() => {});
  }
}

/** One mark per client, the highest: an UPDATE … FROM would apply only one of a client's rows. */
function highestPerClient(marks: [number, number][]): [number, number][] {
  const highest = new Map<number, number>();
  for (const [id, upto] of marks) highest.set(id, Math.max(highest.get(id) ?? 0, upto));
  return [...highest];
}
