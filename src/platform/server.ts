import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { buildApp } from '../app.ts';
import type { App } from './context.ts';
import type { Runtime } from './bootstrap.ts';
import { createJobSocketServer } from './realtime/job-socket.ts';
import { createSocketServer } from './realtime/socket-io.ts';
import { ConnectionCounter, guardSocket, refuseUpgrade } from './realtime/upgrades.ts';
import { listenError } from './startup-error.ts';

export interface RunningServer {
  app: App;
  url: string;
  runtime: Runtime;
  close(): Promise<void>;
}

/** HTTP + sockets on one port. `work` also runs job workers in this process (the embedded default). */
export async function startServer(runtime: Runtime, opts: { port?: number; host?: string; work?: boolean } = {}): Promise<RunningServer> {
  const { ctx, modules } = runtime;
  const app = await buildApp(ctx, modules);
  await app.ready();
  const connections = new ConnectionCounter(ctx.config.REALTIME_MAX_CONNECTIONS_PER_ADDRESS);
  const jobSockets = createJobSocketServer(ctx, connections);
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
        jobSockets.close();
        await sockets.close();
        await app.close();
        await runtime.close();
      })();
      return closing;
    },
  };
}
