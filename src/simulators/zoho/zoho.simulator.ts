import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { randomBytes } from 'node:crypto';

export interface ZohoFaults {
  latencyMs?: number;
  accountsDown?: boolean;
  apiDown?: boolean;
  creatorNotFoundAs404?: boolean;
  dailyLimitReached?: boolean;
  /**
   * After serving this page of an item list, the first item on it is edited (its last_modified_time
   * becomes now), as happens when someone works in Zoho while a sync pages through.
   */
  editAfterServingPage?: number;
}

export interface ZohoSimulatorOptions {
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  owner?: string;
  app?: string;
  report?: string;
  organizationId?: string;
  accessName?: string;
  initialCode?: string;
  items?: number;
  tokenTtlSeconds?: number;
  inventoryRatePerMinute?: number;
  /** Refreshes allowed per window before Zoho's "too many requests" block (10 in 10 minutes). */
  refreshLimit?: number;
  refreshWindowMs?: number;
  /** The token reply's `api_domain` (default: this simulator's API URL). */
  apiDomain?: string;
  host?: string;
  port?: number;
  faults?: ZohoFaults;
}

export interface ZohoSimulatorItem {
  item_id: string;
  name: string;
  sku: string;
  rate: number;
  status: 'active' | 'inactive';
  stock_on_hand: number;
  unit: string;
  description: string;
  created_time: string;
  last_modified_time: string;
}

export interface ZohoSimulator {
  accountsUrl: string;
  apiUrl: string;
  refreshCount: number;
  tokenRequests: number;
  creatorCalls: number;
  inventoryCalls: number;
  /** Query parameters of the last 50 item-list requests. */
  inventoryRequests: Record<string, string>[];
  currentCode(): string | null;
  rotateCode(newCode?: string): string;
  removeAccessRecord(): void;
  items: ZohoSimulatorItem[];
  touchItem(itemId: string, patch: Partial<ZohoSimulatorItem>): void;
  addItems(n: number): ZohoSimulatorItem[];
  deleteItem(itemId: string): void;
  expireAllTokens(): void;
  setFaults(f: ZohoFaults): void;
  close(): Promise<void>;
}

