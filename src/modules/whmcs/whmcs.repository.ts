import { sql } from 'drizzle-orm';
import { json, rows, type Executor } from '../../platform/db/client.ts';

export interface SyncMapRow {
  id: number;
  entity_type: string;
  laravel_id: number;
  whmcs_id: number | null;
  sync_status: 'synced' | 'pending' | 'error';
  pending_action: string | null;
  last_error: string | null;
  last_synced_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface SyncLogInput {
  entity_type: string;
  laravel_id: number | null;
  whmcs_id: number | null;
  operation: string;
  action: string;
  status: 'success' | 'error';
  request_data: unknown;
  response_data: unknown;
  error_message: string | null;
  duration_ms: number;
  job_id: string | null;
}

export interface SyncLogRow extends SyncLogInput {
  id: number;
  created_at: Date;
}

export interface MapUpdate {
  laravel_id: number;
  whmcs_id: number | null;
  sync_status: 'synced' | 'pending' | 'error';
  pending_action: string | null;
  last_error: string | null;
}

export const whmcsRepository = {
  async find(db: Executor, entityType: string, laravelId: number) {
    const [row] = await rows<SyncMapRow>(db, sql`SELECT * FROM whmcs_sync_map WHERE entity_type = ${entityType} AND laravel_id = ${laravelId}`);
    return row ?? null;
  },

  async findByWhmcsId(db: Executor, entityType: string, whmcsId: number) {
    const [row] = await rows<SyncMapRow>(db, sql`SELECT * FROM whmcs_sync_map WHERE entity_type = ${entityType} AND whmcs_id = ${whmcsId}`);
    return row ?? null;
  },

  async findMany(db: Executor, entityType: string, laravelIds: number[]) {
    return rows<SyncMapRow>(
      db,
      sql`
      SELECT * FROM whmcs_sync_map WHERE entity_type = ${entityType}
        AND laravel_id = ANY(ARRAY(SELECT jsonb_array_elements_text(${json(laravelIds)})::int))`,
    );
  },

  async linkedLocalIds(db: Executor, entityType: string, whmcsIds: number[]) {
    return rows<{ laravel_id: number; whmcs_id: number }>(
      db,
      sql`
      SELECT laravel_id, whmcs_id FROM whmcs_sync_map WHERE entity_type = ${entityType}
        AND whmcs_id = ANY(ARRAY(SELECT jsonb_array_elements_text(${json(whmcsIds)})::int))`,
    );
  },

  /**
   * Writes map rows in one statement. A synced row stamps `last_synced_at`; an error keeps the WHMCS
   * id a row already had (a failed update does not unlink).
   */
  async upsert(db: Executor, entityType: string, updates: MapUpdate[]) {
    if (!updates.length) return [];
    return rows<SyncMapRow>(
      db,
      sql`
      INSERT INTO whmcs_sync_map (entity_type, laravel_id, whmcs_id, sync_status, pending_action, last_error, last_synced_at)
      SELECT ${entityType}, r.laravel_id, r.whmcs_id, r.sync_status, r.pending_action, r.last_error,
             CASE WHEN r.sync_status = 'synced' THEN now() END
      FROM jsonb_to_recordset(${json(updates)}) AS r(laravel_id int, whmcs_id int, sync_status text, pending_action text, last_error text)
      ON CONFLICT (entity_type, laravel_id) DO UPDATE SET
        whmcs_id = COALESCE(EXCLUDED.whmcs_id, whmcs_sync_map.whmcs_id),
        sync_status = EXCLUDED.sync_status,
        pending_action = EXCLUDED.pending_action,
        last_error = EXCLUDED.last_error,
        last_synced_at = COALESCE(EXCLUDED.last_synced_at, whmcs_sync_map.last_synced_at),
        updated_at = now()
      RETURNING *`,
    );
  },

  async remove(db: Executor, entityType: string, laravelId: number) {
    const [row] = await rows<SyncMapRow>(db, sql`DELETE FROM whmcs_sync_map WHERE entity_type = ${entityType} AND laravel_id = ${laravelId} RETURNING *`);
    return row ?? null;
  },

  async insertLogs(db: Executor, logs: SyncLogInput[]) {
    if (!logs.length) return;
    await db.execute(sql`
      INSERT INTO whmcs_sync_logs (entity_type, laravel_id, whmcs_id, operation, action, status, request_data, response_data, error_message, duration_ms, job_id)
      SELECT entity_type, laravel_id, whmcs_id, operation, action, status, request_data, response_data, error_message, duration_ms, job_id
      FROM jsonb_to_recordset(${json(logs)}) AS r(entity_type text, laravel_id int, whmcs_id int, operation text, action text, status text,
        request_data jsonb, response_data jsonb, error_message text, duration_ms numeric, job_id uuid)`);
  },

  async logs(
    db: Executor,
    f: { entity_type?: string; status?: string; operation?: string; laravel_id?: number; whmcs_id?: number; days: number; limit: number; offset: number },
  ) {
    const where = sql`created_at >= now() - make_interval(days => ${f.days})
      AND (${f.entity_type ?? null}::text IS NULL OR entity_type = ${f.entity_type ?? null})
      AND (${f.status ?? null}::text IS NULL OR status = ${f.status ?? null})
      AND (${f.operation ?? null}::text IS NULL OR operation = ${f.operation ?? null})
      AND (${f.laravel_id ?? null}::int IS NULL OR laravel_id = ${f.laravel_id ?? null})
      AND (${f.whmcs_id ?? null}::int IS NULL OR whmcs_id = ${f.whmcs_id ?? null})`;
    const [items, [count]] = await Promise.all([
      rows<SyncLogRow>(db, sql`SELECT * FROM whmcs_sync_logs WHERE ${where} ORDER BY created_at DESC, id DESC LIMIT ${f.limit} OFFSET ${f.offset}`),
      rows<{ n: number }>(db, sql`SELECT count(*)::int AS n FROM whmcs_sync_logs WHERE ${where}`),
    ]);
    return { items, total: count?.n ?? 0 };
  },

  async stats(db: Executor) {
    const [totals] = await rows<{ synced: number; pending: number; errors: number }>(
      db,
      sql`
      SELECT count(*) FILTER (WHERE sync_status = 'synced')::int AS synced,
             count(*) FILTER (WHERE sync_status = 'pending')::int AS pending,
             count(*) FILTER (WHERE sync_status = 'error')::int AS errors
      FROM whmcs_sync_map`,
    );
    const byType = await rows<{ entity_type: string; n: number }>(
      db,
      sql`
      SELECT entity_type, count(*)::int AS n FROM whmcs_sync_map WHERE sync_status = 'synced' GROUP BY entity_type ORDER BY entity_type`,
    );
    const [last] = await rows<{ at: Date | null }>(db, sql`SELECT max(created_at) AS at FROM whmcs_sync_logs`);
    return { totals: totals!, byType, lastActivity: last?.at ?? null };
  },

  /** Which of these local ids have a WHMCS record linked (a map row whose push failed has none). */
  async linkedAmong(db: Executor, entityType: string, laravelIds: number[]) {
    if (!laravelIds.length) return new Set<number>();
    const found = await rows<{ laravel_id: number }>(
      db,
      sql`
      SELECT laravel_id FROM whmcs_sync_map WHERE entity_type = ${entityType} AND whmcs_id IS NOT NULL
        AND laravel_id = ANY(ARRAY(SELECT jsonb_array_elements_text(${json(laravelIds)})::int))`,
    );
    return new Set(found.map((r) => r.laravel_id));
  },

  /** Every local id with a WHMCS record linked. */
  async linkedIds(db: Executor, entityType: string) {
    const found = await rows<{ laravel_id: number }>(db, sql`SELECT laravel_id FROM whmcs_sync_map WHERE entity_type = ${entityType} AND whmcs_id IS NOT NULL`);
    return found.map((r) => r.laravel_id);
  },
};
