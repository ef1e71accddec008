import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { buildApp } from '../app.ts';
import type { App } from './context.ts';
import type { Runtime } from './bootstrap.ts';
import { createJobSocketServer } from './realtime/job-socket.ts';
import { withheldForViewer } from './realtime/job-viewer.ts';
import { createSocketServer } from './realtime/socket-io.ts';
import { ConnectionCounter, guardSocket, refuseUpgrade } from './realtime/upgrades.ts';
import { listenError } from './startup-error.ts';

export interface RunningServer {
  app: App;
  url: string;
  runtime: Runtime;
  /**
   * Stops serving within SHUTDOWN_TIMEOUT_SECONDS: stops accepting, tells socket clients to
   * reconnect (elsewhere), lets requests in flight finish for a moment, then drops what is left and
   * releases running jobs.
   */
  close(): Promise<void>;
}

/** The share of SHUTDOWN_TIMEOUT_SECONDS that requests in flight get before their connections are dropped (at most 5 s). */
const DRAIN_SHARE = 0.3;

/** HTTP + sockets on one port. `work` also runs job workers in this process (the embedded default). */
export async function startServer(runtime: Runtime, opts: { port?: number; host?: string; work?: boolean } = {}): Promise<RunningServer> {
  const { ctx, modules } = runtime;
  const app = await buildApp(ctx, modules);
  await app.ready();
  const connections = new ConnectionCounter(ctx.config.REALTIME_MAX_CONNECTIONS_PER_ADDRESS);
  const viewerHooks = modules.flatMap((m) => (m.forJobViewer ? [m.forJobViewer.bind(m)] : []));
  // Without a module that says what a viewer may see, the platform hides what could be personal data.
  const forViewer = viewerHooks.length ? (event: unknown) => viewerHooks.reduce<unknown>((e, hook) => hook(e), event) : withheldForViewer;
  const jobSockets = createJobSocketServer(ctx, connections, { forViewer });
  const server = app.server as Server;
  // Before Socket.IO's listener: every upgraded socket has an error handler before anything can fail.
  server.prependListener('upgrade', (_req: IncomingMessage, socket: Duplex) => guardSocket(socket, ctx.logger));
  const sockets = await createSocketServer(server, ctx, connections);
  ctx.io = sockets.io;
  for (const m of modules) await m.realtime?.(sockets.io, ctx);
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    try {
      if (req.url?.startsWith('/socket.io/')) return; // Socket.IO's own listener takes it
      if (!jobSockets.handleUpgrade(req, socket, head)) refuseUpgrade(socket, 404, 'Ruta no encontrada / Route not found');
    } catch (err) {
      ctx.logger.warn({ err: (err as Error).message }, 'upgrade refused');
      refuseUpgrade(socket, 400, 'Petición inválida / Bad request');
    }
  });
  await runtime.start({ work: opts.work ?? true });
  const port = opts.port ?? ctx.config.PORT;
  try {
    await app.listen({ port, host: opts.host ?? ctx.config.HOST });
  } catch (err) {
    // Nothing else may keep the process (or the data folder) once it cannot serve.
    jobSockets.close();
    await sockets.close().catch(() => {});
    await app.close().catch(() => {});
    await runtime.close().catch(() => {});
    throw listenError(err, port);
  }
  let stopping = false;
  // While stopping, every answer closes its connection: a keep-alive client that keeps it busy
  // would otherwise hold the server open, and it should reconnect to another node anyway.
  server.on('request', (_req, res) => {
    if (stopping && !res.headersSent) res.setHeader('connection', 'close');
  });
  const address = server.address() as AddressInfo;
  ctx.listening = { host: address.address, port: address.port };
  const host = address.address === '0.0.0.0' || address.address === '::' ? '127.0.0.1' : address.address;
  let closing: Promise<void> | null = null;
  return {
    app,
    runtime,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`,
    close() {
      closing ??= (async () => {
        const timeoutMs = ctx.config.SHUTDOWN_TIMEOUT_SECONDS * 1000;
        const deadline = Date.now() + timeoutMs - 1000;
        stopping = true;
        jobSockets.close();
        await sockets.close();
        const appClosed = app.close(); // stops listening; later requests get 503
        server.closeIdleConnections();
        let drained: NodeJS.Timeout | undefined;
        await Promise.race([appClosed, new Promise((resolve) => (drained = setTimeout(resolve, Math.min(5000, timeoutMs * DRAIN_SHARE))))]);
        clearTimeout(drained);
        server.closeAllConnections();
        await appClosed;
        await runtime.close({ deadline });
      })();
      return closing;
    },
  };
}
