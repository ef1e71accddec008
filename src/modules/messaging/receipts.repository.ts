import { sql } from 'drizzle-orm';
import { json, rows, type Executor } from '../../platform/db/client.ts';

/** A receipt reduced to what moves a recipient: 1 sent, 2 delivered, 3 read, -1 failed (with the provider's words). */
export interface ReceiptRow {
  device_id: number;
  id: string;
  rank: 1 | 2 | 3 | -1;
  error: string | null;
}
export interface JobReceipts {
  delivered: number;
  read: number;
  failed_after_send: number;
}
export interface Applied {
  /** (device, id) pairs no recipient has yet: kept a moment (the send's outcome may not be written yet), then dropped. */
  unmatched: { device_id: number; id: string }[];
  /** Per job: its receipt counters after this batch. */
  jobs: { job_id: string; delivered: number; read: number; failed_after_send: number }[];
  /** Per device: recipients this batch moved to delivered/read (`ok`) or failed (`failed`). */
  devices: { device_id: number; ok: number; failed: number }[];
}

export const receiptsRepository = {
  /**
   * Moves recipients forward only (sent → delivered → read; sent → failed; a failure reported before
   * a delivery or read receipt gives way to it) in one statement for the whole batch, and adds what moved to each job's counters in the same transaction. Receipts that
   * would move a recipient back or sideways (a late `delivered` after `read`, a repeat) change nothing.
   */
  async apply(db: Executor, batch: ReceiptRow[]): Promise<Applied> {
    const [row] = await rows<{ result: Applied }>(
      db,
      sql`
      WITH r AS (
        SELECT * FROM jsonb_to_recordset(${json(batch)}) AS r(device_id int, id text, rank int, error text)
      ), hit AS (
        SELECT m.job_id, m.seq, m.device_id, m.status AS before, m.failed_after_send AS was_failed, r.id AS rid, r.rank, r.error
        FROM r JOIN message_recipients m ON m.provider_message_id = r.id AND m.device_id = r.device_id
        ORDER BY m.job_id, m.seq
        FOR UPDATE OF m
      ), upd AS (
        UPDATE message_recipients m SET
          status = CASE hit.rank WHEN 2 THEN 'delivered' WHEN 3 THEN 'read' ELSE 'failed' END,
          failed_after_send = hit.rank = -1,
          error = CASE WHEN hit.rank = -1 THEN hit.error ELSE m.error END,
          delivered_at = CASE WHEN hit.rank >= 2 THEN COALESCE(m.delivered_at, now()) ELSE m.delivered_at END,
          read_at = CASE WHEN hit.rank = 3 THEN now() ELSE m.read_at END,
          updated_at = now()
        FROM hit
        WHERE m.job_id = hit.job_id AND m.seq = hit.seq
          AND ((hit.rank = -1 AND hit.before = 'sent')
            OR (hit.rank = 2 AND (hit.before = 'sent' OR (hit.before = 'failed' AND hit.was_failed)))
            OR (hit.rank = 3 AND (hit.before IN ('sent', 'delivered') OR (hit.before = 'failed' AND hit.was_failed))))
        RETURNING m.job_id, m.device_id, hit.before, m.status
      ), agg AS (
        -- A delivery or read receipt proves the message arrived, even after a failure was reported
        -- (receipts can cross): that failure is taken back, so the outcome is the same in any order.
        SELECT job_id,
               count(*) FILTER (WHERE before IN ('sent', 'failed') AND status IN ('delivered', 'read'))::int AS d,
               count(*) FILTER (WHERE status = 'read')::int AS rd,
               (count(*) FILTER (WHERE status = 'failed') - count(*) FILTER (WHERE before = 'failed'))::int AS f
        FROM upd GROUP BY job_id
      ), counters AS (
        INSERT INTO message_job_receipts AS t (job_id, delivered, read, failed_after_send, last_receipt_at)
        SELECT job_id, d, rd, f, now() FROM agg
        ON CONFLICT (job_id) DO UPDATE SET delivered = t.delivered + EXCLUDED.delivered, read = t.read + EXCLUDED.read,
          failed_after_send = t.failed_after_send + EXCLUDED.failed_after_send, last_receipt_at = now()
        RETURNING t.job_id, t.delivered, t.read, t.failed_after_send
      )
      SELECT jsonb_build_object(
        'unmatched', COALESCE((SELECT jsonb_agg(jsonb_build_object('device_id', r.device_id, 'id', r.id)) FROM r
                               WHERE NOT EXISTS (SELECT 1 FROM hit WHERE hit.device_id = r.device_id AND hit.rid = r.id)), '[]'::jsonb),
        'jobs', COALESCE((SELECT jsonb_agg(jsonb_build_object('job_id', c.job_id, 'delivered', c.delivered, 'read', c.read,
                          'failed_after_send', c.failed_after_send)) FROM counters c), '[]'::jsonb),
        'devices', COALESCE((SELECT jsonb_agg(jsonb_build_object('device_id', device_id, 'ok', ok, 'failed', failed)) FROM (
                          SELECT device_id, count(*) FILTER (WHERE status <> 'failed')::int AS ok, count(*) FILTER (WHERE status = 'failed')::int AS failed
                          FROM upd GROUP BY device_id) x), '[]'::jsonb)
      ) AS result`,
    );
    return row!.result;
  },

  /**
   * Brings each job's counters (progress, and results once it has them) up to date with its
   * receipts. Whoever wrote them (the dispatcher or this) wrote `sent` and `failed_after_send`
   * together, so `sent + failed_after_send` is what providers accepted and `failed −
   * failed_after_send` what they refused at the send: both are rebuilt with the current receipt
   * counters, never shifted by a delta (a delta would count twice a failure the dispatcher had
   * already read).
   */
  async refreshJobs(db: Executor, jobs: Applied['jobs']) {
    if (!jobs.length) return [];
    const merged = (col: 'progress' | 'results') => {
      const c = sql.raw(`j.${col}`);
      return sql`${c} || jsonb_build_object('delivered', c.delivered, 'read', c.read, 'failed_after_send', c.failed_after_send,
        'sent', COALESCE((${c}->>'sent')::int, 0) + COALESCE((${c}->>'failed_after_send')::int, 0) - c.failed_after_send,
        'failed', COALESCE((${c}->>'failed')::int, 0) - COALESCE((${c}->>'failed_after_send')::int, 0) + c.failed_after_send)`;
    };
    return rows<{ id: string; progress: Record<string, unknown>; results: Record<string, unknown>; status: string }>(
      db,
      sql`
      UPDATE jobs j SET
        progress = ${merged('progress')},
        results = CASE WHEN j.results = '{}'::jsonb THEN j.results ELSE ${merged('results')} END
      FROM jsonb_to_recordset(${json(jobs)}) AS c(job_id uuid, delivered int, read int, failed_after_send int)
      WHERE j.id = c.job_id
      RETURNING j.id, j.progress, j.results, j.status`,
    );
  },

  async forJob(db: Executor, jobId: string): Promise<JobReceipts> {
    const [row] = await rows<JobReceipts>(db, sql`SELECT delivered, read, failed_after_send FROM message_job_receipts WHERE job_id = ${jobId}`);
    return row ?? { delivered: 0, read: 0, failed_after_send: 0 };
  },

  async countUnknown(db: Executor, perDevice: Map<number, number>) {
    for (const [id, n] of perDevice) await db.execute(sql`UPDATE devices SET receipts_unknown = receipts_unknown + ${n} WHERE id = ${id}`);
  },

  async deleteForJob(db: Executor, jobId: string) {
    await db.execute(sql`DELETE FROM message_job_receipts WHERE job_id = ${jobId}`);
  },
};
