import { sql } from 'drizzle-orm';
import { json, rows, type Executor } from '../../platform/db/client.ts';
import type { DeviceRow } from './devices.drivers.ts';
import type { DeviceInput } from './devices.service.ts';

export const todayUtc = () => new Date().toISOString().slice(0, 10);
/** Daily caps count UTC days, in SQL as in `todayUtc`, whatever the database server's time zone. */
const TODAY = sql.raw(`(now() AT TIME ZONE 'UTC')::date`);
const COLUMNS = [
  'name',
  'provider',
  'base_url',
  'messages_per_minute',
  'min_gap_ms',
  'max_gap_ms',
  'pause_after',
  'pause_seconds',
  'daily_cap',
  'typing_delay_ms',
  'template_name',
  'template_language',
  'status',
] as const;

export const devicesRepository = {
  async get(db: Executor, id: number) {
    const [row] = await rows<DeviceRow>(db, sql`SELECT *, sent_day::text AS sent_day FROM devices WHERE id = ${id}`);
    return row ?? null;
  },
  async list(db: Executor, limit: number, offset: number) {
    const [items, [count]] = await Promise.all([
      rows<DeviceRow>(db, sql`SELECT *, sent_day::text AS sent_day FROM devices ORDER BY id LIMIT ${limit} OFFSET ${offset}`),
      rows<{ n: number }>(db, sql`SELECT count(*)::int AS n FROM devices`),
    ]);
    return { items, total: count?.n ?? 0 };
  },
  /** Devices that may send now: active and connected at their last health check, least used today first. */
  async available(db: Executor, limit: number, exclude: number[] = []) {
    return rows<DeviceRow>(
      db,
      sql`
      SELECT *, sent_day::text AS sent_day FROM devices
      WHERE status = 'active' AND connected
        AND NOT (id = ANY(ARRAY(SELECT jsonb_array_elements_text(${json(exclude)})::int)))
        AND (daily_cap IS NULL OR sent_day IS DISTINCT FROM ${TODAY} OR sent_today < daily_cap)
      ORDER BY CASE WHEN sent_day = ${TODAY} THEN sent_today ELSE 0 END, id
      LIMIT ${limit}`,
    );
  },
  /**
   * Takes one device for a job: like `available`, but only among devices no other job holds, and
   * it holds it from now on (until `release` or `ttlSeconds` without `renewForJob`).
   */
  async lease(db: Executor, jobId: string, exclude: number[], ttlSeconds: number) {
    const [row] = await rows<DeviceRow>(
      db,
      sql`
      UPDATE devices d SET job_id = ${jobId}::uuid, job_lease_until = now() + make_interval(secs => ${ttlSeconds})
      FROM (SELECT id FROM devices
            WHERE status = 'active' AND connected
              AND NOT (id = ANY(ARRAY(SELECT jsonb_array_elements_text(${json(exclude)})::int)))
              AND (daily_cap IS NULL OR sent_day IS DISTINCT FROM ${TODAY} OR sent_today < daily_cap)
              AND (job_id IS NULL OR job_id = ${jobId}::uuid OR job_lease_until < now())
            ORDER BY CASE WHEN sent_day = ${TODAY} THEN sent_today ELSE 0 END, id
            LIMIT 1 FOR UPDATE SKIP LOCKED) c
      WHERE d.id = c.id
      RETURNING d.*, d.sent_day::text AS sent_day`,
    );
    return row ?? null;
  },
  async renewForJob(db: Executor, jobId: string, ttlSeconds: number) {
    await db.execute(sql`UPDATE devices SET job_lease_until = now() + make_interval(secs => ${ttlSeconds}) WHERE job_id = ${jobId}::uuid`);
  },
  /** Lets go of the job's devices (or one of them), keeping where its pacing allows the next send. */
  async release(db: Executor, jobId: string, device?: { id: number; nextSendAt: Date | null }) {
    const id = device?.id ?? null;
    const next = device?.nextSendAt?.toISOString() ?? null;
    await db.execute(sql`UPDATE devices SET job_id = NULL, job_lease_until = NULL,
        next_send_at = CASE WHEN ${next}::timestamptz > now() THEN ${next}::timestamptz ELSE next_send_at END
      WHERE job_id = ${jobId}::uuid AND (${id}::int IS NULL OR id = ${id}::int)`);
  },
  async insert(db: Executor, d: DeviceInput) {
    const [row] = await rows<DeviceRow>(
      db,
      sql`
      INSERT INTO devices (name, provider, base_url, credentials, messages_per_minute, min_gap_ms, max_gap_ms, pause_after, pause_seconds,
        daily_cap, typing_delay_ms, template_name, template_language, status)
      VALUES (${d.name}, ${d.provider}, ${d.base_url}, ${json(d.credentials)}, ${d.messages_per_minute ?? null}, ${d.min_gap_ms ?? 0},
        ${d.max_gap_ms ?? 0}, ${d.pause_after ?? null}, ${d.pause_seconds ?? 0}, ${d.daily_cap ?? null}, ${d.typing_delay_ms ?? 0},
        ${d.template_name ?? null}, ${d.template_language ?? 'es'}, ${d.status ?? 'active'})
      RETURNING *, sent_day::text AS sent_day`,
    );
    return row!;
  },
  /** Sets the given columns; `credentials`, when given, is the whole stored (sealed) value. */
  async update(db: Executor, id: number, patch: Partial<DeviceInput>) {
    const sets = COLUMNS.filter((c) => patch[c] !== undefined).map((c) => sql`${sql.identifier(c)} = ${patch[c] ?? null}`);
    if (patch.credentials) sets.push(sql`credentials = ${json(patch.credentials)}`);
    if (patch.status === 'active') sets.push(sql`status_reason = NULL`);
    if (patch.status === 'paused') sets.push(sql`status_reason = 'pausado por un operador / paused by an operator'`);
    sets.push(sql`updated_at = now()`);
    const [row] = await rows<DeviceRow>(db, sql`UPDATE devices SET ${sql.join(sets, sql`, `)} WHERE id = ${id} RETURNING *, sent_day::text AS sent_day`);
    return row ?? null;
  },
  async allCredentials(db: Executor) {
    return rows<{ id: number; credentials: Record<string, string> }>(db, sql`SELECT id, credentials FROM devices ORDER BY id`);
  },
  /** Replaces one device's stored credentials, unless they changed since they were read. */
  async replaceCredentials(db: Executor, id: number, before: Record<string, string>, after: Record<string, string>) {
    const done = await rows<{ id: number }>(
      db,
      sql`UPDATE devices SET credentials = ${json(after)} WHERE id = ${id} AND credentials = ${json(before)} RETURNING id`,
    );
    return done.length;
  },
  async remove(db: Executor, id: number) {
    const [row] = await rows<{ id: number }>(db, sql`DELETE FROM devices WHERE id = ${id} RETURNING id`);
    return row !== undefined;
  },
  async setHealth(db: Executor, id: number, h: { connected: boolean; state: string; error?: string }) {
    await db.execute(sql`UPDATE devices SET connected = ${h.connected}, connection_state = ${h.state}, last_error = ${h.error ?? null},
      last_health_at = now(), updated_at = now() WHERE id = ${id}`);
  },
  /** Where the device's engine was told to send its webhooks; an error setting it goes to `last_error`. */
  async setWebhookBase(db: Executor, id: number, base: string, error?: string) {
    await db.execute(sql`UPDATE devices SET webhook_base_url = ${base}, last_error = COALESCE(${error ?? null}, last_error) WHERE id = ${id}`);
  },
  /** A ban, a quality block or a dead session: the device stops until someone looks at it. */
  async pauseForError(db: Executor, id: number, reason: string) {
    await db.execute(sql`UPDATE devices SET status = 'paused', status_reason = ${reason}, last_error = ${reason}, updated_at = now() WHERE id = ${id}`);
  },
  /** Counts sends towards today's cap; returns today's total. */
  async addSent(db: Executor, id: number, n: number) {
    const [row] = await rows<{ sent_today: number }>(
      db,
      sql`
      UPDATE devices SET sent_today = CASE WHEN sent_day = ${TODAY} THEN sent_today + ${n} ELSE ${n} END,
        sent_day = ${TODAY}, sent_total = sent_total + ${n}
      WHERE id = ${id} RETURNING sent_today`,
    );
    return row?.sent_today ?? 0;
  },
};
