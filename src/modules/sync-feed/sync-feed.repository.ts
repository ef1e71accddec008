import { sql } from 'drizzle-orm';
import { json, rows, type Executor } from '../../platform/db/client.ts';

export interface OrderRow {
  id: number;
  external_ref: string | null;
  customer_id: number | null;
  status: string;
  items: unknown[];
  total: string;
  notes: string | null;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
}
export interface ChangeRow {
  seq: string;
  entity: string;
  entity_id: string;
  op: string;
  data: unknown;
  created_at: Date;
}
export interface SyncClientRow {
  id: number;
  name: string;
  key_hash: string;
  key_prefix: string;
  cursor: string;
  delivered_upto: string;
  is_default: boolean;
  revoked_at: Date | null;
  last_seen_at: Date | null;
  created_at: Date;
  /** The feed's latest seq when the row was read by its key (`clientByHash`): what a pull must not miss. */
  feed_last?: string | null;
}

/** A client as the delivered-mark statement leaves it (see `markDelivered`). */
export interface MarkedClient {
  id: number;
  cursor: string;
  key_hash: string;
  feed_last: string | null;
}

const FEED_LOCK = 727_431_002;

export const syncFeedRepository = {
  async insertOrder(
    db: Executor,
    o: { external_ref?: string | null; customer_id?: number | null; items: unknown[]; total: number; notes?: string | null; created_by: string },
  ) {
    const [row] = await rows<OrderRow>(
      db,
      sql`
      INSERT INTO orders (external_ref, customer_id, items, total, notes, created_by)
      VALUES (${o.external_ref ?? null}, ${o.customer_id ?? null}, ${json(o.items)}, ${o.total}, ${o.notes ?? null}, ${o.created_by})
      ON CONFLICT (external_ref) DO NOTHING
      RETURNING *`,
    );
    return row ?? null;
  },

  async findOrderByRef(db: Executor, ref: string) {
    const [row] = await rows<OrderRow>(db, sql`SELECT * FROM orders WHERE external_ref = ${ref}`);
    return row ?? null;
  },

  async getOrder(db: Executor, id: number, forUpdate = false) {
    const [row] = await rows<OrderRow>(db, forUpdate ? sql`SELECT * FROM orders WHERE id = ${id} FOR UPDATE` : sql`SELECT * FROM orders WHERE id = ${id}`);
    return row ?? null;
  },

  async updateOrder(db: Executor, id: number, patch: { status?: string; items?: unknown[]; total?: number; notes?: string | null }) {
    const [row] = await rows<OrderRow>(
      db,
      sql`
      UPDATE orders SET
        status = COALESCE(${patch.status ?? null}, status),
        items = COALESCE(${patch.items === undefined ? null : JSON.stringify(patch.items)}::jsonb, items),
        total = COALESCE(${patch.total ?? null}::numeric, total),
        notes = CASE WHEN ${patch.notes !== undefined} THEN ${patch.notes ?? null} ELSE notes END,
        updated_at = now()
      WHERE id = ${id} RETURNING *`,
    );
    return row ?? null;
  },

  async listOrders(db: Executor, f: { status?: string; limit: number; offset: number }) {
    const where = sql`(${f.status ?? null}::text IS NULL OR status = ${f.status ?? null})`;
    const [items, [count]] = await Promise.all([
      rows<OrderRow>(db, sql`SELECT * FROM orders WHERE ${where} ORDER BY id DESC LIMIT ${f.limit} OFFSET ${f.offset}`),
      rows<{ n: number }>(db, sql`SELECT count(*)::int AS n FROM orders WHERE ${where}`),
    ]);
    return { items, total: count?.n ?? 0 };
  },

  /**
   * Appends a change under a lock held until commit, so changes commit in `seq` order (the in-memory
   * window of recent changes relies on it). Returns the row as a read of the feed would.
   */
  async appendChange(db: Executor, c: { entity: string; entity_id: string; op: string; data: unknown }) {
    await db.execute(sql`SELECT pg_advisory_xact_lock(${FEED_LOCK})`);
    const [row] = await rows<ChangeRow>(
      db,
      sql`
      INSERT INTO sync_changes (entity, entity_id, op, data) VALUES (${c.entity}, ${c.entity_id}, ${c.op}, ${json(c.data)}) RETURNING *`,
    );
    return row!;
  },

  async changesAfter(db: Executor, after: number, limit: number) {
    return rows<ChangeRow>(db, sql`SELECT * FROM sync_changes WHERE seq > ${after} ORDER BY seq LIMIT ${limit}`);
  },

  async lastSeq(db: Executor) {
    const [row] = await rows<{ seq: string | null }>(db, sql`SELECT max(seq) AS seq FROM sync_changes`);
    return Number(row?.seq ?? 0);
  },

  async pendingOrders(db: Executor, after: number, limit: number) {
    return rows<OrderRow>(
      db,
      sql`
      SELECT * FROM orders WHERE id IN (
        SELECT entity_id::int FROM sync_changes WHERE entity = 'order' AND seq > ${after})
      ORDER BY id LIMIT ${limit}`,
    );
  },

  async clientByHash(db: Executor, hash: string) {
    const [row] = await rows<SyncClientRow>(db, sql`SELECT c.*, (SELECT max(seq) FROM sync_changes) AS feed_last FROM sync_clients c WHERE key_hash = ${hash}`);
    return row ?? null;
  },

  async clientById(db: Executor, id: number) {
    const [row] = await rows<SyncClientRow>(db, sql`SELECT * FROM sync_clients WHERE id = ${id}`);
    return row ?? null;
  },

  async positions(db: Executor, ids: number[]) {
    return rows<{ id: number; cursor: string; delivered_upto: string }>(
      db,
      sql`
      SELECT id, cursor, delivered_upto FROM sync_clients WHERE id = ANY(ARRAY(SELECT jsonb_array_elements_text(${json(ids)})::int))`,
    );
  },

  async listClients(db: Executor) {
    return rows<SyncClientRow>(db, sql`SELECT * FROM sync_clients ORDER BY id`);
  },

  async insertClient(db: Executor, c: { name: string; key_hash: string; key_prefix: string; is_default?: boolean }) {
    const [row] = await rows<SyncClientRow>(
      db,
      sql`
      INSERT INTO sync_clients (name, key_hash, key_prefix, is_default) VALUES (${c.name}, ${c.key_hash}, ${c.key_prefix}, ${c.is_default ?? false})
      ON CONFLICT (name) DO NOTHING RETURNING *`,
    );
    return row ?? null;
  },

  /**
   * The CLOUD_API_KEY client: created once, its key kept in step with the environment. Revoked, it stays
   * revoked across restarts while the key is the same; only a new CLOUD_API_KEY brings it back.
   */
  async upsertDefaultClient(db: Executor, hash: string, prefix: string) {
    const [row] = await rows<{ id: number }>(
      db,
      sql`
      INSERT INTO sync_clients (name, key_hash, key_prefix, is_default) VALUES ('default', ${hash}, ${prefix}, true)
      ON CONFLICT (name) DO UPDATE SET key_hash = EXCLUDED.key_hash, key_prefix = EXCLUDED.key_prefix,
        revoked_at = CASE WHEN sync_clients.key_hash = EXCLUDED.key_hash THEN sync_clients.revoked_at ELSE NULL END
      RETURNING id`,
    );
    return row?.id ?? null;
  },

  async revokeClient(db: Executor, id: number) {
    const [row] = await rows<SyncClientRow>(db, sql`UPDATE sync_clients SET revoked_at = now() WHERE id = ${id} AND revoked_at IS NULL RETURNING *`);
    return row ?? null;
  },

  /**
   * Many clients' delivered marks (and last seen) in one statement: `[client id, delivered up to]` pairs.
   * Only active clients are marked. Returns, for each client marked, what a pull answered from memory
   * must check after the fact: its confirmed cursor and key hash now, and the feed's latest seq read by
   * the same statement (a revoked client is absent).
   */
  async markDelivered(db: Executor, marks: [number, number][]) {
    return rows<MarkedClient>(
      db,
      sql`
      UPDATE sync_clients AS c SET delivered_upto = GREATEST(c.delivered_upto, v.upto), last_seen_at = now()
      FROM (SELECT (e->>0)::int AS id, (e->>1)::bigint AS upto FROM jsonb_array_elements(${json(marks)}) AS e) AS v
      WHERE c.id = v.id AND c.revoked_at IS NULL
      RETURNING c.id, c.cursor, c.key_hash, (SELECT max(seq) FROM sync_changes) AS feed_last`,
    );
  },

  /**
   * Many confirms in one statement, at most one per client: `[client id, key hash, seq]`. Each moves
   * the cursor forward only, and only up to what was delivered, for an active client whose key is
   * still that hash. Returns the clients it moved (or found already there) as they are after the
   * update; a confirm absent from the answer was beyond what was delivered, or its key is no longer
   * valid (`clientById` tells which).
   */
  async confirm(db: Executor, confirms: [id: number, hash: string, seq: number][]) {
    return rows<{ id: number; cursor: string; delivered_upto: string }>(
      db,
      sql`
      UPDATE sync_clients AS c SET cursor = GREATEST(c.cursor, v.seq), last_seen_at = now()
      FROM (SELECT (e->>0)::int AS id, e->>1 AS hash, (e->>2)::bigint AS seq FROM jsonb_array_elements(${json(confirms)}) AS e) AS v
      WHERE c.id = v.id AND c.key_hash = v.hash AND c.revoked_at IS NULL AND c.delivered_upto >= v.seq
      RETURNING c.id, c.cursor, c.delivered_upto`,
    );
  },

  async touch(db: Executor, id: number) {
    await db.execute(sql`UPDATE sync_clients SET last_seen_at = now() WHERE id = ${id}`);
  },
};
