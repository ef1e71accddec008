import { sql, type SQL } from 'drizzle-orm';
import { json, rows, type Executor } from '../db/client.ts';

export type JobStatus = 'pending' | 'processing' | 'paused' | 'completed' | 'failed' | 'cancelled';
export const terminalStatuses: JobStatus[] = ['completed', 'failed', 'cancelled'];

export interface JobRecord {
  id: string;
  type: string;
  status: JobStatus;
  params: Record<string, unknown>;
  progress: Record<string, unknown>;
  results: Record<string, unknown>;
  checkpoint: unknown;
  error: string | null;
  attempts: number;
  /** The failed or cancelled job this one retries (`POST /jobs/{id}/retry`). */
  retry_of: string | null;
  /** The job that retries this one, where read (`get`, `list`). */
  retried_as?: string | null;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

const retriedAs = sql`(SELECT r.id FROM jobs r WHERE r.retry_of = jobs.id) AS retried_as`;
const scheduledFilter = (scheduled: boolean | undefined) =>
  scheduled === undefined ? sql`true` : scheduled ? sql`created_by = 'schedule'` : sql`created_by IS DISTINCT FROM 'schedule'`;

const jsonOrEmpty = (v: unknown) => json(v ?? {});

export const jobsRepository = {
  async insert(db: Executor, job: { id: string; type: string; params: unknown; progress: unknown; createdBy?: string | null }) {
    const [row] = await rows<JobRecord>(
      db,
      sql`
      INSERT INTO jobs (id, type, params, progress, created_by)
      VALUES (${job.id}, ${job.type}, ${jsonOrEmpty(job.params)}, ${jsonOrEmpty(job.progress)}, ${job.createdBy ?? null})
      RETURNING *`,
    );
    return row!;
  },

  async get(db: Executor, id: string) {
    const [row] = await rows<JobRecord>(db, sql`SELECT *, ${retriedAs} FROM jobs WHERE id = ${id}`);
    return row ?? null;
  },

  async findActive(db: Executor, type: string) {
    const [row] = await rows<JobRecord>(
      db,
      sql`
      SELECT * FROM jobs WHERE type = ${type} AND status IN ('pending', 'processing')
      ORDER BY created_at LIMIT 1`,
    );
    return row ?? null;
  },

  /** The newest job of `type` created in the last `minutes` whose params contain `params`. */
  async findRecentWithParams(db: Executor, type: string, params: Record<string, unknown>, minutes: number) {
    const [row] = await rows<JobRecord>(
      db,
      sql`
      SELECT * FROM jobs WHERE type = ${type} AND params @> ${json(params)}
        AND created_at > now() - make_interval(mins => ${minutes})
      ORDER BY created_at DESC LIMIT 1`,
    );
    return row ?? null;
  },

  /** Serialises the creators of jobs that share `key` until the transaction ends. */
  async lockKey(db: Executor, key: string) {
    await db.execute(sql`SELECT pg_advisory_xact_lock(hashtext(${key}))`);
  },

  async lockType(db: Executor, type: string) {
    await db.execute(sql`SELECT pg_advisory_xact_lock(hashtext(${'puente-job:' + type}))`);
  },

  async list(db: Executor, f: { type?: string; status?: string; scheduled?: boolean; limit: number; offset: number }) {
    return rows<JobRecord>(
      db,
      sql`
      SELECT *, ${retriedAs} FROM jobs
      WHERE (${f.type ?? null}::text IS NULL OR type = ${f.type ?? null})
        AND (${f.status ?? null}::text IS NULL OR status = ${f.status ?? null})
        AND ${scheduledFilter(f.scheduled)}
      ORDER BY created_at DESC, id LIMIT ${f.limit} OFFSET ${f.offset}`,
    );
  },

  async count(db: Executor, f: { type?: string; status?: string; scheduled?: boolean }) {
    const [row] = await rows<{ n: number }>(
      db,
      sql`
      SELECT count(*)::int AS n FROM jobs
      WHERE (${f.type ?? null}::text IS NULL OR type = ${f.type ?? null})
        AND (${f.status ?? null}::text IS NULL OR status = ${f.status ?? null})
        AND ${scheduledFilter(f.scheduled)}`,
    );
    return row?.n ?? 0;
  },

  /**
   * Claims the row for an attempt and takes its lease; null when it was cancelled, paused or finished
   * meanwhile, or while another attempt still holds a live lease (see `leaseHeld`).
   */
  async markProcessing(db: Executor, id: string, lease: string, ttlSeconds: number) {
    const [row] = await rows<JobRecord>(
      db,
      sql`
      UPDATE jobs SET status = 'processing', attempts = attempts + 1, error = NULL,
        lease = ${lease}, lease_until = now() + make_interval(secs => ${ttlSeconds}),
        started_at = COALESCE(started_at, now()), updated_at = now()
      WHERE id = ${id} AND status IN ('pending', 'processing') AND (lease IS NULL OR lease_until < now())
      RETURNING *`,
    );
    return row ?? null;
  },

  /**
   * Whether an attempt that has not finished winding down still holds the job's lease; null when the
   * job is no longer to be run (cancelled, paused, finished or gone).
   */
  async leaseHeld(db: Executor, id: string) {
    const [row] = await rows<{ held: boolean | null }>(
      db,
      sql`
      SELECT CASE WHEN status IN ('pending', 'processing') THEN lease IS NOT NULL AND lease_until >= now() END AS held FROM jobs WHERE id = ${id}`,
    );
    return row?.held ?? null;
  },

  /**
   * Locks the job's row for the calling transaction while `lease` is still this attempt's; false when
   * it was taken over. An attempt taking the job over (`markProcessing`) waits for the lock, so it reads
   * the checkpoint this transaction commits, and a write made after a takeover commits nothing.
   */
  async lockLease(db: Executor, id: string, lease: string) {
    const found = await rows<{ id: string }>(db, sql`SELECT id FROM jobs WHERE id = ${id} AND lease = ${lease} FOR UPDATE`);
    return found.length > 0;
  },

  /** False when the lease is no longer this attempt's (it was taken over). */
  async renewLease(db: Executor, id: string, lease: string, ttlSeconds: number) {
    const renewed = await rows<{ id: string }>(
      db,
      sql`
      UPDATE jobs SET lease_until = now() + make_interval(secs => ${ttlSeconds}) WHERE id = ${id} AND lease = ${lease} RETURNING id`,
    );
    return renewed.length > 0;
  },

  /** Running jobs of these types whose lease has expired, with the lease as it stands. */
  async expiredLeases(db: Executor, types: string[]) {
    return rows<{ id: string; type: string; lease: string; lease_until: string }>(
      db,
      sql`
      SELECT id, type, lease, lease_until::text AS lease_until FROM jobs
      WHERE status = 'processing' AND lease_until < now()
        AND type IN (${sql.join(
          types.map((t) => sql`${t}`),
          sql`, `,
        )})`,
    );
  },

  /**
   * Releases a lease only if it is still exactly as it was seen (nobody renewed or took it since):
   * of several sweepers, one wins.
   */
  async releaseLease(db: Executor, id: string, lease: string, leaseUntil: string) {
    const released = await rows<{ id: string }>(
      db,
      sql`
      UPDATE jobs SET lease = NULL, lease_until = NULL, updated_at = now()
      WHERE id = ${id} AND status = 'processing' AND lease = ${lease} AND lease_until::text = ${leaseUntil}
      RETURNING id`,
    );
    return released.length > 0;
  },

  async dropLease(db: Executor, id: string, lease: string) {
    await db.execute(sql`UPDATE jobs SET lease = NULL, lease_until = NULL WHERE id = ${id} AND lease = ${lease}`);
  },

  /** Writes progress and returns the current status, which is how a worker learns it was stopped. */
  async writeProgress(db: Executor, id: string, progress: unknown) {
    const [row] = await rows<{ status: JobStatus }>(
      db,
      sql`
      UPDATE jobs SET progress = ${jsonOrEmpty(progress)}, updated_at = now() WHERE id = ${id} RETURNING status`,
    );
    return row?.status ?? null;
  },

  /** See `JobContext.checkpointStatement`. */
  checkpointStatement(id: string, checkpoint: SQL, progress: SQL) {
    return sql`UPDATE jobs SET checkpoint = ${checkpoint}, progress = ${progress}, updated_at = now() WHERE id = ${id} RETURNING status`;
  },

  async writeCheckpoint(db: Executor, id: string, checkpoint: unknown) {
    await db.execute(sql`UPDATE jobs SET checkpoint = ${jsonOrEmpty(checkpoint)}, updated_at = now() WHERE id = ${id}`);
  },

  async finish(db: Executor, id: string, f: { status: JobStatus; progress?: unknown; results?: unknown; error?: string | null; onlyFrom: JobStatus[] }) {
    const [row] = await rows<JobRecord>(
      db,
      sql`
      UPDATE jobs SET status = ${f.status},
        progress = COALESCE(${f.progress === undefined ? null : JSON.stringify(f.progress)}::jsonb, progress),
        results = COALESCE(${f.results === undefined ? null : JSON.stringify(f.results)}::jsonb, results),
        error = ${f.error ?? null},
        finished_at = CASE WHEN ${f.status} IN ('completed', 'failed', 'cancelled') THEN now() ELSE NULL END,
        updated_at = now()
      WHERE id = ${id} AND status IN (${sql.join(
        f.onlyFrom.map((s) => sql`${s}`),
        sql`, `,
      )})
      RETURNING *`,
    );
    return row ?? null;
  },

  async setStatus(db: Executor, id: string, status: JobStatus, from: JobStatus[]) {
    return this.finish(db, id, { status, onlyFrom: from });
  },

  /** Finished runs of scheduled jobs older than `days`; jobs people started are never removed here. */
  async deleteOldScheduled(db: Executor, days: number) {
    const deleted = await rows<{ id: string }>(
      db,
      sql`
      DELETE FROM jobs WHERE created_by = 'schedule' AND status IN ('completed', 'cancelled')
        AND finished_at < now() - make_interval(days => ${days})
      RETURNING id`,
    );
    return deleted.length;
  },

  async noteRetry(db: Executor, id: string, error: string) {
    await db.execute(sql`UPDATE jobs SET status = 'pending', error = ${error}, updated_at = now() WHERE id = ${id} AND status = 'processing'`);
  },
};
