import { createHmac, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { jwtVerify, errors } from 'jose';
import type { Config } from '../config.ts';
import type { Database } from '../db/client.ts';
import type { SecretBox } from './secrets.ts';

export type Role = 'admin' | 'operator' | 'customer';
export interface Principal {
  sub: string;
  role: Role;
  /** A sync client's id when authenticated by API key (seed 001). */
  syncClientId?: number;
  /** The login session an access token belongs to (see sessions.ts). */
  sid?: string;
}

/** A session opened with an access code (seed 003) rather than an account. */
export const isCodeSession = (p: Principal) => p.sub.startsWith('code:');

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: 'Bearer';
  expires_in: number;
}

/** The protected header of every access token, encoded once. */
const HS256_HEADER = Buffer.from(JSON.stringify({ alg: 'HS256' })).toString('base64url');

export class Tokens {
  readonly #key: Uint8Array;
  readonly #signingKey: KeyObject;
  readonly #accessTtl: number;
  /** Whether the token's session still stands; set by `Sessions`. Without it no access token is valid. */
  sessionCheck: ((p: Principal) => Promise<boolean>) | null = null;

  constructor(secret: string, accessTtl: number) {
    this.#key = new TextEncoder().encode(secret);
    this.#signingKey = createSecretKey(this.#key);
    this.#accessTtl = accessTtl;
  }

  /**
   * An access JWT for a session, paired with that session's (opaque, server-side) refresh token.
   * Signed with HMAC-SHA256 directly (a compact JWS, as `verify` reads it): on the login path this is
   * a few microseconds on the calling thread instead of a round trip through WebCrypto's job queue.
   */
  async issue(principal: Principal & { sid: string }, refreshToken: string): Promise<TokenPair> {
    const iat = Math.floor(Date.now() / 1000);
    const claims = { role: principal.role, typ: 'access', sid: principal.sid, sub: principal.sub, iat, iss: 'puente', exp: iat + this.#accessTtl };
    const signed = `${HS256_HEADER}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    const access = `${signed}.${createHmac('sha256', this.#signingKey).update(signed).digest('base64url')}`;
    return { access_token: access, refresh_token: refreshToken, token_type: 'Bearer', expires_in: this.#accessTtl };
  }

  /** The principal of a valid access token whose session still stands, or null. */
  async verify(token: string): Promise<Principal | null> {
    let principal: Principal;
    try {
      const { payload } = await jwtVerify(token, this.#key, { issuer: 'puente', algorithms: ['HS256'] });
      if (payload.typ !== 'access' || typeof payload.sub !== 'string' || typeof payload.sid !== 'string') return null;
      const role = payload.role;
      if (role !== 'admin' && role !== 'operator' && role !== 'customer') return null;
      principal = { sub: payload.sub, role, sid: payload.sid };
    } catch (err) {
      if (err instanceof errors.JOSEError) return null;
      throw err;
    }
    return this.sessionCheck && (await this.sessionCheck(principal)) ? principal : null;
  }
}

/**
 * JWT_SECRET when set. Otherwise one is generated once: in embedded mode it is kept in DATA_DIR; with
 * PostgreSQL it is kept in the database, so every process of a scaled-out deployment signs alike.
 */
export async function resolveJwtSecret(config: Config, db: Database, box: SecretBox): Promise<string> {
  if (config.JWT_SECRET) return config.JWT_SECRET;
  if (db.kind === 'postgres') {
    // Kept encrypted (see secrets.ts); one written in the clear by an older version is re-encrypted at start-up.
    box.register('jwt secret', async (b) => {
      const [row] = await db.query<{ value: string }>(`SELECT value FROM settings WHERE key = 'jwt_secret'`);
      if (!row || !b.isStale(row.value)) return 0;
      const done = await db.query(
        `UPDATE settings SET value = to_jsonb($1::text), updated_at = now() WHERE key = 'jwt_secret' AND value = to_jsonb($2::text) RETURNING key`,
        [b.seal(await b.open(row.value)), row.value],
      );
      return done.length;
    });
    const fresh = box.seal(randomBytes(48).toString('base64url'));
    await db.query(`INSERT INTO settings (key, value) VALUES ('jwt_secret', to_jsonb($1::text)) ON CONFLICT (key) DO NOTHING`, [fresh]);
    const [row] = await db.query<{ value: string }>(`SELECT value FROM settings WHERE key = 'jwt_secret'`);
    return box.open(row!.value);
  }
  const dir = resolve(config.DATA_DIR);
  const file = join(dir, 'jwt-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(file, secret, { mode: 0o600 });
  chmodSync(file, 0o600);
  return secret;
}
