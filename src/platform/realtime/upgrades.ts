import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../logger.ts';

/**
 * Node hands an upgraded connection over without an `'error'` listener: a client that resets it
 * (after a 401, in the middle of a handshake) would raise an unhandled error and end the process.
 * Every upgrade gets one before any other listener runs.
 */
export function guardSocket(socket: Duplex, logger: Logger) {
  if (guarded.has(socket)) return;
  guarded.add(socket);
  socket.on('error', (err: NodeJS.ErrnoException) => logger.debug({ code: err.code, err: err.message }, 'upgrade socket error'));
  // HTTP's idle timeout does not apply to a socket that lives on: both socket servers ping theirs.
  (socket as Partial<Socket>).setTimeout?.(0);
}
const guarded = new WeakSet<Duplex>();

const REASONS: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 429: 'Too Many Requests' };

/** Answers an upgrade with a plain HTTP error (the seed-004 error shape) and closes the connection. */
export function refuseUpgrade(socket: Duplex, status: number, message: string) {
  if (socket.destroyed) return;
  const body = JSON.stringify({ status: 'error', message });
  try {
    socket.end(
      `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  } catch {
    socket.destroy();
  }
  // A client that never reads its answer does not hold the connection.
  setTimeout(() => socket.destroy(), 5000).unref();
}

/** The request target's path and query, or null when it cannot be read (a bad escape, a bad absolute URL). */
export function readTarget(req: IncomingMessage): URL | null {
  try {
    return new URL(req.url ?? '/', 'http://localhost');
  } catch {
    return null;
  }
}

/**
 * Open realtime connections per client address (Socket.IO and `/ws/job` together): one address
 * cannot hold the whole server's sockets. Addresses are TCP peers (a reverse proxy is one peer).
 */
export class ConnectionCounter {
  readonly #max: number;
  readonly #open = new Map<string, number>();
  constructor(max: number) {
    this.#max = max;
  }

  /** Counts a connection from `address` if under the cap; the returned release is idempotent. */
  acquire(address: string | undefined): (() => void) | null {
    const key = address ?? 'unknown';
    const n = this.#open.get(key) ?? 0;
    if (n >= this.#max) return null;
    this.#open.set(key, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.#open.get(key) ?? 1) - 1;
      if (left <= 0) this.#open.delete(key);
      else this.#open.set(key, left);
    };
  }
}

export const tooManyConnections = 'Demasiadas conexiones desde esta dirección / Too many connections from this address';