/** Zoho's format: 2024-05-01T10:20:30-0400 (the tenant's offset, no colon). */
export function zohoTime(ms: number): string {
  return `${new Date(ms - 4 * 3600_000).toISOString().slice(0, 19)}-0400`;
}
const parseZohoTime = (s: string) => Date.parse(s.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
const newCode = () => randomBytes(4).toString('hex').toUpperCase();

/** Zoho accounts (OAuth), Creator (the access code report) and Inventory (items) on loopback. */
export async function startZohoSimulator(o: ZohoSimulatorOptions): Promise<ZohoSimulator> {
  const owner = o.owner ?? 'puente-owner',
    app = o.app ?? 'puente-app',
    report = o.report ?? 'Access_Codes';
  const org = o.organizationId ?? '60000000001';
  const accessName = o.accessName ?? 'default_access';
  const ttl = o.tokenTtlSeconds ?? 3600;
  const refreshes: number[] = [];
  const tokens = new Map<string, number>(); // token → expiry
  let faults: ZohoFaults = o.faults ?? {};
  let code: string | null = o.initialCode ?? newCode();
  let minute = { start: Date.now(), count: 0 };
  let nextItem = 0;
  const makeItem = (modified: number): ZohoSimulatorItem => {
    const n = nextItem++;
    return {
      item_id: String(4_815_000_000_000 + n),
      name: `Producto ${n}`,
      sku: `SKU-${String(n).padStart(6, '0')}`,
      rate: Math.round((5 + (n % 97) * 1.5) * 100) / 100,
      status: n % 23 === 0 ? 'inactive' : 'active',
      stock_on_hand: n % 50,
      unit: 'und',
      description: `Artículo de inventario ${n}`,
      created_time: zohoTime(modified),
      last_modified_time: zohoTime(modified),
    };
  };
  const count = o.items ?? 50;
  const base = Date.now() - (count + 60) * 60_000; // one edit a minute, ending an hour ago
  const sockets = new Set<Socket>();
  const sim: ZohoSimulator = {
    accountsUrl: '',
    apiUrl: '',
    refreshCount: 0,
    tokenRequests: 0,
    creatorCalls: 0,
    inventoryCalls: 0,
    inventoryRequests: [],
    items: Array.from({ length: count }, (_, i) => makeItem(base + i * 60_000)),
    currentCode: () => code,
    rotateCode: (next) => (code = next ?? newCode()),
    removeAccessRecord: () => void (code = null),
    touchItem(id, patch) {
      const item = sim.items.find((i) => i.item_id === id);
      if (!item) throw new Error(`no item ${id}`);
      Object.assign(item, patch, { last_modified_time: zohoTime(Date.now()) });
    },
    addItems(n) {
      const added = Array.from({ length: n }, () => makeItem(Date.now()));
      sim.items.push(...added);
      return added;
    },
    deleteItem(id) {
      const at = sim.items.findIndex((i) => i.item_id === id);
      if (at < 0) throw new Error(`no item ${id}`);
      sim.items.splice(at, 1);
    },
    expireAllTokens: () => tokens.clear(),
    setFaults: (f) => void (faults = f),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json;charset=UTF-8', ...headers });
    res.end(JSON.stringify(body));
  };

  async function token(req: IncomingMessage, url: URL, res: ServerResponse) {
    sim.tokenRequests++;
    if (faults.accountsDown) return send(res, 503, { error: 'service unavailable' });
    const params = new URLSearchParams(url.search);
    for (const [k, v] of new URLSearchParams(await body(req))) params.set(k, v);
    if (params.get('grant_type') !== 'refresh_token') return send(res, 200, { error: 'unsupported_grant_type' });
    if (params.get('client_id') !== o.clientId || params.get('client_secret') !== o.clientSecret) return send(res, 200, { error: 'invalid_client' });
    if (params.get('refresh_token') !== o.refreshToken) return send(res, 200, { error: 'invalid_code' });
    const now = Date.now();
    const window = o.refreshWindowMs ?? 600_000;
    while (refreshes.length && refreshes[0]! < now - window) refreshes.shift();
    if (refreshes.length >= (o.refreshLimit ?? 10)) {
      return send(res, 400, {
        error_description: 'You have made too many requests continuously. Please try again after some time.',
        error: 'Access Denied',
        status: 'failure',
      });
    }
    refreshes.push(now);
    sim.refreshCount++;
    const access = `1000.${randomBytes(16).toString('hex')}`;
    tokens.set(access, now + ttl * 1000);
    send(res, 200, { access_token: access, expires_in: ttl, api_domain: o.apiDomain ?? sim.apiUrl, token_type: 'Bearer' });
  }

  const authorized = (req: IncomingMessage) => {
    const m = /^Zoho-oauthtoken (.+)$/.exec(req.headers.authorization ?? '');
    const exp = m ? tokens.get(m[1]!) : undefined;
    return exp !== undefined && exp > Date.now();
  };

  function creator(req: IncomingMessage, url: URL, res: ServerResponse, parts: string[]) {
    sim.creatorCalls++;
    if (!authorized(req)) return send(res, 401, { code: 1030, message: 'Authorization Failure. The access token is either invalid or has expired.' });
    if (faults.dailyLimitReached) return send(res, 200, { code: 4000, message: 'Your account has reached the API call limit for the day.' });
    const [o2, a2, , r2] = parts;
    if (o2 !== owner || a2 !== app || r2 !== report) return send(res, 404, { code: 2892, message: `No application named ${a2} found for ${o2}` });
    const terms = [...(url.searchParams.get('criteria') ?? '').matchAll(/(\w+)\s*==\s*"([^"]*)"/g)].map((m) => [m[1], m[2]]);
    const record = code === null ? null : { ID: '3838000000012345', Access_Name: accessName, Code: code, Modified_Time: '22-Nov-2026 10:20:30' };
    const match = record && terms.every(([k, v]) => (record as Record<string, string>)[k!] === v);
    if (!match) return send(res, faults.creatorNotFoundAs404 ? 404 : 200, { code: 3100, message: 'No records found matching the given criteria.' });
    send(res, 200, { code: 3000, data: [record] });
  }

  /** The checks every Inventory call goes through; true when the call was answered (refused). */
  function inventoryRefused(req: IncomingMessage, url: URL, res: ServerResponse) {
    sim.inventoryCalls++;
    if (!authorized(req)) return (send(res, 401, { code: 57, message: 'You are not authorized to perform this operation' }), true);
    const now = Date.now();
    if (now - minute.start > 60_000) minute = { start: now, count: 0 };
    if (++minute.count > (o.inventoryRatePerMinute ?? 100)) {
      return (send(res, 429, { code: 44, message: 'You have made too many requests. Please try again after some time.' }, { 'retry-after': '1' }), true);
    }
    if (url.searchParams.get('organization_id') !== org) return (send(res, 400, { code: 6041, message: 'Invalid value passed for organization_id' }), true);
    return false;
  }

  function inventoryItem(req: IncomingMessage, url: URL, res: ServerResponse, id: string) {
    if (inventoryRefused(req, url, res)) return;
    const item = sim.items.find((i) => i.item_id === id);
    if (!item) return send(res, 404, { code: 1002, message: 'Item does not exist.' });
    send(res, 200, { code: 0, message: 'success', item });
  }

  function inventory(req: IncomingMessage, url: URL, res: ServerResponse) {
    if (inventoryRefused(req, url, res)) return;
    sim.inventoryRequests.push(Object.fromEntries(url.searchParams));
    if (sim.inventoryRequests.length > 50) sim.inventoryRequests.shift();
    const page = Math.max(1, Number(url.searchParams.get('page') ?? 1) || 1);
    const perPage = Math.min(200, Math.max(1, Number(url.searchParams.get('per_page') ?? 200) || 200));
    const since = url.searchParams.get('last_modified_time');
    const sinceMs = since ? parseZohoTime(since) : NaN;
    const filter = url.searchParams.get('filter_by') ?? 'Status.All';
    // Documented as "items modified after the given date and time": strictly after.
    let list = sim.items.filter(
      (i) =>
        (Number.isNaN(sinceMs) || parseZohoTime(i.last_modified_time) > sinceMs) &&
        (filter === 'Status.All' || (filter === 'Status.Active') === (i.status === 'active')),
    );
    const column = url.searchParams.get('sort_column');
    const dir = url.searchParams.get('sort_order') === 'D' ? -1 : 1;
    if (column === 'last_modified_time' || column === 'created_time') {
      list = [...list].sort((a, b) => dir * (parseZohoTime(a[column]) - parseZohoTime(b[column]) || a.item_id.localeCompare(b.item_id)));
    } else list = [...list].sort((a, b) => dir * a.name.localeCompare(b.name)); // Zoho's default order is by name
    const slice = list.slice((page - 1) * perPage, page * perPage);
    send(res, 200, {
      code: 0,
      message: 'success',
      items: slice,
      page_context: {
        page,
        per_page: perPage,
        has_more_page: page * perPage < list.length,
        sort_column: url.searchParams.get('sort_column') ?? 'name',
        sort_order: url.searchParams.get('sort_order') ?? 'A',
      },
    });
    if (faults.editAfterServingPage === page && slice[0]) sim.touchItem(slice[0].item_id, {});
  }

  const server = createServer((req, res) => {
    const go = () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const parts = url.pathname.split('/').filter(Boolean);
      if (url.pathname === '/accounts/oauth/v2/token' && req.method === 'POST') return void token(req, url, res);
      if (faults.apiDown) return send(res, 503, { code: 503, message: 'Service unavailable' });
      if (parts[0] === 'api' && parts[1] === 'creator' && parts[2] === 'v2.1' && parts[3] === 'data' && req.method === 'GET')
        return creator(req, url, res, parts.slice(4));
      if (url.pathname === '/api/inventory/v1/items' && req.method === 'GET') return inventory(req, url, res);
      const one = /^\/api\/inventory\/v1\/items\/([^/]+)$/.exec(url.pathname);
      if (one && req.method === 'GET') return inventoryItem(req, url, res, decodeURIComponent(one[1]!));
      send(res, 404, { code: 404, message: 'Not found' });
    };
    if (faults.latencyMs) setTimeout(go, faults.latencyMs);
    else go();
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(o.port ?? 0, o.host ?? '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  sim.accountsUrl = `http://${o.host ?? '127.0.0.1'}:${port}/accounts`;
  sim.apiUrl = `http://${o.host ?? '127.0.0.1'}:${port}/api`;
  return sim;
}

function body(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => resolve(data));
  });
}
