import { sql } from 'drizzle-orm';
import { copyText, json, rows, type Database, type Executor } from '../../platform/db/client.ts';
import type { ParsedRow } from './bulk-file.parser.ts';

export interface ClaimedRow {
  seq: number;
  phone: string;
  vals: string;
  attempts: number;
}
export interface RecipientResult {
  seq: number;
  status: 'sent' | 'failed' | 'queued' | 'uncertain';
  device_id: number;
  provider_message_id: string | null;
  error: string | null;
  /** For `queued` (a retry): seconds to wait; a device hand-over requeues at once. */
  retry_in: number | null;
  /** A hand-over to another device does not count as an attempt. */
  refund_attempt: boolean;
}
export interface ResultRow {
  seq: number;
  phone: string | null;
  raw_phone: string;
  status: string;
  device_id: number | null;
  provider_message_id: string | null;
  error: string | null;
  attempts: number;
  updated_at: Date | null;
  failed_after_send: boolean;
  delivered_at: Date | null;
  read_at: Date | null;
}
/**
 * What the dispatcher counts: `sent` is every message a provider accepted (whatever its receipts said
 * since), `failed` those refused at the send. Receipts are added on top by `progressOf`.
 */
export interface Counts {
  sent: number;
  failed: number;
  uncertain: number;
  queued: number;
  sending: number;
  suppressed: number;
  total: number;
}

/**
 * A recipient's outcome as a stable code to group failures by. Providers word the same problem
 * differently (Cloud API 131026, Evolution `exists:false`, WAHA and the simulator in words).
 */
const REASON_CODE = sql`CASE
  WHEN r.status = 'uncertain' THEN 'messaging.uncertain'
  WHEN r.status = 'suppressed' THEN 'messaging.suppressed'
  WHEN r.phone IS NULL THEN 'messaging.invalid_number'
  WHEN r.status IN ('queued', 'sending') THEN 'messaging.not_sent'
  WHEN r.status IN ('sent', 'delivered', 'read') THEN NULL
  WHEN r.error LIKE 'mensaje demasiado largo:%' THEN 'messaging.too_long'
  WHEN r.error ~* '131026|not_on_whatsapp|not registered on WhatsApp|no tiene WhatsApp|not a valid WhatsApp|has no WhatsApp' THEN 'messaging.not_on_whatsapp'
  WHEN r.error ~* '131047|re-engagement|24 ?h|fuera de la ventana' THEN 'messaging.outside_window'
  WHEN r.error ~* 'template|plantilla|132' THEN 'messaging.template'
  WHEN r.error ~* 'too long|must be at most' THEN 'messaging.too_long'
  ELSE 'messaging.provider_error'
END`;

export interface ItemRow extends ResultRow {
  vals: string;
  device_name: string | null;
  reason_code: string | null;
}
const FAILED = ['failed', 'uncertain'];
const SUPPRESSED = 'número dado de baja / suppressed number';

