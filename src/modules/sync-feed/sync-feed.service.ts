import { createHash, randomBytes } from 'node:crypto';
import type { AppContext } from '../../platform/context.ts';
import { safeEqual } from '../../platform/auth/passwords.ts';
import { AppError } from '../../platform/http/errors.ts';
import { tooManyAttempts } from '../../platform/auth/throttle.ts';
import { sqlState } from '../../platform/http/hostile-input.ts';
import type { Change, Order, SyncClient } from './sync-feed.contract.ts';
import { syncFeedRepository as repo, type OrderRow, type SyncClientRow } from './sync-feed.repository.ts';

/** What the service uses. */
export type SyncFeedDeps = Pick<AppContext, 'db' | 'bus' | 'config' | 'throttle'>;

export const FEED_CHANNEL = 'sync-feed:changed';
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
  constructor(ctx: SyncFeedDeps) {
    this.#ctx = ctx;
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
        if (!order) return { order: (await repo.findOrderByRef(tx, input.external_ref!))!, seq: null };
        const seq = await repo.appendChange(tx, { entity: 'order', entity_id: String(order.id), op: 'created', data: orderReply(order) });
        return { order, seq };
      })
      .catch((err: unknown) => {
        // The foreign key decides (no check-then-insert race with a user being removed).
        if (sqlState(err) === '23503' && input.customer_id != null) throw unknownCustomer(input.customer_id);
        throw err;
      });
    if (result.seq !== null) this.#announce(result.seq);
    return { order: result.order, created: result.seq !== null };
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

  /** The changes after the client's confirmed cursor, a page at a time. */
  async pull(client: SyncClientRow, limit: number) {
    const cursor = Number((await repo.clientById(this.#db, client.id))!.cursor);
    const page = await repo.changesAfter(this.#db, cursor, limit + 1);
    const hasMore = page.length > limit;
    // `data` is the order as the change stored it (orderReply's shape, as JSON).
    const changes: Change[] = page
      .slice(0, limit)
      .map((c) => ({ ...c, seq: Number(c.seq), op: c.op as Change['op'], data: c.data as Order, created_at: new Date(c.created_at).toISOString() }));
    const last = changes.at(-1)?.seq ?? cursor;
    if (changes.length) {
      await repo.markDelivered(this.#db, client.id, last);
      await this.#announcePosition({ id: client.id, cursor, delivered_upto: last });
    } else await repo.touch(this.#db, client.id);
    return { success: true as const, cursor, last_seq: last, has_more: hasMore, count: changes.length, changes };
  }

  /** Idempotent; never moves backwards; refuses what was never delivered. */
  async confirm(client: SyncClientRow, seq: number) {
    const fresh = (await repo.clientById(this.#db, client.id))!;
    if (seq > Number(fresh.delivered_upto)) {
      throw new AppError(
        'sync.seq_beyond_delivered',
        `seq ${seq} es mayor que lo entregado (${fresh.delivered_upto}); confirme solo lo que recibió / beyond what was delivered`,
        { seq, delivered_upto: Number(fresh.delivered_upto) },
      );
    }
    const updated = await repo.confirm(this.#db, client.id, seq);
    await this.#announcePosition({ id: client.id, cursor: Number(updated.cursor), delivered_upto: Number(updated.delivered_upto) });
    return { success: true as const, cursor: Number(updated.cursor), confirmed: seq };
  }

  async pendingOrders(clientId: number) {
    const client = (await repo.clientById(this.#db, clientId))!;
    return repo.pendingOrders(this.#db, Number(client.cursor), 500);
  }

  lastSeq() {
    return repo.lastSeq(this.#db);
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
    const { order, seq } = await this.#db.transaction(async (tx) => {
      const current = await repo.getOrder(tx, id, true);
      if (!current) throw new AppError('sync.order_not_found', `Orden ${id} no encontrada / Order not found`, { order_id: id });
      const order = (await repo.updateOrder(tx, id, patchOf(current)))!;
      const seq = await repo.appendChange(tx, { entity: 'order', entity_id: String(id), op, data: orderReply(order) });
      return { order, seq };
    });
    this.#announce(seq);
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
  #announce(seq: number) {
    this.#ctx.bus.publish(FEED_CHANNEL, { seq }).catch(() => {});
  }
}
