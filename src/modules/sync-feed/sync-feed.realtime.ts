import type { Namespace, Server } from 'socket.io';
import type { RuntimeContext } from '../../platform/context.ts';
import { clientAddress } from '../../platform/http/client-address.ts';
import { AppError } from '../../platform/http/errors.ts';
import { eventChecker } from '../../platform/realtime/event-check.ts';
import { FEED_CHANNEL, orderReply, type ClientPosition } from './sync-feed.service.ts';
import type { SocketChannelSpec } from '../../platform/realtime/asyncapi.ts';
import {
  ordersPending,
  socketRateLimited,
  syncConnectError,
  syncHandshakeAuth,
  type OrdersPending,
  type SyncClientToServer,
  type SyncServerToClient,
} from './sync-feed.contract.ts';

/** After a notification, further commits within this window are told together at its end (bursts only). */
const COALESCE_MS = 10;
/** A client told about changes that it has not pulled yet is reminded after this long, on the next commit. */
const REMIND_MS = 5_000;
/**
 * How often each process looks for its sockets that are behind without waiting for an announcement:
 * one may have been lost (Redis away when the change committed). Also done at once when the bus
 * reconnects.
 */
const SWEEP_MS = 3_000;
export const room = (clientId: number) => `client:${clientId}`;

/** `/sync` as the AsyncAPI document describes it (GET /docs/asyncapi.json), from the contract's schemas. */
export const syncChannel: SocketChannelSpec = {
  id: 'sync',
  address: '/sync',
  title: 'Orders change feed (Socket.IO namespace)',
  description: [
    'A Socket.IO namespace (`io(BACKEND_URL + "/sync", { auth: { apiKey } })`; transports websocket and polling).',
    "The handshake's `auth.apiKey` names a sync client; a refused handshake gets `connect_error` (both in `x-handshake`).",
    'After a commit that adds changes, each connected client with unread changes gets `changes:pending` (bursts are coalesced; a client told and not yet pulled is reminded after 5 s),',
    'then pulls with `GET /sync/pull-changes` and confirms with `POST /sync/confirm`.',
  ].join(' '),
  handshake: { auth: syncHandshakeAuth, connectError: syncConnectError },
  send: {
    'changes:pending': { payload: null, summary: 'There are changes this client has not pulled: pull them with GET /sync/pull-changes (no payload)' },
    'orders:pending': { payload: ordersPending, summary: 'Answer to `sync:orders`: the orders with changes after the confirmed cursor (at most 500)' },
    rate_limited: {
      payload: socketRateLimited,
      summary: 'More than SOCKET_EVENTS_PER_SECOND events a second were sent: the excess is dropped (a flood disconnects the socket)',
    },
  },
  receive: {
    'sync:orders': {
      payload: null,
      summary: 'Ask for the orders with unconfirmed changes; answered with `orders:pending` (no payload; anything sent is ignored)',
    },
  },
};

/** The `/sync` namespace with the contract's events (sync-feed.contract.ts). */
export type SyncNamespace = Namespace<SyncClientToServer, SyncServerToClient, Record<string, never>, { clientId: number }>;

/**
 * Namespace `/sync`. The handshake's `auth.apiKey` names a sync client. After any commit that adds
 * changes (announced on the event bus, so from any process), each process tells its own connected
 * sockets whose client has unread changes: `changes:pending`, no payload. A client already told and
 * that has not pulled since is not told again (until REMIND_MS pass), so a burst of a thousand orders
 * is one notification; a client that pulls hears about the next change at once.
 *
 * The first commit after a quiet spell is told at once (leading edge); commits that follow within
 * COALESCE_MS are told together when it ends. Who is behind is known without a query: each process
 * keeps, for its connected clients, how far each has confirmed and pulled, read once on connect and
 * kept current by the position of every pull and confirm (`feed.onPosition`): this process's at once,
 * other processes' from their batches on the bus (at most every POSITIONS_MS).
 */
