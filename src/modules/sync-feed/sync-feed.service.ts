import { createHash, randomBytes } from 'node:crypto';
import type { RuntimeContext } from '../../platform/context.ts';
import { safeEqual } from '../../platform/auth/passwords.ts';
import { AppError } from '../../platform/http/errors.ts';
import { tooManyAttempts } from '../../platform/auth/throttle.ts';
import { sqlState } from '../../platform/http/hostile-input.ts';
import { safeEncode } from 'zod/v4/core';
import { change as changeSchema, type Change, type Order, type PullReply, type SyncClient } from './sync-feed.contract.ts';
import { syncFeedRepository as repo, type ChangeRow, type OrderRow, type SyncClientRow } from './sync-feed.repository.ts';
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
/** Where a client has pulled and confirmed up to, announced after each pull and confirm (see sync-feed.realtime.ts). */
export const FEED_CLIENT_CHANNEL = 'sync-feed:client';
export interface ClientPosition {
  id: number;
  cursor: number;
  delivered_upto: number;
}
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
  readonly #marks: GroupCommit<[id: number, upto: number]>;
  /** Each change of the window as its reply's JSON, encoded once for every client (null: it does not match the contract). */
  readonly #encoded = new WeakMap<Change, string | null>();
  constructor(ctx: SyncFeedDeps) {
    this.#ctx = ctx;
    this.#window = new ChangeWindow(ctx.config.SYNC_FEED_WINDOW);
    this.#marks = new GroupCommit((marks) => repo.markDelivered(this.#db, highestPerClient(marks)), { maxBatch: Number.POSITIVE_INFINITY });
  }

  /**
   * Starts the window of recent changes: empty at the feed's latest change, then fed by this
   * process's commits and every process's bus events. After the bus comes back from an outage,
   * whatever it missed is found by reading the feed's latest change (pulls read the database until
   * the window has caught up).
   */
  async startWindow() {
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
    if (key) await repo.upsertDefaultClient(this.#db, hashKey(key), key.slice(0, 4));
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
    throw new AppError('sync.invalid_api_key', 'API key inválida o revocada (Authorization: Bearer <api key>) / Invalid or revoked API key');
  }

  /** The active client a key belongs to, or null. The lookup is by hash; the final check is constant-time. */
  async authenticate(key: string | undefined | null): Promise<SyncClientRow | null> {
    if (!key) return null;
    const hash = hashKey(key);
    const client = await repo.clientByHash(this.#db, hash);
    if (!client || client.revoked_at || !safeEqual(client.key_hash, hash)) return null;
    return client;
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
   * The changes after the client's confirmed cursor, a page at a time. `client` is the row read when
   * its key was checked for this request, so its cursor is current. Recent changes come from the
   * window in memory when it can answer exactly as the feed would (and always when the event bus is
   * healthy and nothing is missing); otherwise from the database. The delivered mark is written,
   * together with other pulls' marks, before the page is answered: a confirm of anything in it, on
   * any process, finds it delivered.
   */
  async pull(client: SyncClientRow, limit: number): Promise<{ reply: PullReply; json: string | null }> {
    const cursor = Number(client.cursor);
    this.#window.know(cursor);
    // The key check read the feed's latest change too: a change committed by another process whose
    // event has not arrived yet (or was lost) makes this pull read the database, never miss it.
    if (client.feed_last != null) this.#window.know(Number(client.feed_last));
    const fromMemory = this.#stopWindow && this.#ctx.bus.health() === 'ok' ? this.#window.page(cursor, limit) : null;
    let changes: Change[];
    let hasMore: boolean;
    if (fromMemory) {
      ({ changes, hasMore } = fromMemory);
      syncPulls.inc({ source: 'memory' });
    } else {
      if (this.#window.behind) this.#fill();
      const page = await repo.changesAfter(this.#db, cursor, limit + 1);
      hasMore = page.length > limit;
      changes = page.slice(0, limit).map(changeReply);
      syncPulls.inc({ source: 'database' });
    }
    const last = changes.at(-1)?.seq ?? cursor;
    // Upto 0 only records that the client was seen.
    await this.#marks.add([client.id, changes.length ? last : 0]);
    if (changes.length) await this.#announcePosition({ id: client.id, cursor, delivered_upto: last });
    const reply = { success: true as const, cursor, last_seq: last, has_more: hasMore, count: changes.length, changes };
    return { reply, json: fromMemory ? this.#encode(reply) : null };
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

  /** Idempotent; never moves backwards; refuses what was never delivered. */
  async confirm(client: SyncClientRow, seq: number) {
    const updated = await repo.confirm(this.#db, client.id, seq);
    if (!updated) {
      const delivered = Number((await repo.clientById(this.#db, client.id))!.delivered_upto);
      throw new AppError(
        'sync.seq_beyond_delivered',
        `seq ${seq} es mayor que lo entregado (${delivered}); confirme solo lo que recibió / beyond what was delivered`,
        { seq, delivered_upto: delivered },
      );
    }
    await this.#announcePosition({ id: client.id, cursor: Number(updated.cursor), delivered_upto: Number(updated.delivered_upto) });
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

  async revokeClient(id: number) {
    const revoked = await repo.revokeClient(this.#db, id);
    if (!revoked)
      throw new AppError('sync.client_not_found', `Cliente de sincronización ${id} no encontrado o ya revocado / Sync client not found or already revoked`, {
        client_id: id,
      });
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

  /** Best-effort, like every event: a lost one delays a notification until the reminder, nothing more. */
  async #announcePosition(p: ClientPosition) {
    await this.#ctx.bus.publish(FEED_CLIENT_CHANNEL, p).catch(() => {});
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
    this.#ctx.bus.publish(FEED_CHANNEL, { seq: change.seq, change } satisfies FeedEvent).catch(() => {});
  }
}

/** One mark per client, the highest: an UPDATE … FROM would apply only one of a client's rows. */
function highestPerClient(marks: [number, number][]): [number, number][] {
  const highest = new Map<number, number>();
  for (const [id, upto] of marks) highest.set(id, Math.max(highest.get(id) ?? 0, upto));
  return [...highest];
}
