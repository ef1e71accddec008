import { timingSafeEqual, createHash } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';

// Algorithm.Argon2id; the package exports it as a const enum, which erasable TypeScript cannot read.
const ARGON2ID = 2;
import bcrypt from 'bcryptjs';

export function hashPassword(password: string): Promise<string> {
  return hash(password, { algorithm: ARGON2ID });
}

/** Verifies argon2id hashes and bcrypt hashes imported from Laravel (`$2y$`). */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  if (stored.startsWith('$argon2')) return verify(stored, password).catch(() => false);
  if (/^\$2[aby]\$/.test(stored)) return bcrypt.compare(password, stored.replace(/^\$2y\$/, '$2a$'));
  return false;
}

/** True when a stored hash should be replaced by an argon2id one at the next successful login. */
export const needsRehash = (stored: string) => !stored.startsWith('$argon2id$');

/** Constant-time equality of two secrets of any length (their digests are compared, never the secrets). */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}
