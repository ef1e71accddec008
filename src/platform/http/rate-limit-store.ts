import { createRequire } from 'node:module';
import type { FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.ts';

type Callback = (error: Error | null, result?: { current: number; ttl: number }) => void;
interface Store {
  incr(key: string, cb: Callback, timeWindow: number, max: number): void;
  child(routeOptions: unknown): Store;
}
interface StoreParams {
  continueExceeding?: boolean;
  exponentialBackoff?: boolean;
}

const require = createRequire(import.meta.url);
const RedisStore = require('@fastify/rate-limit/store/RedisStore.js') as new (
  continueExceeding: boolean,
  exponentialBackoff: boolean,
  redis: Redis,
  key: string,
) => Store;
const LocalStore = require('@fastify/rate-limit/store/LocalStore.js') as new (continueExceeding: boolean, exponentialBackoff: boolean, cache?: number) => Store;

/**
 * Rate-limit counters shared through Redis while it answers, and kept per process while it does
 * not: an outage lets each process count on its own (a limit per node instead of per cluster) and
 * never turns a login into a 500 or a wait. The Redis client must fail fast when disconnected
 * (see nonBlockingRedisOptions).
 */
export function redisOrLocalStore(redis: Redis, nameSpace: string, logger: Logger): FastifyRateLimitStoreCtor {
  let warned = false;
  const fallback = (err: Error) => {
    if (!warned) logger.warn({ err: err.message }, 'rate limiter: redis unreachable, counting per process');
    warned = true;
  };
  redis.on('ready', () => (warned = false));

  class RedisOrLocal implements Store {
    readonly #shared: Store;
    readonly #local: Store;
    /** `shared`: a route's child of the shared store; without it, the shared store itself. */
    constructor(params: StoreParams, shared?: Store) {
      const ce = !!params.continueExceeding,
        eb = !!params.exponentialBackoff;
      this.#shared = shared ?? new RedisStore(ce, eb, redis, nameSpace);
      this.#local = new LocalStore(ce, eb);
    }
    incr(key: string, cb: Callback, timeWindow: number, max: number) {
      if (redis.status !== 'ready') {
        fallback(new Error(`redis ${redis.status}`));
        return this.#local.incr(key, cb, timeWindow, max);
      }
      this.#shared.incr(
        key,
        (err, result) => {
          if (!err) return cb(null, result);
          fallback(err);
          this.#local.incr(key, cb, timeWindow, max);
        },
        timeWindow,
        max,
      );
    }
    child(routeOptions: StoreParams) {
      return new RedisOrLocal(routeOptions, this.#shared.child(routeOptions));
    }
  }

  return RedisOrLocal as unknown as FastifyRateLimitStoreCtor;
}
