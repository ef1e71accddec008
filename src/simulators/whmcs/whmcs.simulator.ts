import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createHash } from 'node:crypto';
import { generateWhmcsClients } from './whmcs.data.ts';

export interface WhmcsFaults {
  /** Added to every answer. */
  latencyMs?: number;
  /** Reset the connection without answering. */
  down?: boolean;
  /** Accept and never answer: the client's timeout must fire. */
  hang?: boolean;
  /** HTTP 200 text/html maintenance page, as a WHMCS behind a maintenance switch answers. */
  html?: boolean;
  /** HTTP 200 application/json with a truncated body. */
  garbage?: boolean;
  /** HTTP 500 with an HTML body (a PHP fatal error). */
  serverError?: boolean;
  /** The next N requests get `down` behaviour, then normal again. */
  failNext?: number;
}

export interface WhmcsSimulatorOptions {
  identifier: string;
  secret: string;
  accessKey?: string;
  /** Default loopback; [] means nobody without the access key. */
  allowedIps?: string[];
  /** Lowercased action names the credential's role may use; default all. */
  allowedActions?: string[];
  /** Pre-seeded clients (deterministic); default 7. */
  clients?: number;
  version?: string;
  /** Every number in every reply sent as a string, as older installs do. */
  legacyStrings?: boolean;
  /** The duplicate-email message of AddClient (older installs: "The email address entered is not available for use."). */
  duplicateEmailMessage?: string;
  host?: string;
  port?: number;
  faults?: WhmcsFaults;
}

export interface WhmcsSimClient {
  id: number;
  firstname: string;
  lastname: string;
  companyname: string;
  email: string;
  address1: string;
  address2: string;
  city: string;
  state: string;
  postcode: string;
  country: string;
  phonenumber: string;
  status: string;
  datecreated: string;
  password?: string;
}

export interface WhmcsSimulator {
  /** Base URL, …/whmcs; the API is at `${url}/includes/api.php`. */
  url: string;
  /** Every request that reached the handler, faulted ones included. */
  requests: number;
  /** Count per lowercased action, for requests the API code saw (not those a fault swallowed). */
  actions: Record<string, number>;
  /** The last 50 parsed form bodies. */
  lastBodies: Record<string, string>[];
  /** Time spent on each answered request, body read to response end, injected latency excluded (ms). */
  serviceTimeMs: number[];
  /** The welcome e-mails AddClient sent (every AddClient without a true `noemail`). */
  welcomeEmails: { clientid: number; email: string }[];
  /** GetClientsDetails calls that asked for statistics (`stats` true as PHP reads it: any value but "", "0"). */
  statsRequests: number;
  clients(): WhmcsSimClient[];
  findByEmail(email: string): WhmcsSimClient | undefined;
  addClient(c: Partial<WhmcsSimClient> & { email: string }): WhmcsSimClient;
  setFaults(f: WhmcsFaults): void;
  setAllowedIps(ips: string[]): void;
  close(): Promise<void>;
}

type Reply = { status: number; body: Record<string, unknown> };
type Params = Record<string, string>;

const LOOPBACK = ['127.0.0.1', '::1', '::ffff:127.0.0.1'];
const BASE_PATH = '/whmcs';
const MAX_BODIES = 50;
const MAX_TIMES = 100_000;

const NOT_FOUND_HTML = '<html><body><h1>404 Not Found</h1></body></html>';
const MAINTENANCE_HTML =
  '<!DOCTYPE html><html><head><title>Down for Maintenance</title></head><body><h1>Down for Maintenance</h1><p>An upgrade is currently in progress. Please come back soon.</p></body></html>';
const FATAL_HTML =
  '<html><body><br />\n<b>Fatal error</b>:  Uncaught PDOException: SQLSTATE[HY000] [2002] Connection refused in /home/whmcs/public_html/vendor/illuminate/database/Connectors/Connector.php:70</body></html>';
const GARBAGE_JSON = '{"result":"success","totalresults":3,"startnumber":0,"numreturned":3,"clients":{"client":[{"id":1,"firstname":"Jos';

