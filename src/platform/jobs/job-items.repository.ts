import { sql } from 'drizzle-orm';
import { copyInTransaction, copyText, rows, type Executor, type Tx } from '../db/client.ts';

export interface JobItemInput {
  /** Unique within the job (a Wispro id, a user id): recording it again replaces the outcome. */
  key: string;
  status: string;
  /** Stable, for grouping (`wispro.duplicate_id_number`); the reason is the readable text. */
  reasonCode?: string | null;
  reason?: string | null;
  /** A name a person recognises (the customer's name). */
  label?: string | null;
  data?: Record<string, unknown>;
}
export interface JobItemRow {
  item_key: string;
  seq: number;
  status: string;
  reason_code: string | null;
  reason: string | null;
  label: string | null;
  data: Record<string, unknown>;
  updated_at: Date;
}

/** `v` without NUL: PostgreSQL text cannot hold it, and an upstream record may carry it (a name with `\u0000`). */
const withoutNul = (v: string) => (v.includes('\u0000') ? v.replaceAll('\u0000', '') : v);

/**
 * `v` as JSON text without NUL. Serialised once; only text that has one is serialised again without
 * it (JSON writes NUL only as that escape).
 */
const jsonTextWithoutNul = (v: unknown) => {
  const text = JSON.stringify(v);
  return text.includes('\\u0000') ? JSON.stringify(v, (_k, x) => (typeof x === 'string' ? withoutNul(x) : x)) : text;
};

/** Items as a jsonb parameter, without NUL (see `jsonTextWithoutNul`). */
const jsonWithoutNul = (items: unknown[]) => sql`${jsonTextWithoutNul(items)}::jsonb`;

/** A string for COPY's text format without NUL, or null. */
const copyField = (v: string | null | undefined) => copyText(v == null ? null : withoutNul(v));

export const jobItemsRepository = {
  /**
   * Records items of keys the job has not recorded yet, with one COPY inside `tx` (see
   * `copyInTransaction`). A key already recorded (or twice in `items`) is refused by the primary key
   * (23505) and fails `tx`: for a step whose keys are almost always new, which redoes its work with
   * `record` (it replaces earlier outcomes) when that happens.
   */
  async copyNew(tx: Tx, jobId: string, items: JobItemInput[]) {
    if (!items.length) return;
    let text = '';
    for (const i of items) {
      const data = i.data ? jsonTextWithoutNul(i.data) : '{}';
      text += `${jobId}\t${copyField(i.key)}\t${copyField(i.status)}\t${copyField(i.reasonCode)}\t${copyField(i.reason)}\t${copyField(i.label)}\t${copyText(data)}\n`;
    }
    await copyInTransaction(tx, 'job_items (job_id, item_key, status, reason_code, reason, label, data)', text);
  },

  /** Records items in one statement, replacing earlier outcomes of the same keys (NUL removed from strings). */
  async record(db: Executor, jobId: string, items: JobItemInput[]) {
    if (!items.length) return;
    await db.execute(sql`
      INSERT INTO job_items (job_id, item_key, status, reason_code, reason, label, data)
      SELECT ${jobId}::uuid, i.key, i.status, i."reasonCode", i.reason, i.label, COALESCE(i.data, '{}'::jsonb)
      FROM jsonb_to_recordset(${jsonWithoutNul(items)}) AS i(key text, status text, "reasonCode" text, reason text, label text, data jsonb)
      ON CONFLICT (job_id, item_key) DO UPDATE SET status = EXCLUDED.status, reason_code = EXCLUDED.reason_code, reason = EXCLUDED.reason,
        label = EXCLUDED.label, data = EXCLUDED.data, updated_at = now()`);
  },

  async page(db: Executor, jobId: string, f: { status?: string; reason?: string; limit: number; offset: number }) {
    return rows<JobItemRow>(
      db,
      sql`
      SELECT item_key, seq, status, reason_code, reason, label, data, updated_at FROM job_items
      WHERE job_id = ${jobId} AND (${f.status ?? null}::text IS NULL OR status = ${f.status ?? null})
        AND (${f.reason ?? null}::text IS NULL OR reason_code = ${f.reason ?? null})
      ORDER BY seq LIMIT ${f.limit} OFFSET ${f.offset}`,
    );
  },

  async count(db: Executor, jobId: string, f: { status?: string; reason?: string }) {
    const [row] = await rows<{ n: number }>(
      db,
      sql`
      SELECT count(*)::int AS n FROM job_items
      WHERE job_id = ${jobId} AND (${f.status ?? null}::text IS NULL OR status = ${f.status ?? null})
        AND (${f.reason ?? null}::text IS NULL OR reason_code = ${f.reason ?? null})`,
    );
    return row?.n ?? 0;
  },

  /** Reasons of the items in `statuses`, most frequent first. */
  async reasons(db: Executor, jobId: string, statuses: string[]) {
    return rows<{ reason_code: string | null; reason: string | null; n: number }>(
      db,
      sql`
      SELECT reason_code, min(reason) AS reason, count(*)::int AS n FROM job_items
      WHERE job_id = ${jobId} AND status IN (${sql.join(
        statuses.map((s) => sql`${s}`),
        sql`, `,
      )})
      GROUP BY reason_code ORDER BY n DESC, reason_code LIMIT 200`,
    );
  },
};
