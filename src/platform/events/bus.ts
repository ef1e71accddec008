import { EventEmitter } from 'node:events';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../logger.ts';

export type EventHandler = (message: unknown) => void;

/**
 * Publishes JSON messages on named channels. In-process by default; over Redis pub/sub when Redis is
 * configured, so that a job run by a worker process reaches a socket held by any server process.
 *
 * Publishing is best-effort and never fails or waits on the caller: the database is the truth and an
 * event only says "look again". While Redis is away, messages are kept (up to a bound) and sent when
 * it returns; `onReconnect` lets each listener re-announce what its clients may have missed.
 */
export interface EventBus {
  readonly kind: 'local' | 'redis';
  publish(channel: string, message: unknown): Promise<void>;
  /**
   * Resolves once the bus delivers the channel's messages to `handler` (over Redis: once Redis has
   * confirmed the subscription, waited for up to a second while it is connected), so a caller that
   * reads the database next misses nothing published after that read. Returns an unsubscribe.
   */
  subscribe(channel: string, handler: EventHandler): Promise<() => Promise<void>>;
  /** Called each time the bus comes back after losing its connection; returns an unregister. */
  onReconnect(handler: () => void): () => void;
  /** `ok` when the bus can deliver now; otherwise why not. */
  health(): 'ok' | string;
  close(): Promise<void>;
}

export function createLocalBus(): EventBus {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  return {
    kind: 'local',
    async publish(channel, message) {
      // Deliver asynchronously, as Redis would, so a publisher never runs subscribers' code inline.
      queueMicrotask(() => emitter.emit(channel, message));
    },
    async subscribe(channel, handler) {
      emitter.on(channel, handler);
      return async () => {
        emitter.off(channel, handler);
      };
    },
    onReconnect: () => () => {},
    health: () => 'ok',
    async close() {
      emitter.removeAllListeners();
    },
  };
}

/** Messages kept while Redis is unreachable; beyond this the oldest are dropped (the database still has the truth). */
const MAX_BUFFERED = 10_000;
/** Longest wait between two reconnection attempts of every Redis client (see nonBlockingRedisOptions). */
const MAX_RETRY_MS = 2000;
/**
 * After Redis returns, kept messages wait this long before they are sent: pub/sub delivers only to
 * whoever is subscribed at that moment, and the other processes re-subscribe when their own next
 * reconnection attempt succeeds, up to MAX_RETRY_MS later.
 */
const RESUBSCRIBE_GRACE_MS = MAX_RETRY_MS + 500;
/** Longest wait in `subscribe` for Redis to confirm a new subscription while it is connected. */
const SUBSCRIBE_CONFIRM_MS = 1000;

/**
 * ioredis options for a client whose callers must never wait on an outage: a command issued while
 * disconnected fails at once instead of queueing, and one that gets no answer fails after a second.
 * Reconnection keeps going in the background, at most every 2 s.
 */
export function nonBlockingRedisOptions(extra: RedisOptions = {}): RedisOptions {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: 1000,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(100 * times, MAX_RETRY_MS),
    ...extra,
  };
}