// The few countries tenants use; phonenumberformatted needs the calling code.
const COUNTRIES: Record<string, [string, number]> = {
  VE: ['Venezuela', 58],
  PE: ['Peru', 51],
  CO: ['Colombia', 57],
  EC: ['Ecuador', 593],
  CL: ['Chile', 56],
  AR: ['Argentina', 54],
  MX: ['Mexico', 52],
  PA: ['Panama', 507],
  DO: ['Dominican Republic', 1],
  US: ['United States', 1],
  ES: ['Spain', 34],
};

const ADD_REQUIRED: [string, string][] = [
  ['firstname', 'You did not enter your first name'],
  ['lastname', 'You did not enter your last name'],
  ['email', 'You did not enter your email address'],
  ['address1', 'You did not enter your address (line 1)'],
  ['city', 'You did not enter your city'],
  ['state', 'You did not enter your state'],
  ['postcode', 'You did not enter your postcode'],
  ['country', 'You did not enter your country'],
  ['phonenumber', 'You did not enter your phone number'],
];
const UPDATABLE = [
  'firstname',
  'lastname',
  'companyname',
  'email',
  'address1',
  'address2',
  'city',
  'state',
  'postcode',
  'country',
  'phonenumber',
  'status',
] as const;
const ORDERABLE = new Set(['id', 'firstname', 'lastname', 'companyname', 'email', 'datecreated']);

const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const today = () => new Date().toISOString().slice(0, 10);
// MySQL's *_ci collations ignore case and accents, so WHMCS's LIKE does too.
const fold = (s: string) => s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const error = (message: string, status = 200): Reply => ({ status, body: { result: 'error', message } });
const ok = (body: Record<string, unknown>): Reply => ({ status: 200, body: { result: 'success', ...body } });
/** How PHP reads a form value as a boolean: "", "0" and absent are false; everything else ("false" too) is true. */
const phpTrue = (v: string | undefined) => v !== undefined && v !== '' && v !== '0';

/** Older installs send every number as a string. */
function stringifyNumbers(v: unknown): unknown {
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) return v.map(stringifyNumbers);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, stringifyNumbers(x)]));
  return v;
}

