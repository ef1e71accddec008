import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { RuntimeContext } from '../context.ts';
import { isCodeSession } from '../auth/jwt.ts';
import { jobChannel } from '../jobs/job-definition.ts';
import { jobEvents, terminalEvent } from '../jobs/job-events.ts';
import { type ConnectionCounter, guardSocket, readTarget, refuseUpgrade, tooManyConnections } from './upgrades.ts';
import { eventChecker } from './event-check.ts';
import { TERMINAL_EVENTS, jobSocketEvent, pingMessage, type JobSocketEvent, type PingMessage } from './job-socket.contract.ts';

const PROGRESS_EVERY_MS = 250;
const MAX_ERRORS_PER_SECOND = 20;
const PATH = /^\/ws\/job\/([^/?]+)\/?$/;

const TERMINAL = new Set<string>(TERMINAL_EVENTS);

/** A client's message as the contract reads it: JSON `{type:"ping",timestamp?}` or the bare text `ping`; anything else is null (ignored). */
function readClientMessage(data: string): PingMessage | null {
  let msg: unknown;
  try {
    msg = JSON.parse(data);
  } catch {
    msg = { type: data.trim() };
  }
  const parsed = pingMessage.safeParse(msg);
  return parsed.success ? parsed.data : null;
}

export interface JobSocketOptions {
  /**
   * An event as a viewer without a staff token may see it (the modules that own personal data hide
   * it here: messaging masks phone numbers).
   */
  forViewer: (event: JobSocketEvent) => unknown;
}

/**
 * `/ws/job/:id`: `subscribed`, then the job's events as they happen (each one of
 * `job-socket.contract.ts`). Progress is coalesced per connection (latest wins, a few per second),
 * error events are capped per second, and every other event, terminal ones included, goes out at
 * once and in order.
 */
