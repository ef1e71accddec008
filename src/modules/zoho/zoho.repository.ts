import { sql } from 'drizzle-orm';
import { json, rows, type Executor } from '../../platform/db/client.ts';

export interface ZohoCodeRow {
  id: number;
  zoho_code: string;
  created_at: Date;
  expired_at: Date | null;
}
export interface TokenRow {
  id: string;
  access_token: string;
  api_domain: string | null;
  expires_at: Date;
}
export interface ProductInput {
  item_id: string;
  name: string;
  sku: string | null;
  rate: number | null;
  status: string;
  active: boolean;
  stock_on_hand: number | null;
  unit: string | null;
  description: string | null;
  last_modified_time: string | null;
}

/** A row of `products`; numeric columns may come back as strings. */
export interface ProductRow {
  id: number;
  item_id: string;
  name: string;
  sku: string | null;
  rate: string | number | null;
  status: string;
  active: boolean;
  stock_on_hand: string | number | null;
  unit: string | null;
  description: string | null;
  last_modified_time: Date | null;
  synced_at: Date;
}

export const zohoRepository = {
  // The seed's operations: create, active, active by value, expire, expire all, expire all except, history.
  async createZohoCode(db: Executor, code: string) {
    const [row] = await rows<ZohoCodeRow>(
      db,
      sql`
      INSERT INTO zoho_code (zoho_code) VALUES (${code})
      ON CONFLICT (zoho_code) DO UPDATE SET expired_at = NULL, created_at = now()
      RETURNING *`,
    );
    return row!;
  },
  async getActiveCode(db: Executor) {
    const [row] = await rows<ZohoCodeRow>(db, sql`SELECT * FROM zoho_code WHERE expired_at IS NULL ORDER BY created_at DESC, id DESC LIMIT 1`);
    return row ?? null;
  },
  async getActiveCodes(db: Executor) {
    return rows<ZohoCodeRow>(db, sql`SELECT * FROM zoho_code WHERE expired_at IS NULL`);
  },
  async expireAllExcept(db: Executor, keep: string) {
    await db.execute(sql`UPDATE zoho_code SET expired_at = now() WHERE expired_at IS NULL AND zoho_code <> ${keep}`);
  },
  async expireAllActiveCodes(db: Executor) {
    await db.execute(sql`UPDATE zoho_code SET expired_at = now() WHERE expired_at IS NULL`);
  },
  async getCodeHistory(db: Executor, limit: number) {
    return rows<ZohoCodeRow>(db, sql`SELECT * FROM zoho_code ORDER BY created_at DESC, id DESC LIMIT ${limit}`);
  },
  async countCodes(db: Executor) {
    const [row] = await rows<{ total: number; expired: number }>(
      db,
      sql`
      SELECT count(*)::int AS total, count(expired_at)::int AS expired FROM zoho_code`,
    );
    return row!;
  },
  async lockCodes(db: Executor) {
    await db.execute(sql`SELECT pg_advisory_xact_lock(727431004)`);
  },

  async lockToken(db: Executor, id: string) {
    await db.execute(sql`SELECT pg_advisory_xact_lock(hashtext(${'zoho-token:' + id}))`);
    const [row] = await rows<TokenRow>(db, sql`SELECT * FROM zoho_tokens WHERE id = ${id}`);
    return row ?? null;
  },
  async saveToken(db: Executor, t: { id: string; access_token: string; api_domain: string | null; expires_in: number }) {
    await db.execute(sql`
      INSERT INTO zoho_tokens (id, access_token, api_domain, expires_at) VALUES (${t.id}, ${t.access_token}, ${t.api_domain}, now() + make_interval(secs => ${t.expires_in}))
      ON CONFLICT (id) DO UPDATE SET access_token = EXCLUDED.access_token, api_domain = EXCLUDED.api_domain, expires_at = EXCLUDED.expires_at, refreshed_at = now()`);
  },
  /** Deletes the stored token if it is still the one read (`stored`: the value as kept, sealed). */
  async dropToken(db: Executor, id: string, stored: string) {
    await db.execute(sql`DELETE FROM zoho_tokens WHERE id = ${id} AND access_token = ${stored}`);
  },
  async allTokens(db: Executor) {
    return rows<{ id: string; access_token: string }>(db, sql`SELECT id, access_token FROM zoho_tokens`);
  },
  async replaceToken(db: Executor, id: string, before: string, after: string) {
    const done = await rows<{ id: string }>(db, sql`UPDATE zoho_tokens SET access_token = ${after} WHERE id = ${id} AND access_token = ${before} RETURNING id`);
    return done.length;
  },

  async upsertProducts(db: Executor, items: ProductInput[]) {
    if (!items.length) return 0;
    const result = await rows<{ id: number }>(
      db,
      sql`
      INSERT INTO products (item_id, name, sku, rate, status, active, stock_on_hand, unit, description, last_modified_time, synced_at)
      SELECT item_id, name, sku, rate, status, active, stock_on_hand, unit, description, last_modified_time, now()
      FROM jsonb_to_recordset(${json(items)}) AS r(item_id text, name text, sku text, rate numeric, status text, active boolean,
        stock_on_hand numeric, unit text, description text, last_modified_time timestamptz)
      ON CONFLICT (item_id) DO UPDATE SET name = EXCLUDED.name, sku = EXCLUDED.sku, rate = EXCLUDED.rate, status = EXCLUDED.status,
        active = EXCLUDED.active, stock_on_hand = EXCLUDED.stock_on_hand, unit = EXCLUDED.unit, description = EXCLUDED.description,
        last_modified_time = EXCLUDED.last_modified_time, synced_at = now()
      RETURNING id`,
    );
    return result.length;
  },
  async listProducts(db: Executor, f: { search?: string; active?: boolean; limit: number; offset: number }) {
    const pattern = f.search ? `%${f.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null;
    const where = sql`(${pattern}::text IS NULL OR name ILIKE ${pattern} OR sku ILIKE ${pattern}) AND (${f.active ?? null}::boolean IS NULL OR active = ${f.active ?? null})`;
    const [items, [count]] = await Promise.all([
      rows<ProductRow>(db, sql`SELECT * FROM products WHERE ${where} ORDER BY name, id LIMIT ${f.limit} OFFSET ${f.offset}`),
      rows<{ n: number }>(db, sql`SELECT count(*)::int AS n FROM products WHERE ${where}`),
    ]);
    return { items, total: count?.n ?? 0 };
  },
  async dbNow(db: Executor) {
    const [row] = await rows<{ now: Date }>(db, sql`SELECT now() AS now`);
    return row!.now;
  },
  /** Products no pass has written since `t` (the reconciliation's start), deleted ones aside. */
  async notSyncedSince(db: Executor, t: Date) {
    return (
      await rows<{ item_id: string }>(
        db,
        sql`SELECT item_id FROM products WHERE synced_at < ${t.toISOString()}::timestamptz AND status <> 'deleted' ORDER BY item_id`,
      )
    ).map((r) => r.item_id);
  },
  async countLive(db: Executor) {
    const [row] = await rows<{ n: number }>(db, sql`SELECT count(*)::int AS n FROM products WHERE status <> 'deleted'`);
    return row?.n ?? 0;
  },
  /** Items Zoho no longer has: kept (orders may name them), inactive and marked `deleted`. */
  async markDeleted(db: Executor, itemIds: string[]) {
    if (!itemIds.length) return;
    await db.execute(sql`
      UPDATE products SET status = 'deleted', active = false, synced_at = now()
      WHERE item_id = ANY(ARRAY(SELECT jsonb_array_elements_text(${json(itemIds)})))`);
  },
  async maxModified(db: Executor) {
    const [row] = await rows<{ t: Date | null }>(db, sql`SELECT max(last_modified_time) AS t FROM products`);
    return row?.t ?? null;
  },
};
