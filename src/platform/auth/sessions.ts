import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Db } from '../db/client.ts';
import { GroupCommit } from '../db/group-commit.ts';
import { AppError } from '../http/errors.ts';
import type { Principal, TokenPair, Tokens } from './jwt.ts';
import { openingScript, sessionsRepository as repo, type NewSession, type SessionRow } from './sessions.repository.ts';

/** What a session stands on: a user account, or an access code (seed 003). */
export interface SessionSubject {
  userId: number | null;
  codeId: number | null;
  role: Principal['role'];
}

const PRUNE_MS = 60_000;
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * Logins as server-side sessions. The refresh token is an opaque random value kept only as a hash;
 * each refresh replaces it, and presenting a replaced one again ends the whole session (someone else
 * has a copy). Access tokens are short JWTs that name their session, checked on every use, so ending
 * a session (logout, password change, a deactivated user, a rotated access code) takes effect at once.
 */
export class Sessions {
  readonly #db: Db;
  readonly #tokens: Tokens;
  readonly #ttl: number;
  readonly #codeActive: (codeId: number) => Promise<boolean>;
  /** Logins arriving together have their sessions written by one statement (see GroupCommit). */
  readonly #opening: GroupCommit<NewSession>;
  #prunedAt = 0;

  /**
   * `embedded`: the database runs on this thread (PGlite): logins are collected per event-loop turn,
   * and their sessions written through `embedded.exec` as one simple-protocol statement.
   */
  constructor(opts: {
    db: Db;
    embedded?: { exec(script: string): Promise<void> } | null;
    tokens: Tokens;
    refreshTtlSeconds: number;
    codeActive: (codeId: number) => Promise<boolean>;
  }) {
    this.#db = opts.db;
    this.#tokens = opts.tokens;
    this.#ttl = opts.refreshTtlSeconds;
    this.#codeActive = opts.codeActive;
    this.#tokens.sessionCheck = (p) => this.isLive(p);
    const embedded = opts.embedded ?? null;
    this.#opening = embedded
      ? new GroupCommit((list) => embedded.exec(openingScript(list)), { collect: 'turn' })
      : new GroupCommit((list) => repo.insertManyWithTokens(this.#db, list));
  }

  /**
   * A session and its first refresh token, written by one statement shared with the logins that
   * arrive while the previous one is in flight: a login's only round trip to the database. The tokens
   * are issued only once that statement has committed.
   */
  async open(subject: SessionSubject, ip: string | null): Promise<TokenPair> {
    const id = randomUUID();
    const refresh = randomBytes(32).toString('base64url');
    await this.#opening.add({
      id,
      userId: subject.userId,
      codeId: subject.codeId,
      role: subject.role,
      ip,
      ttlSeconds: this.#ttl,
      tokenHash: sha256(refresh),
    });
    this.#pruneNowAndThen();
    return this.#issue(id, subject, refresh);
  }

  /** Old sessions are deleted at most every PRUNE_MS, beside the login that notices, never in its way. */
  #pruneNowAndThen() {
    if (Date.now() - this.#prunedAt < PRUNE_MS) return;
    this.#prunedAt = Date.now();
    void repo.prune(this.#db).catch(() => {});
  }

  /**
   * Exchanges a refresh token for a new pair. `recheck` says what the session's subject is now (the
   * user's current role, or null when the user or the code no longer stands); null ends the session.
   */
  async refresh(token: string, recheck: (session: SessionRow) => Promise<SessionSubject | null>): Promise<TokenPair> {
    const used = await repo.useToken(this.#db, sha256(token));
    if (!used) throw new AppError('auth.refresh_invalid', 'Refresh token inválido o vencido / Invalid or expired refresh token');
    if (!used.first_use) {
      await repo.revoke(this.#db, used.session_id, 'refresh token reused');
      throw new AppError('auth.refresh_reused', 'Refresh token ya usado: la sesión se cerró por seguridad / Refresh token reused: the session was closed');
    }
    const session = await repo.get(this.#db, used.session_id);
    if (!session || session.revoked_at || session.expires_at.getTime() <= Date.now())
      throw new AppError('auth.session_ended', 'Sesión cerrada o vencida / Session ended or expired');
    const subject = await recheck(session);
    if (!subject) {
      await repo.revoke(this.#db, session.id, session.code_id !== null ? 'access code no longer active' : 'account no longer active');
      throw session.code_id !== null
        ? new AppError('auth.code_inactive', 'El código de acceso ya no está vigente / The access code is no longer active')
        : new AppError('auth.account_inactive', 'La cuenta ya no está activa / Account no longer active');
    }
    await repo.extend(this.#db, session.id, this.#ttl);
    return this.#pair(session.id, subject);
  }

  /** Whether an access token's session still stands (called by `Tokens.verify`). */
  async isLive(p: Principal): Promise<boolean> {
    if (!p.sid) return false;
    const state = await repo.state(this.#db, p.sid);
    if (!state?.live || state.user_active === false) return false;
    return state.code_id === null || this.#codeActive(state.code_id);
  }

  revoke(sessionId: string, reason: string) {
    return repo.revoke(this.#db, sessionId, reason);
  }

  /** Ends a user's sessions, all or all but `keep` (the one that asked). */
  revokeUser(userId: number, reason: string, keep: string | null = null) {
    return repo.revokeUser(this.#db, userId, reason, keep);
  }

  knownAddress(userIds: number[], ip: string) {
    return repo.knownAddress(this.#db, userIds, ip);
  }

  async #pair(sessionId: string, subject: SessionSubject): Promise<TokenPair> {
    const refresh = randomBytes(32).toString('base64url');
    await repo.addToken(this.#db, sessionId, sha256(refresh));
    return this.#issue(sessionId, subject, refresh);
  }

  #issue(sessionId: string, subject: SessionSubject, refresh: string): Promise<TokenPair> {
    const sub = subject.userId !== null ? String(subject.userId) : `code:${subject.codeId}`;
    return this.#tokens.issue({ sub, role: subject.role, sid: sessionId }, refresh);
  }
}
