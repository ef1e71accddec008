import type { Server as HttpServer } from 'node:http';
import { Server } from 'socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import type { AppContext } from '../context.ts';

/**
 * Socket.IO on Puente's own HTTP server. Upgrades that are not Socket.IO's are left alone
 * (`destroyUpgrade: false`) so that `/ws/job/:id` can share the port. With Redis configured, the
 * Redis adapter carries emits between processes.
 */
export async function createSocketServer(server: HttpServer, ctx: AppContext) {
  const io = new Server(server, {
    destroyUpgrade: false,
    cors: { origin: true, credentials: true },
    transports: ['websocket', 'polling'],
  });
  const closers: (() => Promise<unknown>)[] = [];
  if (ctx.redisUrl) {
    const pub = new Redis(ctx.redisUrl);
    const sub = pub.duplicate();
    for (const c of [pub, sub]) c.on('error', (err) => ctx.logger.warn({ err: err.message }, 'socket.io redis error'));
    io.adapter(createAdapter(pub, sub, { key: `${ctx.config.REDIS_PREFIX}:socket.io` }));
    closers.push(() => pub.quit(), () => sub.quit());
  }
  return {
    io,
    async close() {
      // Not io.close(): that would also close the HTTP server, which Fastify owns.
      io.disconnectSockets(true);
      io.engine.close();
      await Promise.allSettled(closers.map((c) => c()));
    },
  };
}
