import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { Server, type Socket } from 'socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import type { RuntimeContext } from '../context.ts';
import { nonBlockingRedisOptions } from '../events/bus.ts';
import { type ConnectionCounter, refuseUpgrade, tooManyConnections } from './upgrades.ts';

/**
 * Whether a browser page at `origin` may open a socket: its own origin always, others only when
 * listed in `CORS_ORIGINS`. Clients that send no Origin (local apps, scripts) are not browsers.
 */
function originAllowed(origin: string | undefined, host: string | undefined, allowed: string[]): boolean {
  if (!origin) return true;
  if (allowed.includes('*') || allowed.includes(origin)) return true;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

/**
 * Socket.IO on Puente's own HTTP server. Upgrades that are not Socket.IO's are left alone
 * (`destroyUpgrade: false`) so that `/ws/job/:id` can share the port. With Redis configured, the
 * Redis adapter carries emits between processes. Cross-origin browsers are refused unless listed in
 * `CORS_ORIGINS`; each address holds at most `REALTIME_MAX_CONNECTIONS_PER_ADDRESS` sockets; each
 * socket may send `SOCKET_EVENTS_PER_SECOND` events.
 */
export async function createSocketServer(server: HttpServer, ctx: RuntimeContext, connections: ConnectionCounter) {
  const allowed = ctx.config.CORS_ORIGINS;
  const before = { request: server.listeners('request'), upgrade: server.listeners('upgrade') };
  const io = new Server(server, {
    destroyUpgrade: false,
    // Only listed origins get CORS headers, and never a reflected `*` with credentials.
    cors: allowed.length ? { origin: allowed.includes('*') ? '*' : allowed, credentials: !allowed.includes('*') } : undefined,
    transports: ['websocket', 'polling'],
    maxHttpBufferSize: 1e6,
    allowRequest: (req, done) => {
      if (!originAllowed(req.headers.origin, req.headers.host, allowed)) return done('Origen no permitido / Origin not allowed', false);
      done(null, true);
    },
  });
  wrapListeners(server, before, ctx);
  io.engine.on('connection', (raw: { request: IncomingMessage; close(): void; once(e: string, f: () => void): void }) => {
    const release = connections.acquire(raw.request.socket?.remoteAddress);
    if (!release) {
      ctx.logger.warn({ address: raw.request.socket?.remoteAddress }, tooManyConnections);
      return raw.close();
    }
    raw.once('close', release);
  });
  io.on('new_namespace', (nsp) =>
    nsp.use((socket, next) => {
      limitEvents(socket, ctx.config.SOCKET_EVENTS_PER_SECOND, ctx);
      next();
    }),
  );
  const closers: (() => Promise<unknown>)[] = [];
  if (ctx.redisUrl) {
    // While Redis is away, emits reach this process's sockets only; nothing waits for it and nothing
    // queues. The adapter does not handle its publishes' failures, so they are caught here: an
    // unhandled rejection would end the process.
    const pub = new Redis(ctx.redisUrl, nonBlockingRedisOptions());
    const publish = pub.publish.bind(pub);
    pub.publish = ((...args: Parameters<typeof publish>) => {
      const sent = publish(...args);
      sent.catch(() => {});
      return sent;
    }) as typeof pub.publish;
    const sub = new Redis(ctx.redisUrl, { maxRetriesPerRequest: null, connectTimeout: 2000, retryStrategy: (times) => Math.min(100 * times, 2000) }); // as nonBlockingRedisOptions
    let lastError: string | null = null;
    for (const c of [pub, sub]) {
      c.on('error', (err: Error) => {
        if (err.message !== lastError) ctx.logger.warn({ err: err.message }, 'socket.io redis error');
        lastError = err.message;
      });
      c.on('ready', () => (lastError = null));
    }
    io.adapter(createAdapter(pub, sub, { key: `${ctx.config.REDIS_PREFIX}:socket.io`, requestsTimeout: 2000 }));
    closers.push(
      async () => pub.disconnect(),
      async () => sub.disconnect(),
    );
  }
  return {
    io,
    async close() {
      // Not io.close(): that would also close the HTTP server, which Fastify owns. Closing the
      // transports (not disconnectSockets, which tells a client to stay away) makes every client
      // reconnect, to another node behind the load balancer.
      io.engine.close();
      await Promise.allSettled(closers.map((c) => c()));
    },
  };
}

/**
 * A token bucket per socket: `perSecond` events a second with bursts of twice that. Events over
 * it are dropped (the handler never runs); a socket that keeps flooding is disconnected.
 */
function limitEvents(socket: Socket, perSecond: number, ctx: RuntimeContext) {
  const burst = perSecond * 2;
  let tokens = burst;
  let last = Date.now();
  let dropped = 0;
  socket.use((_packet, next) => {
    const now = Date.now();
    tokens = Math.min(burst, tokens + ((now - last) / 1000) * perSecond);
    last = now;
    if (tokens >= 1) {
      tokens -= 1;
      dropped = 0;
      return next();
    }
    if (++dropped === 1) socket.emit('rate_limited', { message: `Demasiados eventos: máximo ${perSecond} por segundo / Too many events` });
    if (dropped > burst * 5) {
      ctx.logger.warn({ nsp: socket.nsp.name, address: socket.handshake.address }, 'socket disconnected for flooding events');
      socket.disconnect(true);
    }
    // Not next(err): that would raise an 'error' on the server-side socket for every dropped event.
  });
}

/**
 * Socket.IO's own request and upgrade listeners run outside Fastify: a throw there would end the
 * process. They are wrapped so that a request they cannot read is answered 400 instead.
 */
// biome-ignore lint/complexity/noBannedTypes: the type Node's server.listeners() returns
function wrapListeners(server: HttpServer, before: { request: Function[]; upgrade: Function[] }, ctx: RuntimeContext) {
  for (const event of ['request', 'upgrade'] as const) {
    for (const listener of server.listeners(event)) {
      if (before[event].includes(listener)) continue;
      server.removeListener(event, listener as (...a: unknown[]) => void);
      server.on(event, (req: IncomingMessage, target: ServerResponse | Duplex, head?: Buffer) => {
        try {
          (listener as (...a: unknown[]) => void).call(server, req, target, head);
        } catch (err) {
          ctx.logger.warn({ err: (err as Error).message }, 'socket.io could not read a request');
          if (event === 'upgrade') return refuseUpgrade(target as Duplex, 400, 'Petición inválida / Bad request');
          const res = target as ServerResponse;
          if (!res.headersSent) res.writeHead(400, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ success: false, message: 'Petición inválida / Bad request' }));
        }
      });
    }
  }
}
