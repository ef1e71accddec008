import type { Namespace, Server } from 'socket.io';
import type { AppContext } from '../../platform/context.ts';
import { clientAddress } from '../../platform/http/client-address.ts';
import { AppError } from '../../platform/http/errors.ts';
import { FEED_CHANNEL, orderReply } from './sync-feed.service.ts';

const COALESCE_MS = 10;
/** A client told about changes that it has not pulled yet is reminded after this long, on the next commit. */
const REMIND_MS = 5_000;
export const room = (clientId: number) => `client:${clientId}`;

/**
 * Namespace `/sync`. The handshake's `auth.apiKey` names a sync client. After any commit that adds
 * changes (announced on the event bus, so from any process), each process tells its own connected
 * sockets whose client has unread changes: `changes:pending`, no payload. A client already told and
 * that has not pulled since is not told again (until REMIND_MS pass), so a burst of a thousand orders
 * is one notification; a client that pulls hears about the next change at once.
 */
export function attachSyncNamespace(io: Server, ctx: AppContext): { nsp: Namespace; close(): Promise<void> } {
  const feed = ctx.services.syncFeed;
  const nsp = io.of('/sync');

  nsp.use(async (socket, next) => {
    const key = (socket.handshake.auth as { apiKey?: unknown })?.apiKey;
    const address = clientAddress(socket.request, ctx.config.TRUST_PROXY);
    try {
      const client = await feed.authenticateFrom(typeof key === 'string' ? key : null, address);
      socket.data.clientId = client.id;
      next();
    } catch (err) {
      const rateLimited = err instanceof AppError && err.httpStatus === 429;
      const refusal = new Error(rateLimited ? 'Too many attempts' : typeof key === 'string' && key ? 'Invalid API key' : 'API key required') as Error & { data?: unknown };
      if (rateLimited) refusal.data = { code: 'rate_limited', retry_after: (err as AppError).extra?.retry_after };
      next(refusal);
    }
  });

  nsp.on('connection', async (socket) => {
    const clientId = socket.data.clientId as number;
    await socket.join(room(clientId));
    await feed.touch(clientId).catch(() => {});
    // One read at a time per socket: requests that arrive meanwhile are answered by one more read.
    let reading: Promise<void> | null = null;
    let again = false;
    const answer = async () => {
      do {
        again = false;
        const orders = await feed.pendingOrders(clientId).catch(() => null);
        if (orders && socket.connected) socket.emit('orders:pending', { count: orders.length, orders: orders.map(orderReply) });
      } while (again && socket.connected);
      reading = null;
    };
    socket.on('sync:orders', () => {
      if (reading) return void (again = true);
      reading = answer();
    });
    socket.on('disconnect', () => void feed.touch(clientId).catch(() => {}));
    // A client that connects with unread changes is told at once.
    const last = await feed.lastSeq();
    if ((await feed.clientsBehind([clientId], last)).length && socket.connected) {
      socket.emit('changes:pending');
      told.set(clientId, { upto: last, at: Date.now() });
    }
  });

  let timer: NodeJS.Timeout | null = null;
  let latest = 0;
  const told = new Map<number, { upto: number; at: number }>();
  const flush = async () => {
    timer = null;
    const local = new Map<number, Set<string>>();
    for (const [id, s] of nsp.sockets) {
      const c = s.data.clientId as number;
      if (!local.has(c)) local.set(c, new Set());
      local.get(c)!.add(id);
    }
    const behind = await feed.clientsBehind([...local.keys()], latest).catch(() => []);
    const now = Date.now();
    const due = behind.filter((c) => {
      const last = told.get(c.id);
      return !last || c.deliveredUpto >= last.upto || now - last.at > REMIND_MS;
    });
    for (const c of due) told.set(c.id, { upto: latest, at: now });
    for (const id of told.keys()) if (!local.has(id)) told.delete(id);
    // One broadcast to this process's sockets that are due: the packet is encoded once.
    const targets = due.flatMap((c) => [...local.get(c.id)!]);
    if (targets.length) nsp.local.to(targets).emit('changes:pending');
  };
  const unsubscribe = ctx.bus.subscribe(FEED_CHANNEL, (m) => {
    latest = Math.max(latest, Number((m as { seq: number }).seq));
    timer ??= setTimeout(() => void flush(), COALESCE_MS);
  });

  return {
    nsp,
    async close() {
      if (timer) clearTimeout(timer);
      await (await unsubscribe)();
    },
  };
}
