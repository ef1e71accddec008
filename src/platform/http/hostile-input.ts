import type { IncomingMessage } from 'node:http';
import type { FastifyRequest } from 'fastify';
import { AppError } from './errors.ts';

/**
 * The dashboard is one module script and one stylesheet from its own origin (web/dist): nothing
 * inline, no other origin. `data:` images are Pico's inline SVG icons; sockets go to the same host.
 */
/** The page's own host as a WebSocket source: older Safari does not count ws: as 'self'. */
const ownSockets = (req: IncomingMessage) => {
  const host = req.headers.host ?? '';
  return /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(host) ? `ws://${host} wss://${host}` : '';
};

export const dashboardCsp = {
  defaultSrc: ["'self'"],
  baseUri: ["'self'"],
  connectSrc: ["'self'", ownSockets],
  fontSrc: ["'self'", 'data:'],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
  imgSrc: ["'self'", 'data:'],
  objectSrc: ["'none'"],
  scriptSrc: ["'self'"],
  scriptSrcAttr: ["'none'"],
  styleSrc: ["'self'"],
};

/** Swagger UI at /docs sets styles from its script, so only it gets inline styles. */
export const docsCsp =
  "default-src 'self'; base-uri 'self'; connect-src 'self'; font-src 'self' data:; form-action 'self'; frame-ancestors 'none'; " +
  "img-src 'self' data:; object-src 'none'; script-src 'self'; script-src-attr 'none'; style-src 'self' 'unsafe-inline'";

const NUL_PLACES = { path: 'la ruta / the path', query: 'la consulta / the query', body: 'el cuerpo / the body' };

/** 400 for a NUL character in the path, the query, the body, or a named form field. */
export function nulByte(where: keyof typeof NUL_PLACES | { field: string }) {
  const place = typeof where === 'string' ? NUL_PLACES[where] : `el campo ${where.field} / field`;
  return new AppError(
    'http.nul_byte',
    `Carácter NUL (\\u0000) no permitido en ${place} / NUL character not allowed in ${place}`,
    typeof where === 'string' ? { where } : { where: 'field', field: where.field },
  );
}

/** True when a string, or any key or string inside an object or array, holds a NUL character. */
export function hasNul(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return value.includes('\0');
  // A raw body (webhooks read the bytes they verify): one look at the bytes, not one per byte.
  if (value instanceof Uint8Array) return value.includes(0);
  if (value === null || typeof value !== 'object' || depth > 64) return false;
  if (Array.isArray(value)) return value.some((v) => hasNul(v, depth + 1));
  for (const [k, v] of Object.entries(value)) if (k.includes('\0') || hasNul(v, depth + 1)) return true;
  return false;
}

/**
 * PostgreSQL's text cannot hold NUL: one in a body, query or path would fail deep in a statement
 * as a 500. It is refused at the door instead.
 */
export async function rejectNulBytes(req: FastifyRequest) {
  if (hasNul(req.params)) throw nulByte('path');
  if (hasNul(req.query)) throw nulByte('query');
  if (hasNul(req.body)) throw nulByte('body');
}

/** The SQLSTATE of a database error (pg and PGlite both carry `code`), looking through wrappers. */
export function sqlState(error: unknown): string | undefined {
  for (let e = error as { code?: unknown; cause?: unknown } | undefined, i = 0; e && i < 5; e = e.cause as typeof e, i++) {
    if (typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) return e.code;
  }
  return undefined;
}

/**
 * What an unexpected error may put in a log line. Drizzle's wrapper carries the statement's
 * parameters (in `params` and in its message), and the driver's error its `detail` and `where`
 * (`Key (email)=(…)`): values such as API keys, phones and emails, which never reach the logs.
 */
export function loggableError(error: unknown): Record<string, unknown> {
  const chain: Record<string, unknown>[] = [];
  for (let e = error as Record<string, unknown> | undefined, i = 0; e && typeof e === 'object' && i < 5; e = e.cause as typeof e, i++) {
    const isQuery = 'params' in e || 'query' in e;
    let message = String(e.message ?? '').split('\nparams:')[0]!;
    // PostgreSQL quotes the offending value in its message (`invalid input syntax for type integer: "…"`);
    // names it knows (constraint, table, column) are kept, anything else quoted is not.
    const names = new Set([e.constraint, e.table, e.column, e.schema, e.dataType].filter((n): n is string => typeof n === 'string'));
    if (typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code))
      message = message.replace(/"((?:[^"\\]|\\.)*)"/g, (m, inner: string) => (names.has(inner) ? m : '"[redacted]"'));
    chain.push({
      type: (e.constructor as { name?: string } | undefined)?.name ?? 'Error',
      message: isQuery ? message.slice(0, 2000) : message,
      ...(typeof e.code === 'string' ? { code: e.code } : {}),
      ...(typeof e.constraint === 'string' ? { constraint: e.constraint } : {}),
      ...(typeof e.table === 'string' ? { table: e.table } : {}),
      ...(typeof e.column === 'string' ? { column: e.column } : {}),
      ...(i === 0 && typeof e.stack === 'string'
        ? {
            stack: e.stack
              .split('\n')
              .filter((l) => l.startsWith('    at '))
              .join('\n'),
          }
        : {}),
    });
  }
  return { ...chain[0], ...(chain.length > 1 ? { causes: chain.slice(1) } : {}) };
}