export function createJobSocketServer(ctx: RuntimeContext, connections: ConnectionCounter, options: JobSocketOptions) {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const check = eventChecker(ctx.config.NODE_ENV, ctx.logger);

  async function attach(ws: WebSocket, jobId: string, authorized: boolean) {
    let pendingProgress: JobSocketEvent | null = null;
    let errorsThisSecond = 0;
    let closed = false;
    const send = (event: JobSocketEvent) => {
      if (closed || ws.readyState !== ws.OPEN) return;
      const out = authorized ? event : options.forViewer(event);
      check(`/ws/job ${event.type}`, jobSocketEvent, out);
      ws.send(JSON.stringify(out));
      // A viewer without a token has nothing more to see once the job has ended: its socket is not kept.
      if (!authorized && TERMINAL.has(String(event.type))) ws.close(1000, 'job finished');
    };
    const flushProgress = () => {
      if (pendingProgress) send(pendingProgress);
      pendingProgress = null;
    };
    const ticker = setInterval(flushProgress, PROGRESS_EVERY_MS);
    let messagesThisSecond = 0;
    const errorWindow = setInterval(() => (errorsThisSecond = messagesThisSecond = 0), 1000);
    const heartbeat = setInterval(() => ws.ping(), 30_000);
    const buffered: JobSocketEvent[] = [];
    let live = false;

    // Events come from the job's own code over the bus, built to the contract (checked under test).
    const onEvent = (raw: unknown) => {
      const event = raw as JobSocketEvent;
      if (!live) return void buffered.push(event);
      if (event.type === 'progress') return void (pendingProgress = event);
      if (event.type === 'error' && ++errorsThisSecond > MAX_ERRORS_PER_SECOND) return;
      flushProgress();
      send(event);
    };
    // Listeners go on before anything is awaited: a ping sent as soon as the socket opens is not lost.
    let unsubscribe: (() => Promise<void> | void) | null = null;
    let offReconnect: (() => void) | null = null;
    let early: JobSocketEvent[] | null = []; // pongs held until `subscribed` has gone out
    ws.on('close', () => {
      closed = true;
      clearInterval(ticker);
      clearInterval(errorWindow);
      clearInterval(heartbeat);
      void unsubscribe?.();
      offReconnect?.();
    });
    ws.on('message', (data) => {
      // The same budget as a Socket.IO socket: pings over it go unanswered; a flood closes the socket.
      const limit = ctx.config.SOCKET_EVENTS_PER_SECOND;
      if (++messagesThisSecond > limit * 10) return void ws.close(1008, 'too many messages');
      if (messagesThisSecond > limit * 2) return;
      const msg = readClientMessage(String(data));
      if (!msg) return;
      const pong = jobEvents.pong(jobId, msg.timestamp ?? new Date().toISOString());
      if (!early) send(pong);
      else if (early.length < 16) early.push(pong);
    });
    unsubscribe = await ctx.bus.subscribe(jobChannel(jobId), onEvent);
    if (closed) return void (await unsubscribe());

    send(jobEvents.subscribed(jobId));
    for (const pong of early) send(pong);
    early = null;
    // A late subscriber learns where the job stands, then gets what happened while it was reading.
    const job = await ctx.jobs.get(jobId);
    const terminal = job && terminalEvent(job);
    if (terminal) send(terminal);
    else if (job && Object.keys(job.progress).length) send(jobEvents.progress(jobId, job.progress, { status: job.status }));
    live = true;
    // Progress published while Redis was away may never arrive: when the bus is back, the socket is
    // told where the job stands (from the database, the truth).
    offReconnect = ctx.bus.onReconnect(
      () =>
        void ctx.jobs.get(jobId).then(
          (j) => {
            if (j && !terminalEvent(j) && Object.keys(j.progress).length) onEvent(jobEvents.progress(jobId, j.progress, { status: j.status }));
          },
          () => {},
        ),
    );
    if (closed) offReconnect();
    for (const e of buffered.splice(0)) if (!terminal) onEvent(e);
    if (!job) {
      send(jobEvents.notFound(jobId));
      ws.close(4404, 'job not found');
    }
  }

  return {
    /** Returns true when the upgrade was for a job socket (handled here). */
    handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
      guardSocket(socket, ctx.logger);
      const url = readTarget(req);
      if (!url) {
        refuseUpgrade(socket, 400, 'Petición inválida: destino ilegible / Bad request target');
        return true;
      }
      const match = PATH.exec(url.pathname);
      if (!match) return false;
      let jobId: string;
      try {
        jobId = decodeURIComponent(match[1]!);
      } catch {
        refuseUpgrade(socket, 400, 'Id de job inválido / Malformed job id');
        return true;
      }
      const release = connections.acquire(req.socket.remoteAddress);
      if (!release) {
        refuseUpgrade(socket, 429, tooManyConnections);
        return true;
      }
      socket.once('close', release);
      const header = req.headers.authorization?.split(' ');
      const token = url.searchParams.get('token') ?? (header?.[0]?.toLowerCase() === 'bearer' ? header[1] : undefined);
      void (async () => {
        const principal = token ? await ctx.tokens.verify(token).catch(() => null) : null;
        if (token && !principal) return refuseUpgrade(socket, 401, 'Token inválido o vencido / Invalid or expired token');
        // The client may have gone while the token was checked: ws then just destroys the socket.
        wss.handleUpgrade(req, socket, head, (ws) => {
          ws.on('error', (err) => ctx.logger.debug({ err: err.message }, 'job socket error'));
          // Access-code sessions see phones masked, as anonymous viewers do: the code is shared by many people.
          attach(ws, jobId, principal !== null && principal.role !== 'customer' && !isCodeSession(principal)).catch((err: Error) => {
            // Mostly a database that cannot be reached now: 1013 "try again later".
            ctx.logger.warn({ err: err.message, jobId }, 'job socket could not follow the job');
            ws.close(1013, 'try again later');
          });
        });
      })().catch((err: Error) => {
        ctx.logger.warn({ err: err.message }, 'job socket upgrade failed');
        socket.destroy();
      });
      return true;
    },
    /** 1012 "service restart": a client reconnects, to another node behind the load balancer. */
    close() {
      for (const client of wss.clients) {
        client.close(1012, 'server restarting');
        setTimeout(() => client.terminate(), 1000).unref();
      }
      wss.close();
    },
  };
}