function uuidOf(id: number): string {
  const h = md5(`whmcs-client-${id}`);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function formatPhone(phone: string, country: string): string {
  const digits = phone.replace(/\D/g, '');
  if (!digits) return '';
  if (phone.trim().startsWith('+')) return `+${digits.slice(0, 2)}.${digits.slice(2)}`;
  const cc = COUNTRIES[country]?.[1];
  return cc ? `+${cc}.${digits.replace(/^0+/, '')}` : digits;
}

/** A WHMCS install's `includes/api.php` on loopback: form POSTs, HTTP 200 business errors, string ids. */
export async function startWhmcsSimulator(o: WhmcsSimulatorOptions): Promise<WhmcsSimulator> {
  let faults: WhmcsFaults = { ...o.faults };
  let allowedIps = new Set(o.allowedIps ?? LOOPBACK);
  const allowedActions = o.allowedActions ? new Set(o.allowedActions.map((a) => a.toLowerCase())) : null;
  const version = o.version ?? '8.10.1';
  const duplicateEmail = o.duplicateEmailMessage ?? 'A user already exists with that email address';
  const byId = new Map<number, WhmcsSimClient>();
  const byEmail = new Map<string, WhmcsSimClient>(); // lowercased email → client
  let nextId = 1;
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const store = (c: WhmcsSimClient) => {
    byId.set(c.id, c);
    byEmail.set(c.email.toLowerCase(), c);
    if (c.id >= nextId) nextId = c.id + 1;
    return c;
  };
  for (const c of generateWhmcsClients(o.clients ?? 7)) store(c);

  const sim: WhmcsSimulator = {
    url: '',
    requests: 0,
    actions: {},
    lastBodies: [],
    serviceTimeMs: [],
    welcomeEmails: [],
    statsRequests: 0,
    clients: () => [...byId.values()],
    findByEmail: (email) => byEmail.get(email.toLowerCase()),
    addClient(c) {
      if (byEmail.has(c.email.toLowerCase())) throw new Error(`duplicate email ${c.email}`);
      if (c.id !== undefined && byId.has(c.id)) throw new Error(`duplicate id ${c.id}`);
      return store({
        firstname: '',
        lastname: '',
        companyname: '',
        address1: '',
        address2: '',
        city: '',
        state: '',
        postcode: '',
        country: 'VE',
        phonenumber: '',
        status: 'Active',
        datecreated: today(),
        ...c,
        id: c.id ?? nextId,
      });
    },
    setFaults: (f) => void (faults = { ...f }),
    setAllowedIps: (ips) => void (allowedIps = new Set(ips)),
    close: async () => {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };

  // ---- actions -------------------------------------------------------------------------------

  const clientId = (v: string | undefined) => (v && /^\s*\d+/.test(v) ? Number.parseInt(v, 10) : NaN);

  function getClients(p: Params): Reply {
    // WHMCS casts to int and treats 0 as "not given": 25 rows unless limitnum says otherwise.
    const start = Math.max(0, Number.parseInt(p.limitstart ?? '', 10) || 0);
    const limit = Math.max(0, Number.parseInt(p.limitnum ?? '', 10) || 0) || 25;
    let list = [...byId.values()];
    const search = fold(p.search ?? '');
    if (search) {
      list = list.filter((c) => [c.email, c.firstname, c.lastname, `${c.firstname} ${c.lastname}`, c.companyname].some((f) => fold(f).startsWith(search)));
    }
    if (p.status) {
      const status = p.status.toLowerCase();
      list = list.filter((c) => c.status.toLowerCase() === status);
    }
    const orderby = ORDERABLE.has((p.orderby ?? '').toLowerCase()) ? ((p.orderby ?? '').toLowerCase() as keyof WhmcsSimClient) : 'id';
    const dir = (p.sorting ?? '').toUpperCase() === 'DESC' ? -1 : 1;
    // The Map is in id order already; sort only when asked for something else.
    if (orderby !== 'id') {
      list.sort((a, b) => {
        const x = fold(String(a[orderby] ?? '')),
          y = fold(String(b[orderby] ?? ''));
        return dir * (x < y ? -1 : x > y ? 1 : a.id - b.id);
      });
    } else if (dir < 0) list.reverse();
    const page = list.slice(start, start + limit);
    return ok({
      totalresults: list.length,
      startnumber: start,
      numreturned: page.length,
      // An empty result is "" rather than an empty list: PHP's empty array through WHMCS's serialiser.
      clients:
        page.length === 0
          ? ''
          : {
              client: page.map((c) => ({
                id: c.id,
                firstname: c.firstname,
                lastname: c.lastname,
                companyname: c.companyname,
                email: c.email,
                datecreated: c.datecreated,
                groupid: 0,
                status: c.status,
              })),
            },
    });
  }

  function detailsOf(c: WhmcsSimClient): Record<string, unknown> {
    const id = String(c.id);
    const country = COUNTRIES[c.country];
    return {
      id,
      client_id: id,
      userid: id,
      uuid: uuidOf(c.id),
      firstname: c.firstname,
      lastname: c.lastname,
      fullname: `${c.firstname} ${c.lastname}`.trim(),
      companyname: c.companyname,
      email: c.email,
      address1: c.address1,
      address2: c.address2,
      city: c.city,
      fullstate: c.state,
      state: c.state,
      postcode: c.postcode,
      countrycode: c.country,
      country: c.country,
      countryname: country?.[0] ?? c.country,
      phonecc: country?.[1] ?? 0,
      phonenumber: c.phonenumber,
      phonenumberformatted: formatPhone(c.phonenumber, c.country),
      tax_id: '',
      notes: '',
      status: c.status,
      credit: '0.00',
      taxexempt: false,
      latefeeoveride: false,
      groupid: '0',
      datecreated: c.datecreated,
      lastlogin: 'No Login Logged',
      email_verified: false,
    };
  }

  function statsOf() {
    return {
      numdueinvoices: 0,
      dueinvoicesbalance: '$0.00 USD',
      income: '$0.00 USD',
      incredit: false,
      creditbalance: '$0.00 USD',
      productsnumactive: 0,
      productsnumtotal: 0,
      numactivedomains: 0,
      numdomains: 0,
      numactivetickets: 0,
      numtickets: 0,
    };
  }

  function getClientsDetails(p: Params): Reply {
    if (!p.clientid && !p.email) return error('Either clientid Or email Is Required');
    // clientid wins when both are sent, as in WHMCS.
    const c = p.clientid ? byId.get(clientId(p.clientid)) : byEmail.get(p.email!.toLowerCase());
    if (!c) return error('Client Not Found');
    const client = detailsOf(c);
    // Statistics cost WHMCS a query per invoice and service type; they come only when asked for.
    const stats = phpTrue(p.stats) ? (sim.statsRequests++, { stats: statsOf() }) : {};
    // The top-level copy is deprecated but still sent; older integrations read only it.
    return ok({ userid: client.userid, id: client.id, client, ...client, ...stats });
  }

  function addClient(p: Params): Reply {
    const skip = p.skipvalidation === 'true' || p.skipvalidation === '1';
    for (const [field, message] of ADD_REQUIRED) {
      if (skip && field !== 'email') continue;
      if (!p[field]?.trim()) return error(message);
      if (field === 'email' && !EMAIL_RE.test(p.email!.trim())) return error('The email address you entered was not valid');
      if (field === 'country' && !/^[A-Za-z]{2}$/.test(p.country!.trim())) return error('Invalid Country');
    }
    if (!skip && !p.owner_user_id && !p.password2) return error('You did not enter a password');
    const email = p.email!.trim();
    if (byEmail.has(email.toLowerCase())) return error(duplicateEmail);
    const c = store({
      id: nextId,
      firstname: p.firstname ?? '',
      lastname: p.lastname ?? '',
      companyname: p.companyname ?? '',
      email,
      address1: p.address1 ?? '',
      address2: p.address2 ?? '',
      city: p.city ?? '',
      state: p.state ?? '',
      postcode: p.postcode ?? '',
      country: (p.country ?? 'VE').trim().toUpperCase(),
      phonenumber: p.phonenumber ?? '',
      status: 'Active',
      datecreated: today(),
      ...(p.password2 ? { password: p.password2 } : {}),
    });
    // WHMCS sends the "Client Signup Email" template unless noemail is true.
    if (!phpTrue(p.noemail)) sim.welcomeEmails.push({ clientid: c.id, email: c.email });
    return ok({ clientid: String(c.id) });
  }

  function updateClient(p: Params): Reply {
    const c = p.clientid ? byId.get(clientId(p.clientid)) : p.clientemail ? byEmail.get(p.clientemail.toLowerCase()) : undefined;
    if (!c) return error('Client ID Not Found');
    if (p.email !== undefined && p.email.toLowerCase() !== c.email.toLowerCase()) {
      const other = byEmail.get(p.email.toLowerCase());
      if (other && other.id !== c.id) return error('Duplicate Email Address');
    }
    const oldEmail = c.email.toLowerCase();
    // Only the fields present change; the rest stay as they were.
    for (const field of UPDATABLE) {
      const v = p[field];
      if (v !== undefined) c[field] = field === 'country' ? v.toUpperCase() : v;
    }
    if (p.password2) c.password = p.password2;
    if (c.email.toLowerCase() !== oldEmail) {
      byEmail.delete(oldEmail);
      byEmail.set(c.email.toLowerCase(), c);
    }
    return ok({ clientid: String(c.id) });
  }

  function deleteClient(p: Params): Reply {
    const c = byId.get(clientId(p.clientid));
    if (!c) return error('Client ID Not Found');
    byId.delete(c.id);
    byEmail.delete(c.email.toLowerCase());
    return ok({ clientid: String(c.id) });
  }

  const ACTIONS: Record<string, (p: Params) => Reply> = {
    whmcsdetails: () => ok({ whmcs: { version, canonicalversion: `${version}-release.1` } }),
    getclients: getClients,
    getclientsdetails: getClientsDetails,
    addclient: addClient,
    updateclient: updateClient,
    deleteclient: deleteClient,
  };

  /** Access checks in WHMCS's order, then the action. */
  function api(p: Params, remote: string): Reply {
    const action = (p.action ?? '').trim().toLowerCase();
    if (!action) return error('Empty action request', 400);
    sim.actions[action] = (sim.actions[action] ?? 0) + 1;
    // Legacy admin credentials: username and the password or its md5.
    const identifier = p.identifier || p.username;
    const secret = p.secret || p.password;
    if (!identifier || !secret) return error('Invalid or missing credentials', 403);
    const secretOk = secret === o.secret || (!p.secret && secret === md5(o.secret));
    if (identifier !== o.identifier || !secretOk) return error('Authentication Failed', 403);
    const keyOk = o.accessKey !== undefined && p.accesskey === o.accessKey;
    if (!keyOk && !allowedIps.has(remote)) return error(`Invalid IP ${remote}`, 403);
    if (allowedActions && !allowedActions.has(action)) return error(`Invalid Permissions: API action "${action}" is not allowed`, 403);
    const handler = ACTIONS[action];
    return handler ? handler(p) : error('Command Not Found');
  }

  // ---- HTTP ----------------------------------------------------------------------------------

  const sendRaw = (res: ServerResponse, status: number, type: string, text: string) => {
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };

  const server = createServer((req, res) => void handle(req, res));
  server.keepAliveTimeout = 30_000;
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  async function handle(req: IncomingMessage, res: ServerResponse) {
    sim.requests++;
    req.on('error', () => {}); // a reset client must not crash the simulator
    if ((faults.failNext ?? 0) > 0) {
      faults.failNext = faults.failNext! - 1;
      return void req.socket.resetAndDestroy();
    }
    if (faults.down) return void req.socket.resetAndDestroy();
    if (faults.hang) return void req.resume(); // drain the body, never answer; close() destroys the socket
    const text = await readBody(req);
    const delay = faults.latencyMs ?? 0;
    if (delay > 0) {
      await new Promise<void>((r) => {
        const t = setTimeout(() => (timers.delete(t), r()), delay);
        timers.add(t);
      });
    }
    const started = performance.now();
    res.on('finish', () => {
      if (sim.serviceTimeMs.length >= MAX_TIMES) sim.serviceTimeMs.shift();
      sim.serviceTimeMs.push(performance.now() - started);
    });

    const url = new URL(req.url ?? '/', 'http://localhost');
    // WHMCS reads $_REQUEST: the query string counts too, the form body wins.
    const params: Params = Object.fromEntries(url.searchParams);
    for (const [k, v] of new URLSearchParams(text)) params[k] = v;
    sim.lastBodies.push(params);
    if (sim.lastBodies.length > MAX_BODIES) sim.lastBodies.shift();

    if (faults.html) return sendRaw(res, 200, 'text/html; charset=utf-8', MAINTENANCE_HTML);
    if (faults.garbage) return sendRaw(res, 200, 'application/json', GARBAGE_JSON);
    if (faults.serverError) return sendRaw(res, 500, 'text/html; charset=UTF-8', FATAL_HTML);
    if (url.pathname !== `${BASE_PATH}/includes/api.php`) return sendRaw(res, 404, 'text/html', NOT_FOUND_HTML);

    const reply = api(params, req.socket.remoteAddress ?? '');
    const body = o.legacyStrings ? stringifyNumbers(reply.body) : reply.body;
    sendRaw(res, reply.status, 'application/json; charset=utf-8', JSON.stringify(body));
  }

  await new Promise<void>((r) => server.listen(o.port ?? 0, o.host ?? '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const host = o.host ?? '127.0.0.1';
  sim.url = `http://${host.includes(':') ? `[${host}]` : host}:${port}${BASE_PATH}`;
  return sim;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (data += c));
    req.on('end', () => resolve(data));
  });
}
