import { sql } from 'drizzle-orm';
import { json, rows, type Executor } from '../db/client.ts';

export interface SessionRow {
  id: string;
  user_id: number | null;
  code_id: number | null;
  role: string;
  created_ip: string | null;
  created_at: Date;
  last_used_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
  revoked_reason: string | null;
}
/** What an access token's check needs: is the session live, and is its user (if any) still active. */
export interface SessionState {
  code_id: number | null;
  live: boolean;
  user_active: boolean | null;
}

/** A session to open, with the hash of its first refresh token. */
export interface NewSession {
  id: string;
  userId: number | null;
  codeId: number | null;
  role: string;
  ip: string | null;
  ttlSeconds: number;
  tokenHash: string;
}

/** A value as an SQL literal (standard-conforming strings), for `openingScript`. */
function literal(v: string | number | null): string {
  if (v === null) return 'NULL';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new TypeError('not a finite number');
    return String(v);
  }
  if (v.includes('\0')) throw new TypeError('a NUL character cannot be stored');
  return `'${v.replaceAll("'", "''")}'`;
}

/**
 * The same write as `insertManyWithTokens`, as one statement of literals for the embedded database's
 * simple protocol: a single trip into it instead of parse, describe, bind and execute, which is most
 * of what a login costs there. Every value is generated here or quoted by `literal`.
 */
export function openingScript(list: NewSession[]): string {
  const sessions = list.map(
    (s) =>
      `(${literal(s.id)}::uuid, ${literal(s.userId)}::int, ${literal(s.codeId)}::int, ${literal(s.role)}, ${literal(s.ip)}, now() + make_interval(secs => ${literal(s.ttlSeconds)}))`,
  );
  const tokens = list.map((s) => `(${literal(s.tokenHash)}, ${literal(s.id)}::uuid)`);
  return `WITH opened AS (
      INSERT INTO auth_sessions (id, user_id, code_id, role, created_ip, expires_at) VALUES ${sessions.join(', ')} RETURNING id)
    INSERT INTO auth_refresh_tokens (token_hash, session_id)
    SELECT t.token_hash, opened.id FROM opened JOIN (VALUES ${tokens.join(', ')}) AS t(token_hash, id) USING (id)`;
}

/**
 * A one-row CTE that makes the statement's own transaction (a statement run on its own is one)
 * commit without waiting for its WAL to reach the disk: `synchronous_commit` off for that transaction
 * only. For the statements that open sessions: a login's only write, on the login's path. The commit
 * is still atomic and visible at once; what it gives up is that a PostgreSQL crash within a moment of
 * it (the WAL writer flushes every `wal_writer_delay`, 200 ms by default) can lose it. A lost session
 * grants nothing: its tokens are refused, as a revoked session's are, and the user logs in again.
 */
const commitWithoutFlush = sql`flush AS (SELECT set_config('synchronous_commit', 'off', true))`;

