import { EventEmitter } from 'node:events';
import { Redis } from 'ioredis';
import type { Logger } from '../logger.ts';

export type EventHandler = (message: unknown) => void;

/**
 * Publishes JSON messages on named channels. In-process by default; over Redis pub/sub when Redis is
 * configured, so that a job run by a worker process reaches a socket held by any server process.
 */
export interface EventBus {
  readonly kind: 'local' | 'redis';
  publish(channel: string, message: unknown): Promise<void>;
  subscribe(channel: string, handler: EventHandler): Promise<() => Promise<void>>;
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
    async close() {
      emitter.removeAllListeners();
    },
  };
}

export async function createRedisBus(url: string, prefix: string, logger: Logger): Promise<EventBus> {
  const pub = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 3 });
  const sub = new Redis(url, { lazyConnect: true });
  for (const client of [pub, sub]) client.on('error', (err) => logger.warn({ err: err.message }, 'redis event bus error'));
  await Promise.all([pub.connect(), sub.connect()]);
  const local = new EventEmitter();
  local.setMaxListeners(0);
  const counts = new Map<string, number>();
  const key = (channel: string) => `${prefix}:events:${channel}`;

  sub.on('message', (redisChannel: string, payload: string) => {
    const channel = redisChannel.slice(prefix.length + ':events:'.length);
    try {
      local.emit(channel, JSON.parse(payload));
    } catch (err) {
      logger.warn({ channel, err: (err as Error).message }, 'dropped an unreadable event');
    }
  });

  return {
    kind: 'redis',
    async publish(channel, message) {
      await pub.publish(key(channel), JSON.stringify(message));
    },
    async subscribe(channel, handler) {
      local.on(channel, handler);
      const n = (counts.get(channel) ?? 0) + 1;
      counts.set(channel, n);
      if (n === 1) await sub.subscribe(key(channel));
      let active = true;
      return async () => {
        if (!active) return;
        active = false;
        local.off(channel, handler);
        const left = (counts.get(channel) ?? 1) - 1;
        if (left <= 0) {
          counts.delete(channel);
          await sub.unsubscribe(key(channel)).catch(() => {});
        } else counts.set(channel, left);
      };
    },
    async close() {
      local.removeAllListeners();
      await Promise.allSettled([pub.quit(), sub.quit()]);
    },
  };
}