export const recipientsRepository = {
  /** A page of recipients with the device's name and a reason code, filtered by status or code. */
  async items(db: Executor, jobId: string, f: { status?: string; reason?: string; limit: number; offset: number }) {
    return rows<ItemRow>(
      db,
      sql`
      SELECT * FROM (
        SELECT r.seq, r.phone, r.raw_phone, r.vals, r.status, r.device_id, d.name AS device_name, r.provider_message_id,
               r.error, r.attempts, r.updated_at, ${REASON_CODE} AS reason_code, r.failed_after_send, r.delivered_at, r.read_at
        FROM message_recipients r LEFT JOIN devices d ON d.id = r.device_id
        WHERE r.job_id = ${jobId} AND (${f.status ?? null}::text IS NULL OR r.status = ${f.status ?? null})) i
      WHERE (${f.reason ?? null}::text IS NULL OR i.reason_code = ${f.reason ?? null})
      ORDER BY seq LIMIT ${f.limit} OFFSET ${f.offset}`,
    );
  },

  async countItems(db: Executor, jobId: string, f: { status?: string; reason?: string }) {
    const [row] = await rows<{ n: number }>(
      db,
      sql`
      SELECT count(*)::int AS n FROM message_recipients r
      WHERE r.job_id = ${jobId} AND (${f.status ?? null}::text IS NULL OR r.status = ${f.status ?? null})
        AND (${f.reason ?? null}::text IS NULL OR ${REASON_CODE} = ${f.reason ?? null})`,
    );
    return row?.n ?? 0;
  },

  /** Failed and uncertain recipients by reason code, with one wording of each. */
  async failureGroups(db: Executor, jobId: string) {
    return rows<{ reason_code: string; reason: string | null; n: number }>(
      db,
      sql`
      SELECT ${REASON_CODE} AS reason_code, min(r.error) AS reason, count(*)::int AS n FROM message_recipients r
      WHERE r.job_id = ${jobId} AND r.status IN (${sql.join(
        FAILED.map((s) => sql`${s}`),
        sql`, `,
      )})
      GROUP BY 1 ORDER BY n DESC, 1`,
    );
  },

  async beginUpload(db: Executor, jobId: string) {
    await db.execute(sql`INSERT INTO message_uploads (job_id) VALUES (${jobId})`);
  },

  /**
   * Stages a batch of parsed rows with one COPY: invalid numbers go in as failed recipients with their
   * reason, numbers on the suppression list as suppressed (counted, never sent). Returns how many
   * of the batch were suppressed.
   */
  async insertBatch(db: Database, jobId: string, batch: ParsedRow[]) {
    const phones = batch.flatMap((r) => (r.phone === null ? [] : [r.phone]));
    const found = phones.length ? await db.query<{ phone: string }>('SELECT phone FROM suppressions WHERE phone = ANY($1::text[])', [phones]) : [];
    const off = new Set(found.map((f) => f.phone));
    const at = new Date().toISOString();
    const lines: string[] = [];
    for (const r of batch) {
      const suppressed = r.phone !== null && off.has(r.phone);
      const status = r.phone === null ? 'failed' : suppressed ? 'suppressed' : 'queued';
      const error = suppressed ? SUPPRESSED : r.error;
      lines.push(
        `${jobId}\t${r.seq}\t${copyText(r.phone)}\t${copyText(r.raw_phone)}\t${copyText(r.vals)}\t${status}\t${copyText(error)}\t${status === 'queued' ? '\\N' : at}\n`,
      );
    }
    await db.copyIn('message_recipients (job_id, seq, phone, raw_phone, vals, status, error, updated_at)', lines.join(''));
    return off.size;
  },

  /** Numbers suppressed since the upload (an opt-out while the job waited) are skipped too. */
  async suppressQueued(db: Executor, jobId: string) {
    const changed = await rows<{ seq: number }>(
      db,
      sql`
      UPDATE message_recipients m SET status = 'suppressed', error = ${SUPPRESSED}, updated_at = now()
      FROM suppressions s WHERE m.job_id = ${jobId} AND m.status = 'queued' AND s.phone = m.phone RETURNING m.seq`,
    );
    return changed.length;
  },

  /** Like `suppressQueued`, for the numbers suppressed after `since` only (cheap while a job runs). */
  async suppressQueuedSince(db: Executor, jobId: string, since: Date) {
    const fresh = await rows<{ phone: string; at: Date }>(
      db,
      sql`SELECT phone, created_at AS at FROM suppressions WHERE created_at > ${since.toISOString()}::timestamptz`,
    );
    if (!fresh.length) return { changed: 0, latest: since };
    const changed = await rows<{ seq: number }>(
      db,
      sql`
      UPDATE message_recipients m SET status = 'suppressed', error = ${SUPPRESSED}, updated_at = now()
      WHERE m.job_id = ${jobId} AND m.status = 'queued' AND m.phone IN (SELECT jsonb_array_elements_text(${json(fresh.map((f) => f.phone))}))
      RETURNING m.seq`,
    );
    return { changed: changed.length, latest: new Date(Math.max(...fresh.map((f) => new Date(f.at).getTime()))) };
  },

  async finishUpload(db: Executor, jobId: string) {
    await db.execute(sql`DELETE FROM message_uploads WHERE job_id = ${jobId}`);
  },

  async discardUpload(db: Executor, jobId: string) {
    await db.execute(sql`DELETE FROM message_recipients WHERE job_id = ${jobId}`);
    await db.execute(sql`DELETE FROM message_uploads WHERE job_id = ${jobId}`);
  },

  /** Uploads a crashed process left behind (older than an hour): their rows are removed. */
  async sweepAbandonedUploads(db: Executor) {
    // A job that exists was created: only its upload marker is left to remove.
    const stale = await rows<{ job_id: string; created: boolean }>(
      db,
      sql`
      SELECT u.job_id, EXISTS (SELECT 1 FROM jobs j WHERE j.id = u.job_id) AS created
      FROM message_uploads u WHERE u.started_at < now() - interval '1 hour'`,
    );
    for (const s of stale) await (s.created ? this.finishUpload(db, s.job_id) : this.discardUpload(db, s.job_id));
    return stale.length;
  },

  /** Rows a crashed attempt left `sending` were in flight: they may have been sent, so they are not sent again. */
  async markInFlightUncertain(db: Executor, jobId: string) {
    const changed = await rows<{ seq: number; phone: string; device_id: number | null; error: string }>(
      db,
      sql`
      UPDATE message_recipients SET status = 'uncertain', updated_at = now(),
        error = 'en curso durante un reinicio: puede haberse enviado; no se reenvía / in flight at a restart: may have been sent, not resent'
      WHERE job_id = ${jobId} AND status = 'sending' RETURNING seq, phone, device_id, error`,
    );
    return changed.sort((a, b) => a.seq - b.seq);
  },

  /**
   * Takes up to `n` queued recipients from `fromSeq` on for a device and marks them `sending` in
   * the same statement, before anything is sent. SKIP LOCKED lets every device claim in parallel
   * without waiting. Starting from where the last claim ended keeps the index scan from walking
   * over the entries of every recipient already taken (there is no vacuum during a job).
   */
  async claim(db: Executor, jobId: string, deviceId: number, n: number, fromSeq = 0) {
    // MATERIALIZED: as a plain subquery the planner may rescan it once per outer row, and each rescan
    // with SKIP LOCKED finds more rows, so a claim of 1 took the whole queue (seen on PGlite).
    return rows<ClaimedRow>(
      db,
      sql`
      WITH c AS MATERIALIZED (
        SELECT seq FROM message_recipients
        WHERE job_id = ${jobId} AND status = 'queued' AND seq >= ${fromSeq} AND (retry_at IS NULL OR retry_at <= now())
        ORDER BY seq LIMIT ${n} FOR UPDATE SKIP LOCKED)
      UPDATE message_recipients r SET status = 'sending', device_id = ${deviceId}, attempts = r.attempts + 1, updated_at = now()
      FROM c
      WHERE r.job_id = ${jobId} AND r.seq = c.seq
      RETURNING r.seq, r.phone, r.vals, r.attempts`,
    );
  },

  /** Records a batch of outcomes in one statement. */
  async record(db: Executor, jobId: string, results: RecipientResult[]) {
    if (!results.length) return;
    await db.execute(sql`
      UPDATE message_recipients m SET status = r.status, device_id = r.device_id,
        provider_message_id = COALESCE(r.provider_message_id, m.provider_message_id), error = r.error,
        retry_at = CASE WHEN r.retry_in IS NULL THEN NULL ELSE now() + make_interval(secs => r.retry_in) END,
        attempts = CASE WHEN r.refund_attempt THEN m.attempts - 1 ELSE m.attempts END, updated_at = now()
      FROM jsonb_to_recordset(${json(results)}) AS r(seq int, status text, device_id int, provider_message_id text, error text,
        retry_in float8, refund_attempt boolean)
      WHERE m.job_id = ${jobId} AND m.seq = r.seq AND m.status = 'sending'`);
  },

  /** Seconds until the earliest pending retry, or null when none is waiting. */
  async nextRetryIn(db: Executor, jobId: string) {
    const [row] = await rows<{ s: number | null }>(
      db,
      sql`
      SELECT EXTRACT(EPOCH FROM min(retry_at) - now())::float8 AS s FROM message_recipients
      WHERE job_id = ${jobId} AND status = 'queued' AND retry_at IS NOT NULL`,
    );
    return row?.s ?? null;
  },

  async counts(db: Executor, jobId: string): Promise<Counts> {
    const [row] = await rows<Counts>(
      db,
      sql`
      SELECT count(*) FILTER (WHERE status IN ('sent', 'delivered', 'read') OR failed_after_send)::int AS sent,
             count(*) FILTER (WHERE status = 'failed' AND NOT failed_after_send)::int AS failed,
             count(*) FILTER (WHERE status = 'uncertain')::int AS uncertain, count(*) FILTER (WHERE status = 'queued')::int AS queued,
             count(*) FILTER (WHERE status = 'sending')::int AS sending, count(*) FILTER (WHERE status = 'suppressed')::int AS suppressed,
             count(*)::int AS total
      FROM message_recipients WHERE job_id = ${jobId}`,
    );
    return row!;
  },

  /** A page of outcomes by sequence, for the results CSV: with the file's values, the device's name and a reason code. */
  async page(db: Executor, jobId: string, afterSeq: number, limit: number) {
    return rows<ItemRow>(
      db,
      sql`
      SELECT r.seq, r.phone, r.raw_phone, r.vals, r.status, r.device_id, d.name AS device_name, r.provider_message_id, r.error,
             r.attempts, r.updated_at, ${REASON_CODE} AS reason_code, r.failed_after_send, r.delivered_at, r.read_at
      FROM message_recipients r LEFT JOIN devices d ON d.id = r.device_id
      WHERE r.job_id = ${jobId} AND r.seq > ${afterSeq} ORDER BY r.seq LIMIT ${limit}`,
    );
  },

  /**
   * A retry's recipients: the failed job's, with what must not be sent again kept as it was (sent,
   * delivered, read, failed after the provider took it, suppressed, and uncertain unless asked) and
   * the rest queued afresh; numbers that were invalid stay failed.
   * The old job's unsent rows are marked handed over, so that nothing still working on the old job,
   * however unlikely, could claim a recipient the retry sends.
   */
  async copyForRetry(db: Executor, fromJobId: string, toJobId: string, includeUncertain: boolean) {
    await db.execute(sql`
      INSERT INTO message_recipients (job_id, seq, phone, raw_phone, vals, status, device_id, provider_message_id, error, attempts, updated_at,
        failed_after_send, delivered_at, read_at)
      SELECT ${toJobId}::uuid, seq, phone, raw_phone, vals, n.status,
             CASE WHEN n.status = o.status THEN device_id END, CASE WHEN n.status = o.status THEN provider_message_id END,
             CASE WHEN n.status = o.status THEN error END, CASE WHEN n.status = o.status THEN attempts ELSE 0 END,
             CASE WHEN n.status = o.status THEN o.updated_at END,
             n.status = o.status AND o.failed_after_send, CASE WHEN n.status = o.status THEN o.delivered_at END, CASE WHEN n.status = o.status THEN o.read_at END
      FROM message_recipients o,
        LATERAL (SELECT CASE
          WHEN o.status IN ('sent', 'delivered', 'read', 'suppressed') THEN o.status
          WHEN o.failed_after_send THEN 'failed'
          WHEN o.phone IS NULL THEN 'failed'
          WHEN o.status IN ('uncertain', 'sending') AND NOT ${includeUncertain} THEN 'uncertain'
          ELSE 'queued' END AS status) n
      WHERE o.job_id = ${fromJobId}`);
    await db.execute(sql`
      UPDATE message_recipients SET status = 'failed', updated_at = now(),
        error = ${`pasado al reintento ${toJobId} / handed over to retry ${toJobId}`}
      WHERE job_id = ${fromJobId} AND status IN ('queued', 'sending')`);
  },

  async deleteForJob(db: Executor, jobId: string) {
    await db.execute(sql`DELETE FROM message_recipients WHERE job_id = ${jobId}`);
  },
};
