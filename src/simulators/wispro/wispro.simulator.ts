import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { randomUUID, createHash } from 'node:crypto';
import { generateWisproClients, type WisproClientRecord } from './wispro.data.ts';

export type { WisproClientRecord } from './wispro.data.ts';

export interface WisproFaults {
  latencyMs?: number;
  /** 0..1: a real HTTP 500. */
  http500Rate?: number;
  /** 0..1: HTTP 200 whose body says status 500, as Wispro does. */
  status500Rate?: number;
  /** 0..1: never answer. */
  timeoutRate?: number;
  /** Every request: HTTP 200 with status 402 in the body. */
  licenceExpired?: boolean;
  /** These pages answer HTTP 500 (deterministic faults for resume tests). */
  failPages?: number[];
}

export interface WisproSimulatorOptions {
  token: string;
  clients?: number;
  seed?: number;
  host?: string;
  port?: number;
  faults?: WisproFaults;
}

export interface WisproSimulator {
  url: string;
  clients: WisproClientRecord[];
  requests: { path: string; query: Record<string, string>; authorization: string | undefined; status: number }[];
  /** The most requests it held open at once (received, not yet answered). */
  maxInFlight: number;
  setFaults(f: WisproFaults): void;
  setToken(token: string): void;
  close(): Promise<void>;
}

const MESSAGES: Record<string, Record<number, string>> = {
  es: { 401: 'No autorizado', 402: 'Pago requerido', 404: 'Registro no encontrado', 500: 'Error del servidor' },
  en: { 401: 'Unauthorized', 402: 'Payment Required', 404: 'Record not found', 500: 'Server error' },
  pt: { 401: 'Não autorizado', 402: 'Pagamento necessário', 404: 'Registro não encontrado', 500: 'Erro do servidor' },
};

const fold = (s: string) => s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();

/** A Wispro API on loopback: raw-token auth, 1-based pages, errors as HTTP 200 with the status in the body. */
export async function startWisproSimulator(o: WisproSimulatorOptions): Promise<WisproSimulator> {
  let token = o.token;
  let faults: WisproFaults = o.faults ?? {};
  const sockets = new Set<Socket>();
  const sim: WisproSimulator = {
    url: '',
    clients: generateWisproClients(o.clients ?? 250, o.seed ?? 42),
    requests: [],
    maxInFlight: 0,
    setFaults: (f) => void (faults = f),
    setToken: (t) => void (token = t),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  let inFlight = 0;
  const server = createServer((req, res) => {
    sim.maxInFlight = Math.max(sim.maxInFlight, ++inFlight);
    res.on('close', () => inFlight--);
    const delay = faults.latencyMs ?? 0;
    if (delay > 0) setTimeout(() => handle(req, res), delay);
    else handle(req, res);
  });
  server.keepAliveTimeout = 30_000;
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  function send(res: ServerResponse, http: number, body: unknown, record: WisproSimulator['requests'][number]) {
    record.status = (body as { status?: number }).status ?? http;
    const text = JSON.stringify(body);
    res.writeHead(http, {
      'content-type': 'application/json; charset=utf-8',
      etag: `W/"${createHash('md5').update(text).digest('hex')}"`,
      'x-request-id': randomUUID(),
      'x-runtime': (Math.random() / 10).toFixed(6),
    });
    res.end(text);
  }

  function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const query = Object.fromEntries(url.searchParams);
    const record = { path: url.pathname, query, authorization: req.headers.authorization, status: 0 };
    sim.requests.push(record);
    if (sim.requests.length > 100_000) sim.requests.splice(0, 50_000);
    const lang = MESSAGES[query.locale ?? 'es'] ?? MESSAGES.es!;
    const fail = (status: number) => send(res, 200, { status, meta: {}, message: lang[status], errors: {} }, record);

    if ((faults.timeoutRate ?? 0) > Math.random()) return; // hold the request; close() destroys it
    if ((faults.http500Rate ?? 0) > Math.random()) return send(res, 500, { status: 500, error: 'Internal Server Error' }, record);
    if (req.headers.authorization !== token) return fail(401);
    if (faults.licenceExpired) return fail(402);
    if ((faults.status500Rate ?? 0) > Math.random()) return fail(500);
    if (req.method !== 'GET') return send(res, 404, { status: 404, meta: {}, message: lang[404], errors: {} }, record);

    const one = /^\/api\/v1\/clients\/([^/]+)$/.exec(url.pathname);
    if (one) {
      const client = sim.clients.find((c) => c.id === decodeURIComponent(one[1]!));
      return client ? send(res, 200, { status: 200, meta: { object: 'client' }, data: client }, record) : fail(404);
    }
    if (url.pathname !== '/api/v1/clients') return send(res, 404, { status: 404, meta: {}, message: lang[404], errors: {} }, record);

    const page = Math.max(1, Number.parseInt(query.page ?? '1', 10) || 1);
    if (faults.failPages?.includes(page)) return send(res, 500, { status: 500, error: 'Internal Server Error' }, record);
    const perPage = Math.min(1000, Math.max(1, Number.parseInt(query.per_page ?? '20', 10) || 20));
    const list = filter(sim.clients, query);
    const totalPages = Math.ceil(list.length / perPage);
    send(
      res,
      200,
      {
        status: 200,
        meta: { object: 'client', pagination: { total_records: list.length, total_pages: totalPages, per_page: perPage, current_page: page } },
        data: list.slice((page - 1) * perPage, page * perPage),
      },
      record,
    );
  }

  await new Promise<void>((resolve) => server.listen(o.port ?? 0, o.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  sim.url = `http://${o.host ?? '127.0.0.1'}:${port}/api/v1`;
  return sim;
}

/** Ransack-style filters the real API accepts. */
function filter(clients: WisproClientRecord[], q: Record<string, string>): WisproClientRecord[] {
  let out = clients;
  if (q.national_identification_number_eq !== undefined) out = out.filter((c) => c.national_identification_number === q.national_identification_number_eq);
  if (q.national_identification_number_cont) out = out.filter((c) => c.national_identification_number?.includes(q.national_identification_number_cont!));
  if (q.custom_id_eq !== undefined) out = out.filter((c) => c.custom_id === q.custom_id_eq);
  if (q.name_unaccent_cont) {
    const needle = fold(q.name_unaccent_cont);
    out = out.filter((c) => fold(c.name).includes(needle));
  }
  return out;
}