export async function createRedisBus(url: string, prefix: string, logger: Logger): Promise<EventBus> {
  const pub = new Redis(url, nonBlockingRedisOptions({ lazyConnect: true }));
  // The subscriber keeps its offline queue (a subscription asked for during an outage is made when
  // Redis returns) and re-subscribes by itself; nobody waits on it during an outage.
  const sub = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: null,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(100 * times, MAX_RETRY_MS),
  });
  let lastError: string | null = null;
  for (const [name, client] of [
    ['publisher', pub],
    ['subscriber', sub],
  ] as const) {
    client.on('error', (err: Error) => {
      if (err.message !== lastError) logger.warn({ err: err.message, client: name }, 'redis event bus error');
      lastError = err.message;
    });
  }
  await Promise.all([pub.connect(), sub.connect()]);
  const local = new EventEmitter();
  local.setMaxListeners(0);
  const reconnectHandlers = new Set<() => void>();
  const counts = new Map<string, number>();
  /** Subscriptions sent to Redis and not yet confirmed, by channel. */
  const confirming = new Map<string, Promise<void>>();
  const key = (channel: string) => `${prefix}:events:${channel}`;
  const buffered: [string, string][] = [];
  let dropped = 0;
  let closed = false;
  let holdUntil = 0;
  let holdTimer: NodeJS.Timeout | null = null;

  const keep = (redisChannel: string, payload: string) => {
    if (closed) return;
    buffered.push([redisChannel, payload]);
    if (buffered.length > MAX_BUFFERED) {
      buffered.shift();
      if (dropped++ === 0) logger.warn({ kept: MAX_BUFFERED }, 'redis unreachable: oldest buffered events dropped');
    }
  };
  const send = (redisChannel: string, payload: string) => {
    pub.publish(redisChannel, payload).catch(() => keep(redisChannel, payload));
  };
  const drain = () => {
    if (buffered.length) logger.info({ events: buffered.length, dropped }, 'redis back: sending buffered events');
    dropped = 0;
    for (const [c, p] of buffered.splice(0)) send(c, p);
  };

  sub.on('message', (redisChannel: string, payload: string) => {
    const channel = redisChannel.slice(prefix.length + ':events:'.length);
    try {
      local.emit(channel, JSON.parse(payload));
    } catch (err) {
      logger.warn({ channel, err: (err as Error).message }, 'dropped an unreadable event');
    }
  });

  // `ready` fires on every (re)connection; the first ones happened during connect() above.
  let down = false;
  const markDown = () => {
    if (!closed) down = true;
  };
  pub.on('close', markDown);
  sub.on('close', markDown);
  const onReady = () => {
    if (closed || !down || pub.status !== 'ready' || sub.status !== 'ready') return;
    down = false;
    lastError = null;
    logger.info('redis event bus reconnected');
    holdUntil = Date.now() + RESUBSCRIBE_GRACE_MS;
    if (holdTimer) clearTimeout(holdTimer);
    holdTimer = setTimeout(() => {
      holdTimer = null;
      if (pub.status === 'ready') drain();
    }, RESUBSCRIBE_GRACE_MS);
    holdTimer.unref();
    for (const h of reconnectHandlers) {
      try {
        h();
      } catch (err) {
        logger.warn({ err: (err as Error).message }, 'reconnect handler failed');
      }
    }
  };
  pub.on('ready', onReady);
  sub.on('ready', onReady);

  return {
    kind: 'redis',
    async publish(channel, message) {
      const payload = JSON.stringify(message);
      if (pub.status !== 'ready' || Date.now() < holdUntil) return keep(key(channel), payload);
      if (buffered.length) drain();
      send(key(channel), payload);
    },
    async subscribe(channel, handler) {
      local.on(channel, handler);
      const n = (counts.get(channel) ?? 0) + 1;
      counts.set(channel, n);
      if (n === 1) {
        const confirmed = sub.subscribe(key(channel)).then(
          () => {},
          (err: Error) => logger.warn({ channel, err: err.message }, 'redis subscribe failed'),
        );
        confirming.set(channel, confirmed);
        void confirmed.then(() => {
          if (confirming.get(channel) === confirmed) confirming.delete(channel);
        });
      }
      // During an outage nothing waits: the subscription is made when Redis returns, and listeners
      // re-read what they follow then (onReconnect).
      const pending = confirming.get(channel);
      if (pending && sub.status === 'ready') await withTimeout(pending, SUBSCRIBE_CONFIRM_MS).catch(() => {});
      let active = true;
      return async () => {
        if (!active) return;
        active = false;
        local.off(channel, handler);
        const left = (counts.get(channel) ?? 1) - 1;
        if (left <= 0) {
          counts.delete(channel);
          sub.unsubscribe(key(channel)).catch(() => {});
        } else counts.set(channel, left);
      };
    },
    onReconnect(handler) {
      reconnectHandlers.add(handler);
      return () => void reconnectHandlers.delete(handler);
    },
    health() {
      return pub.status === 'ready' && sub.status === 'ready' ? 'ok' : `redis ${pub.status === 'ready' ? sub.status : pub.status}`;
    },
    async close() {
      closed = true;
      if (holdTimer) clearTimeout(holdTimer);
      local.removeAllListeners();
      reconnectHandlers.clear();
      // quit() waits for a reply that never comes while Redis is down; disconnect() does not.
      await Promise.allSettled([pub, sub].map((c) => (c.status === 'ready' ? withTimeout(c.quit(), 1000).catch(() => c.disconnect()) : c.disconnect())));
    },
  };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timeout')), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e) => (clearTimeout(t), reject(e)),
    );
  });
}
