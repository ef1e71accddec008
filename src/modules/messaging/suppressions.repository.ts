import { sql } from 'drizzle-orm';
import { json, rows, type Executor } from '../../platform/db/client.ts';

export interface SuppressionRow {
  phone: string;
  source: string;
  reason: string | null;
  device_id: number | null;
  created_at: Date;
}

export const suppressionsRepository = {
  async list(db: Executor, limit: number, offset: number) {
    const [items, [count]] = await Promise.all([
      rows<SuppressionRow>(db, sql`SELECT * FROM suppressions ORDER BY created_at DESC, phone LIMIT ${limit} OFFSET ${offset}`),
      rows<{ n: number }>(db, sql`SELECT count(*)::int AS n FROM suppressions`),
    ]);
    return { items, total: count?.n ?? 0 };
  },
  /** Adds numbers; one already there keeps its first source and time. Returns how many were new. */
  async add(db: Executor, entries: { phone: string; source: string; reason: string | null; device_id: number | null }[]) {
    if (!entries.length) return 0;
    const added = await rows<{ phone: string }>(
      db,
      sql`
      INSERT INTO suppressions (phone, source, reason, device_id)
      SELECT phone, source, reason, device_id FROM jsonb_to_recordset(${json(entries)}) AS e(phone text, source text, reason text, device_id int)
      ON CONFLICT (phone) DO NOTHING RETURNING phone`,
    );
    return added.length;
  },
  async get(db: Executor, phone: string) {
    const [row] = await rows<SuppressionRow>(db, sql`SELECT * FROM suppressions WHERE phone = ${phone}`);
    return row ?? null;
  },
  async remove(db: Executor, phone: string) {
    const [row] = await rows<{ phone: string }>(db, sql`DELETE FROM suppressions WHERE phone = ${phone} RETURNING phone`);
    return row !== undefined;
  },
  /** Which of these numbers are suppressed (for a preview). */
  async among(db: Executor, phones: string[]) {
    if (!phones.length) return new Set<string>();
    const found = await rows<{ phone: string }>(db, sql`SELECT phone FROM suppressions WHERE phone IN (SELECT jsonb_array_elements_text(${json(phones)}))`);
    return new Set(found.map((r) => r.phone));
  },
};
