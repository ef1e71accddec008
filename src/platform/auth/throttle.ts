import { createHash } from 'node:crypto';
import type { Db } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import { AppError } from '../http/errors.ts';
import { throttleRepository as repo } from './throttle.repository.ts';

/**
 * How failures turn into waiting:
 * - `ceiling`: at `max` failures inside `windowSeconds`, everyone on the key waits for the window to end;
 * - `backoff`: the first `free` failures cost nothing, then each one makes the key wait 1 s, 2 s, 4 s…
 *   up to `maxDelaySeconds`; failures are forgotten `windowSeconds` after the first of them.
 */
export type ThrottlePolicy =
  | { kind: 'ceiling'; max: number; windowSeconds: number }
  | { kind: 'backoff'; free: number; maxDelaySeconds: number; windowSeconds: number };

interface Entry {
  failures: number;
  windowStart: number;
  blockedUntil: number;
  forgetAt: number;
}
const MAX_ENTRIES = 100_000;

/**
 * Failure counters for login and API keys. The counts live in the database, so every process of a
 * scaled-out deployment sees the same ones, whatever happens to Redis; each process also counts in
 * memory, and when the database cannot answer the memory counts decide alone. It never throws.
 *
 * A process reads the shared count of a key only once it has seen that key fail itself (within the
 * key's window): a successful login or a valid API key costs no extra query, and an attacker spread
 * over N processes gets at most one unchecked attempt per process and window before the shared count
 * stops it.
 */
export class Throttle {
  readonly #db: Db;
  readonly #logger: Logger;
  readonly #memory = new Map<string, Entry>();
  #failuresSincePrune = 0;

  constructor(db: Db, logger: Logger) {
    this.#db = db;
    this.#logger = logger;
  }

  /** Seconds `key` must wait before its next attempt; 0 when it may try now. */
  async retryAfter(key: string): Promise<number> {
    const k = hashKey(key);
    const local = this.#memory.get(k);
    const now = Date.now();
    if (!local || local.forgetAt < now) return 0;
    const mem = local.blockedUntil > now ? Math.ceil((local.blockedUntil - now) / 1000) : 0;
    const shared = await repo.retryAfter(this.#db, k).catch((err: Error) => this.#degraded(err, 0));
    return Math.max(mem, shared);
  }

  /** Throws a 429 naming the wait when `key` must wait. */
  async check(key: string) {
    const wait = await this.retryAfter(key);
    if (wait > 0) throw tooManyAttempts(wait);
  }

  async fail(key: string, policy: ThrottlePolicy) {
    const k = hashKey(key);
    const now = Date.now();
    let entry = this.#memory.get(k);
    if (!entry || now - entry.windowStart > policy.windowSeconds * 1000) {
      entry = { failures: 0, windowStart: now, blockedUntil: 0, forgetAt: 0 };
      this.#remember(k, entry);
    }
    entry.failures++;
    const localWait = waitAfter(policy, entry.failures, (now - entry.windowStart) / 1000);
    if (localWait > 0) entry.blockedUntil = Math.max(entry.blockedUntil, now + localWait * 1000);
    entry.forgetAt = Math.max(entry.windowStart + policy.windowSeconds * 1000, entry.blockedUntil);
    try {
      const { failures, age } = await repo.fail(this.#db, k, policy.windowSeconds);
      const wait = waitAfter(policy, failures, age);
      if (wait > 0) {
        await repo.block(this.#db, k, wait);
        entry.forgetAt = Math.max(entry.forgetAt, now + wait * 1000);
      }
      if (++this.#failuresSincePrune >= 500) {
        this.#failuresSincePrune = 0;
        await repo.prune(this.#db);
      }
    } catch (err) {
      this.#degraded(err as Error, undefined);
    }
  }

  /** A success: the key's failures are forgotten. */
  async clear(key: string) {
    const k = hashKey(key);
    this.#memory.delete(k);
    await repo.clear(this.#db, k).catch((err: Error) => this.#degraded(err, undefined));
  }

  #remember(k: string, entry: Entry) {
    if (this.#memory.size >= MAX_ENTRIES) {
      const now = Date.now();
      for (const [key, e] of this.#memory) if (e.forgetAt < now) this.#memory.delete(key);
      // Still full of blocked keys: drop the oldest, which are the nearest to being released anyway.
      for (const key of this.#memory.keys()) {
        if (this.#memory.size < MAX_ENTRIES) break;
        this.#memory.delete(key);
      }
    }
    this.#memory.set(k, entry);
  }

  #degraded<T>(err: Error, fallback: T): T {
    this.#logger.warn({ err: err.message }, "throttle counters unavailable in the database; using this process's counters");
    return fallback;
  }
}

function waitAfter(policy: ThrottlePolicy, failures: number, windowAgeSeconds: number): number {
  if (policy.kind === 'ceiling') return failures >= policy.max ? Math.max(1, Math.ceil(policy.windowSeconds - windowAgeSeconds)) : 0;
  if (failures < policy.free) return 0;
  return Math.min(policy.maxDelaySeconds, 2 ** Math.min(30, failures - policy.free));
}

export function tooManyAttempts(seconds: number) {
  return new AppError('rate_limited', `Demasiados intentos; intente de nuevo en ${seconds} s / Too many attempts, retry in ${seconds} s`, {
    retry_after: seconds,
  });
}

/** Keys hold emails and addresses: only their digests are kept. */
const hashKey = (key: string) => createHash('sha256').update(key).digest('base64url');
