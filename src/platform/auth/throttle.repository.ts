import { sql } from 'drizzle-orm';
import { rows, type Executor } from '../db/client.ts';

export const throttleRepository = {
  /** Seconds until `key` may try again (0 when it may now). */
  async retryAfter(db: Executor, key: string) {
    const [row] = await rows<{ s: number }>(
      db,
      sql`
      SELECT ceil(extract(epoch FROM blocked_until - now()))::int AS s FROM auth_throttle WHERE key = ${key} AND blocked_until > now()`,
    );
    return Math.max(0, row?.s ?? 0);
  },
  /** Counts one failure; a window older than `windowSeconds` starts again. Returns the count and the window's age. */
  async fail(db: Executor, key: string, windowSeconds: number) {
    const [row] = await rows<{ failures: number; age: number }>(
      db,
      sql`
      INSERT INTO auth_throttle (key, failures, window_start) VALUES (${key}, 1, now())
      ON CONFLICT (key) DO UPDATE SET
        failures = CASE WHEN auth_throttle.window_start < now() - make_interval(secs => ${windowSeconds}) THEN 1 ELSE auth_throttle.failures + 1 END,
        window_start = CASE WHEN auth_throttle.window_start < now() - make_interval(secs => ${windowSeconds}) THEN now() ELSE auth_throttle.window_start END
      RETURNING failures, extract(epoch FROM now() - window_start)::float8 AS age`,
    );
    return row!;
  },
  async block(db: Executor, key: string, seconds: number) {
    await db.execute(sql`UPDATE auth_throttle SET blocked_until = GREATEST(blocked_until, now() + make_interval(secs => ${seconds})) WHERE key = ${key}`);
  },
  async clear(db: Executor, key: string) {
    await db.execute(sql`DELETE FROM auth_throttle WHERE key = ${key}`);
  },
  async prune(db: Executor) {
    await db.execute(sql`DELETE FROM auth_throttle WHERE window_start < now() - interval '1 day' AND (blocked_until IS NULL OR blocked_until < now())`);
  },
};
