import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config } from '../config.ts';
import type { Database } from '../db/client.ts';

const PREFIX = 'enc:v1:';

/** A re-encryption of one kind of stored secret; returns how many values it rewrote. */
export type Resealer = (box: SecretBox) => Promise<number>;

/**
 * Secrets at rest (device credentials, the Zoho access token, a generated JWT secret in PostgreSQL):
 * AES-256-GCM under a key derived from SECRET_KEY, as `enc:v1:<key id>:<iv>:<tag>:<ciphertext>`.
 * Values written before encryption (plain text) still read, and are re-encrypted at start-up; values
 * under an older key read while that key is in the ring (SECRET_KEY_PREVIOUS, or a rotation under way).
 */
export class SecretBox {
  #keys: { id: string; key: Buffer }[] = [];
  readonly #load: () => Promise<string[]>;
  readonly #resealers = new Map<string, Resealer>();
  /** Values rewritten by this process so far, per kind (start-up's pass included). */
  readonly resealed: Record<string, number> = {};

  private constructor(load: () => Promise<string[]>) {
    this.#load = load;
  }

  static async open(load: () => Promise<string[]>) {
    const box = new SecretBox(load);
    await box.reload();
    return box;
  }

  /** Reads the key ring again (another process may have rotated it). */
  async reload() {
    const secrets = await this.#load();
    if (!secrets.length) throw new Error('no secret key available');
    this.#keys = secrets.map((s) => {
      const key = Buffer.from(hkdfSync('sha256', s, 'puente', 'secrets-at-rest v1', 32));
      return { id: createHash('sha256').update(key).digest('hex').slice(0, 12), key };
    });
  }

  get currentKeyId() {
    return this.#keys[0]!.id;
  }

  seal(plain: string): string {
    const { id, key } = this.#keys[0]!;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `${PREFIX}${id}:${iv.toString('base64url')}:${cipher.getAuthTag().toString('base64url')}:${data.toString('base64url')}`;
  }

  /** The plain text of a stored value (a value stored before encryption is returned as it is). */
  async open(stored: string): Promise<string> {
    if (!isSealed(stored)) return stored;
    const [id, iv, tag, data] = stored.slice(PREFIX.length).split(':') as [string, string, string, string];
    let entry = this.#keys.find((k) => k.id === id);
    if (!entry) {
      await this.reload();
      entry = this.#keys.find((k) => k.id === id);
      if (!entry) throw new Error(`secret sealed under an unknown key (${id}): is SECRET_KEY right?`);
    }
    const decipher = createDecipheriv('aes-256-gcm', entry.key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
  }

  /** True when `stored` needs rewriting: plain text, or sealed under a key that is not the current one. */
  isStale(stored: string) {
    return !stored.startsWith(`${PREFIX}${this.currentKeyId}:`);
  }

  /** Modules name the secrets they keep, so that start-up and `puente secrets rotate` re-encrypt them all. */
  register(name: string, reseal: Resealer) {
    this.#resealers.set(name, reseal);
  }

  /** Re-encrypts every stale value under the current key; returns how many per kind. */
  async resealAll(): Promise<Record<string, number>> {
    const done: Record<string, number> = {};
    for (const [name, reseal] of this.#resealers) {
      done[name] = await reseal(this);
      this.resealed[name] = (this.resealed[name] ?? 0) + done[name];
    }
    return done;
  }
}

const isSealed = (v: string) => v.startsWith(PREFIX);

const fresh = () => randomBytes(32).toString('base64url');

/**
 * Where the key ring lives: SECRET_KEY (then SECRET_KEY_PREVIOUS, comma-separated) when set. Otherwise
 * keys are generated and kept like the JWT secret: in DATA_DIR/secret-key (embedded, mode 0600) or in the
 * database (PostgreSQL). Keys generated before SECRET_KEY was set stay readable, so values move over.
 */
export function keyStore(config: Config, db: Database) {
  const file = join(resolve(config.DATA_DIR), 'secret-key');
  const generated = {
    async read(): Promise<string[]> {
      if (db.kind === 'postgres') {
        const [row] = await db.query<{ value: string[] }>(`SELECT value FROM settings WHERE key = 'secret_keys'`);
        return row?.value ?? [];
      }
      return existsSync(file)
        ? readFileSync(file, 'utf8')
            .split('\n')
            .map((l) => l.trim())
            .filter(Boolean)
        : [];
    },
    async write(keys: string[]) {
      if (db.kind === 'postgres') {
        await db.query(
          `INSERT INTO settings (key, value) VALUES ('secret_keys', $1::jsonb) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
          [JSON.stringify(keys)],
        );
        return;
      }
      mkdirSync(resolve(config.DATA_DIR), { recursive: true, mode: 0o700 });
      writeFileSync(`${file}.tmp`, `${keys.join('\n')}\n`, { mode: 0o600 });
      chmodSync(`${file}.tmp`, 0o600);
      renameSync(`${file}.tmp`, file);
    },
  };
  return {
    fromEnvironment: Boolean(config.SECRET_KEY),
    async load(): Promise<string[]> {
      const stored = await generated.read();
      if (config.SECRET_KEY) {
        const previous =
          config.SECRET_KEY_PREVIOUS?.split(',')
            .map((s) => s.trim())
            .filter(Boolean) ?? [];
        return [config.SECRET_KEY, ...previous, ...stored];
      }
      if (stored.length) return stored;
      if (db.kind === 'postgres') {
        await db.query(`INSERT INTO settings (key, value) VALUES ('secret_keys', $1::jsonb) ON CONFLICT (key) DO NOTHING`, [JSON.stringify([fresh()])]);
        return generated.read();
      }
      await generated.write([fresh()]);
      return generated.read();
    },
    /** A rotation of generated keys, in two steps so that a crash between them loses nothing: a new key first (old ones kept for reading), then only the new one. */
    async addKey(): Promise<void> {
      await generated.write([fresh(), ...(await generated.read())]);
    },
    async keepOnlyCurrent(): Promise<void> {
      const [current] = await generated.read();
      if (current) await generated.write([current]);
    },
  };
}

/**
 * `puente secrets rotate`. With generated keys: a new key, every secret re-encrypted under it, the old
 * key dropped. With SECRET_KEY: every secret re-encrypted under SECRET_KEY (the old key given in
 * SECRET_KEY_PREVIOUS), after which SECRET_KEY_PREVIOUS can go.
 */
export async function rotateSecrets(box: SecretBox, store: ReturnType<typeof keyStore>) {
  if (!store.fromEnvironment) {
    await store.addKey();
    await box.reload();
  }
  await box.resealAll();
  if (!store.fromEnvironment) await store.keepOnlyCurrent();
  // With SECRET_KEY, start-up has already moved what was under SECRET_KEY_PREVIOUS: count that too.
  return { keyId: box.currentKeyId, resealed: { ...box.resealed } };
}
