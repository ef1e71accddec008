import { sql } from 'drizzle-orm';
import { json, rows, type Executor } from '../db/client.ts';
import type { JobRecord } from './jobs.repository.ts';

/**
 * A record is orphaned when it claims to be running (pending or processing) while nothing can run
 * it: no attempt holds a live lease on it, and the queue holds no live job for it (created, waiting
 * for a retry, or active). A record that is pending is given `graceSeconds` first, since it is
 * written before its queue job is sent. A queue job is found by the record id in its data, or, for
 * a scheduled run, by the queue job id its record keeps in `params.queue_job`.
 */
const orphaned = (graceSeconds: number) => sql`
  j.status IN ('pending', 'processing')
  AND (j.lease IS NULL OR j.lease_until < now())
  AND (j.status = 'processing' OR j.updated_at < now() - make_interval(secs => ${graceSeconds}))
  AND NOT EXISTS (
    SELECT 1 FROM pgboss.job q
    WHERE q.name = j.type AND q.state IN ('created', 'retry', 'active')
      AND (q.data->>'jobId' = j.id::text OR q.id::text = j.params->>'queue_job'))`;

export const recoveryRepository = {
  async orphanCandidates(db: Executor, graceSeconds: number, limit: number) {
    const found = await rows<{ id: string }>(
      db,
      sql`
      SELECT j.id FROM jobs j WHERE ${orphaned(graceSeconds)} ORDER BY j.updated_at LIMIT ${limit}`,
    );
    return found.map((r) => r.id);
  },

  /**
   * Closes the record as failed if, under its row lock, it is still orphaned: of several processes
   * sweeping at once only one gets the row back, and a worker that took the job meanwhile keeps it.
   */
  async closeIfOrphaned(db: Executor, id: string, reason: string, graceSeconds: number) {
    const [row] = await rows<JobRecord>(
      db,
      sql`
      UPDATE jobs j SET status = 'failed', error = ${reason}, lease = NULL, lease_until = NULL,
        finished_at = now(), updated_at = now()
      WHERE j.id = ${id} AND ${orphaned(graceSeconds)}
      RETURNING *`,
    );
    return row ?? null;
  },

  async writeOutcome(db: Executor, id: string, o: { progress: unknown; results: unknown }) {
    const [row] = await rows<JobRecord>(
      db,
      sql`
      UPDATE jobs SET progress = ${json(o.progress ?? {})}, results = ${json(o.results ?? {})} WHERE id = ${id} RETURNING *`,
    );
    return row!;
  },

  /** Locks the record an operator retries, so that two retries of it are taken one after the other. */
  async lockForRetry(db: Executor, id: string) {
    const [row] = await rows<JobRecord & { lease_live: boolean }>(
      db,
      sql`
      SELECT *, (lease IS NOT NULL AND lease_until >= now()) AS lease_live FROM jobs WHERE id = ${id} FOR UPDATE`,
    );
    return row ?? null;
  },

  async retryOf(db: Executor, id: string) {
    const [row] = await rows<{ id: string }>(db, sql`SELECT id FROM jobs WHERE retry_of = ${id}`);
    return row?.id ?? null;
  },

  async insertRetry(db: Executor, from: JobRecord, r: { id: string; createdBy: string | null }) {
    const [row] = await rows<JobRecord>(
      db,
      sql`
      INSERT INTO jobs (id, type, params, progress, checkpoint, created_by, retry_of)
      VALUES (${r.id}, ${from.type}, ${json(from.params ?? {})}, ${json(from.progress ?? {})},
        ${from.checkpoint == null ? null : JSON.stringify(from.checkpoint)}::jsonb, ${r.createdBy}, ${from.id})
      RETURNING *`,
    );
    return row!;
  },

  async setProgress(db: Executor, id: string, progress: unknown) {
    const [row] = await rows<JobRecord>(db, sql`UPDATE jobs SET progress = ${json(progress ?? {})} WHERE id = ${id} RETURNING *`);
    return row!;
  },
};