export function attachSyncNamespace(io: Server, ctx: RuntimeContext): { nsp: SyncNamespace; close(): Promise<void> } {
  const feed = ctx.services.syncFeed;
  // Typed by the contract: only its events, with its payloads, can be emitted or listened to.
  const nsp = io.of('/sync') as unknown as SyncNamespace;
  const check = eventChecker(ctx.config.NODE_ENV, ctx.logger);

  nsp.use(async (socket, next) => {
    const key = (socket.handshake.auth as { apiKey?: unknown })?.apiKey;
    const address = clientAddress(socket.request, ctx.config.TRUST_PROXY);
    try {
      const client = await feed.authenticateFrom(typeof key === 'string' ? key : null, address);
      socket.data.clientId = client.id;
      next();
    } catch (err) {
      const rateLimited = err instanceof AppError && err.httpStatus === 429;
      const refusal = new Error(rateLimited ? 'Too many attempts' : typeof key === 'string' && key ? 'Invalid API key' : 'API key required') as Error & {
        data?: unknown;
      };
      if (rateLimited) refusal.data = { code: 'rate_limited', retry_after: (err as AppError).extra?.retry_after };
      next(refusal);
    }
  });

  // Handlers never throw: a database that cannot be reached now must not end the process. What they
  // could not do is done by the periodic sweep below, or by the client's next request.
  nsp.on('connection', async (socket) => {
    const clientId = socket.data.clientId as number;
    connecting.add(socket.id);
    await socket.join(room(clientId));
    await feed.touch(clientId).catch(() => {});
    // One read at a time per socket: requests that arrive meanwhile are answered by one more read.
    let reading: Promise<void> | null = null;
    let again = false;
    const answer = async () => {
      do {
        again = false;
        const orders = await feed.pendingOrders(clientId).catch(() => null);
        if (!orders || !socket.connected) continue;
        const payload: OrdersPending = { count: orders.length, orders: orders.map(orderReply) };
        check('/sync orders:pending', ordersPending, JSON.parse(JSON.stringify(payload)));
        socket.emit('orders:pending', payload);
      } while (again && socket.connected);
      reading = null;
    };
    // `sync:orders` has no payload; anything sent with it is ignored (see the contract).
    socket.on('sync:orders', () => {
      if (reading) return void (again = true);
      reading = answer();
    });
    socket.on('disconnect', () => {
      connecting.delete(socket.id);
      const w = watched.get(clientId);
      w?.sockets.delete(socket.id);
      if (w && !w.sockets.size) watched.delete(clientId);
      void feed.touch(clientId).catch(() => {});
    });
    let position: ClientPosition | null, last: number;
    try {
      [position, last] = await Promise.all([feed.position(clientId), feed.lastSeq()]);
    } catch (err) {
      // Left to the sweep, which watches every socket whose position could not be read.
      ctx.logger.warn({ err: (err as Error).message }, "could not read a new sync socket's position");
      return;
    } finally {
      connecting.delete(socket.id);
    }
    if (!socket.connected || !position) return;
    latest = Math.max(latest, last);
    const w = watch(position, [socket.id]);
    // A client that connects with unread changes is told at once; so is one whose change committed
    // while its position was read (`latest` has it; the flush it caused did not know this socket yet).
    if (w.cursor < latest) {
      socket.emit('changes:pending');
      w.toldUpto = latest;
      w.toldAt = Date.now();
    }
  });

  /** This process's connected clients: how far each has confirmed and pulled, and what it was told. */
  const watched = new Map<number, { cursor: number; delivered: number; toldUpto: number | null; toldAt: number; sockets: Set<string> }>();
  /** Sockets whose position is being read on connect: the sweep leaves them to that read. */
  const connecting = new Set<string>();
  const watch = (p: ClientPosition, sockets: Iterable<string>) => {
    const w = watched.get(p.id) ?? { cursor: 0, delivered: 0, toldUpto: null, toldAt: 0, sockets: new Set<string>() };
    w.cursor = Math.max(w.cursor, p.cursor);
    w.delivered = Math.max(w.delivered, p.delivered_upto);
    for (const id of sockets) w.sockets.add(id);
    watched.set(p.id, w);
    return w;
  };
  let latest = 0;
  let timer: NodeJS.Timeout | null = null;
  let lastFlush = -Infinity;
  const flush = () => {
    timer = null;
    lastFlush = performance.now();
    const now = Date.now();
    const targets: string[] = [];
    for (const w of watched.values()) {
      if (w.cursor >= latest) continue;
      if (w.toldUpto !== null && w.delivered < w.toldUpto && now - w.toldAt <= REMIND_MS) continue;
      w.toldUpto = latest;
      w.toldAt = now;
      targets.push(...w.sockets);
    }
    // One broadcast to this process's sockets that are due: the packet is encoded once.
    if (targets.length) nsp.local.to(targets).emit('changes:pending');
  };
  const schedule = () => {
    if (timer) return;
    const since = performance.now() - lastFlush;
    if (since >= COALESCE_MS) flush();
    else timer = setTimeout(flush, COALESCE_MS - since);
  };
  /**
   * The highest seq heard of a commit: this process's own from memory at once (`feed.onCommit`), every
   * process's from the bus. A commit heard again (this process's own event coming back through Redis)
   * or an event older than a commit already heard adds nothing: the flush that followed the later one
   * told every client behind it.
   */
  let heard = 0;
  const committed = (seq: number) => {
    if (!(seq > heard)) return;
    heard = seq;
    latest = Math.max(latest, seq);
    schedule();
  };
  const offCommits = feed.onCommit(committed);
  const unsubscribe = ctx.bus.subscribe(FEED_CHANNEL, (m) => committed(Number((m as { seq: number }).seq)));
  const moved = (id: number, cursor: number, delivered: number) => {
    const w = watched.get(id);
    if (!w) return;
    w.cursor = Math.max(w.cursor, cursor);
    w.delivered = Math.max(w.delivered, delivered);
    // A change that committed while this client's pull was under way is told now, not at the next commit.
    if (w.toldUpto !== null && w.delivered >= w.toldUpto && latest > w.delivered) schedule();
  };
  const offPositions = feed.onPosition((p) => moved(p.id, p.cursor, p.delivered_upto));
  /**
   * Finds what announcements may have missed: the latest change, and the positions of this process's
   * clients that are not known (a read failed on connect) or, after an outage, may be stale (their
   * pulls and confirms were announced while the bus was away). Then tells whoever is behind.
   */
  const remind = async (afterOutage: boolean) => {
    if (!nsp.sockets.size) return;
    const socketsOf = new Map<number, string[]>();
    for (const [id, s] of nsp.sockets) {
      const c = s.data.clientId as number | undefined;
      if (c === undefined || connecting.has(id) || (!afterOutage && watched.get(c)?.sockets.has(id))) continue;
      socketsOf.set(c, [...(socketsOf.get(c) ?? []), id]);
    }
    try {
      const [last, positions] = await Promise.all([feed.lastSeq(), feed.positions([...socketsOf.keys()])]);
      latest = Math.max(latest, last);
      for (const p of positions) {
        const live = (socketsOf.get(p.id) ?? []).filter((id) => nsp.sockets.get(id)?.connected);
        if (live.length) watch(p, live);
      }
    } catch {
      return;
    }
    // After an outage nobody can say what reached whom: every client behind is told again.
    if (afterOutage) for (const w of watched.values()) w.toldUpto = null;
    schedule();
  };
  const sweep = setInterval(() => void remind(false), SWEEP_MS);
  sweep.unref();
  const offReconnect = ctx.bus.onReconnect(() => void remind(true));

  return {
    nsp,
    async close() {
      clearInterval(sweep);
      offReconnect();
      offPositions();
      offCommits();
      if (timer) clearTimeout(timer);
      await (await unsubscribe)();
    },
  };
}