export const sessionsRepository = {
  /**
   * The session and its first refresh token in one statement (one round trip and one commit, which
   * does not wait for the disk: see `commitWithoutFlush`).
   */
  async insertWithToken(db: Executor, s: NewSession) {
    await db.execute(sql`
      WITH opened AS (
        INSERT INTO auth_sessions (id, user_id, code_id, role, created_ip, expires_at)
        VALUES (${s.id}::uuid, ${s.userId}::int, ${s.codeId}::int, ${s.role}, ${s.ip}, now() + make_interval(secs => ${s.ttlSeconds}))
        RETURNING id),
      ${commitWithoutFlush}
      INSERT INTO auth_refresh_tokens (token_hash, session_id) SELECT ${s.tokenHash}, id FROM opened, flush`);
  },
  /** Many sessions and their first refresh tokens in one statement (logins committed together, as `insertWithToken`). */
  async insertManyWithTokens(db: Executor, list: NewSession[]) {
    if (list.length === 1) return sessionsRepository.insertWithToken(db, list[0]!);
    const batch = list.map((s) => ({ id: s.id, user_id: s.userId, code_id: s.codeId, role: s.role, ip: s.ip, ttl: s.ttlSeconds, token_hash: s.tokenHash }));
    await db.execute(sql`
      WITH batch AS (
        SELECT * FROM jsonb_to_recordset(${json(batch)}) AS b(id uuid, user_id int, code_id int, role text, ip text, ttl float8, token_hash text)),
      opened AS (
        INSERT INTO auth_sessions (id, user_id, code_id, role, created_ip, expires_at)
        SELECT id, user_id, code_id, role, ip, now() + make_interval(secs => ttl) FROM batch
        RETURNING id),
      ${commitWithoutFlush}
      INSERT INTO auth_refresh_tokens (token_hash, session_id) SELECT batch.token_hash, opened.id FROM opened JOIN batch USING (id), flush`);
  },
  async addToken(db: Executor, sessionId: string, tokenHash: string) {
    await db.execute(sql`INSERT INTO auth_refresh_tokens (token_hash, session_id) VALUES (${tokenHash}, ${sessionId}::uuid)`);
  },
  /**
   * Marks a refresh token used, once: the row comes back with `first_use` true only for the caller that
   * used it, so two requests racing with one token count as a reuse.
   */
  async useToken(db: Executor, tokenHash: string) {
    const [row] = await rows<{ session_id: string; first_use: boolean }>(
      db,
      sql`
      WITH prior AS (SELECT session_id, used_at FROM auth_refresh_tokens WHERE token_hash = ${tokenHash} FOR UPDATE),
           marked AS (UPDATE auth_refresh_tokens t SET used_at = now() FROM prior
                      WHERE t.token_hash = ${tokenHash} AND prior.used_at IS NULL RETURNING t.session_id)
      SELECT prior.session_id, EXISTS (SELECT 1 FROM marked) AS first_use FROM prior`,
    );
    return row ?? null;
  },
  async get(db: Executor, id: string) {
    const [row] = await rows<SessionRow>(db, sql`SELECT * FROM auth_sessions WHERE id = ${id}::uuid`);
    return row ?? null;
  },
  async state(db: Executor, id: string) {
    const [row] = await rows<SessionState>(
      db,
      sql`
      SELECT s.code_id, (s.revoked_at IS NULL AND s.expires_at > now()) AS live, u.status AS user_active
      FROM auth_sessions s LEFT JOIN users u ON u.id = s.user_id WHERE s.id = ${id}::uuid`,
    );
    return row ?? null;
  },
  async extend(db: Executor, id: string, ttlSeconds: number) {
    await db.execute(sql`UPDATE auth_sessions SET last_used_at = now(), expires_at = now() + make_interval(secs => ${ttlSeconds}) WHERE id = ${id}::uuid`);
  },
  async revoke(db: Executor, id: string, reason: string) {
    await db.execute(sql`UPDATE auth_sessions SET revoked_at = now(), revoked_reason = ${reason} WHERE id = ${id}::uuid AND revoked_at IS NULL`);
  },
  /** Ends every live session of a user but `keep`; returns how many. */
  async revokeUser(db: Executor, userId: number, reason: string, keep: string | null) {
    const done = await rows<{ id: string }>(
      db,
      sql`
      UPDATE auth_sessions SET revoked_at = now(), revoked_reason = ${reason}
      WHERE user_id = ${userId} AND revoked_at IS NULL AND (${keep}::uuid IS NULL OR id <> ${keep}::uuid) RETURNING id`,
    );
    return done.length;
  },
  /** Whether this address has opened a session for one of these users lately (a place the person logs in from). */
  async knownAddress(db: Executor, userIds: number[], ip: string) {
    if (!userIds.length) return false;
    const [row] = await rows<{ n: number }>(
      db,
      sql`
      SELECT count(*)::int AS n FROM auth_sessions
      WHERE user_id = ANY(${`{${userIds.join(',')}}`}::int[]) AND created_ip = ${ip} AND created_at > now() - interval '30 days'`,
    );
    return (row?.n ?? 0) > 0;
  },
  async prune(db: Executor) {
    await db.execute(sql`DELETE FROM auth_sessions WHERE expires_at < now() - interval '1 day' OR revoked_at < now() - interval '1 day'`);
  },
};
