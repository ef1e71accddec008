import { z } from 'zod';
import type { RuntimeContext } from '../../platform/context.ts';
import { OutboundClient } from '../../platform/http/outbound.ts';
import { AppError, UpstreamError } from '../../platform/http/errors.ts';
import { zohoRepository as repo } from './zoho.repository.ts';

/** What the service uses. */
export type ZohoClientDeps = Pick<RuntimeContext, 'db' | 'logger' | 'config' | 'secrets'>;

const REFRESH_MARGIN_S = 300;

const tokenReply = z.object({ access_token: z.string().min(1), expires_in: z.coerce.number().positive(), api_domain: z.string().optional() });
const errorReply = z.object({ error: z.string(), error_description: z.string().optional() });
const creatorReply = z.object({ code: z.coerce.number(), message: z.string().optional(), data: z.array(z.record(z.string(), z.unknown())).optional() });
const zohoItem = z.object({
  item_id: z.coerce.string(),
  name: z.string(),
  sku: z.string().nullish(),
  rate: z.coerce.number().nullish(),
  status: z.string(),
  stock_on_hand: z.coerce.number().nullish(),
  unit: z.string().nullish(),
  description: z.string().nullish(),
  last_modified_time: z.string().nullish(),
});
const itemReply = z.object({ code: z.coerce.number(), message: z.string().optional(), item: z.unknown().optional() });
const itemsReply = z.object({
  code: z.coerce.number(),
  message: z.string().optional(),
  items: z.array(z.unknown()).default([]),
  page_context: z.object({ page: z.coerce.number(), has_more_page: z.boolean() }).passthrough().optional(),
});
export type ZohoItem = z.infer<typeof zohoItem>;

/**
 * How a page of items is read. `changed`: items modified after `since`, newest first — an item edited
 * while the sync pages moves to the front, onto a page already read, so nothing shifts into a page
 * already read and nothing is skipped (sorting oldest first, every such edit shifts the rest back by
 * one and the first item of the next page is never read). `all`: every item in creation order, which
 * edits never change; only a deletion shifts it, and the reconciliation checks every item it did not
 * see before calling it deleted.
 */
export type ItemsQuery = { kind: 'changed'; since: Date } | { kind: 'all' };

/** A Zoho failure that waiting will not fix (bad credentials, wrong report). */
export class ZohoConfigError extends AppError {
  constructor(message: string) {
    super('zoho.config_error', `Zoho: ${message}`);
  }
}

/**
 * Zoho's OAuth refresh flow and the Creator and Inventory reads. The access token lives in the
 * database: refreshed under a lock only when it is within five minutes of expiring, so every process
 * and every restart reuses it.
 */
export class ZohoClient {
  readonly #ctx: ZohoClientDeps;
  readonly #accounts: OutboundClient;
  /** One HTTP client per API domain: the token reply names the data centre's (`api_domain`). */
  readonly #apis = new Map<string, OutboundClient>();

  constructor(ctx: ZohoClientDeps) {
    this.#ctx = ctx;
    this.#accounts = new OutboundClient({ service: 'Zoho accounts', baseUrl: ctx.config.ZOHO_ACCOUNTS_URL, timeoutMs: 15_000, logger: ctx.logger });
  }

  #api(domain: string) {
    let client = this.#apis.get(domain);
    if (!client) {
      client = new OutboundClient({ service: 'Zoho', baseUrl: domain, timeoutMs: 30_000, logger: this.#ctx.logger });
      this.#apis.set(domain, client);
    }
    return client;
  }

  /**
   * Where API calls go: the `api_domain` of the token reply (an account in the EU, India or Australia
   * data centre is served from that centre's domain), else ZOHO_API_URL. The token reply is trusted
   * only over https, or over http when the accounts URL itself is http (a sandbox or simulator) or
   * ALLOW_INSECURE_PROVIDER_URLS is set.
   */
  apiBase(apiDomain: string | null): string {
    const fallback = this.#ctx.config.ZOHO_API_URL;
    if (!apiDomain) return fallback;
    try {
      const url = new URL(apiDomain);
      const plainAllowed = this.#ctx.config.ALLOW_INSECURE_PROVIDER_URLS || new URL(this.#ctx.config.ZOHO_ACCOUNTS_URL).protocol === 'http:';
      if (url.protocol === 'https:' || (url.protocol === 'http:' && plainAllowed)) return url.toString().replace(/\/+$/, '');
    } catch {}
    this.#ctx.logger.warn({ api_domain: apiDomain }, 'Zoho token reply named an api_domain that is not a usable https URL; using ZOHO_API_URL');
    return fallback;
  }

  get configured() {
    const c = this.#ctx.config;
    return Boolean(c.ZOHO_CLIENT_ID && c.ZOHO_CLIENT_SECRET && c.ZOHO_REFRESH_TOKEN);
  }

  async accessToken(): Promise<string> {
    return (await this.#session()).token;
  }

  async #session(): Promise<{ token: string; apiBase: string }> {
    const c = this.#ctx.config;
    if (!this.configured) throw new ZohoConfigError('faltan ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET o ZOHO_REFRESH_TOKEN');
    const id = c.ZOHO_CLIENT_ID!;
    return this.#ctx.db.orm.transaction(async (tx) => {
      const cached = await repo.lockToken(tx, id);
      if (cached && cached.expires_at.getTime() - Date.now() > REFRESH_MARGIN_S * 1000)
        return { token: await this.#ctx.secrets.open(cached.access_token), apiBase: this.apiBase(cached.api_domain) };
      const res = await this.#accounts.request({
        method: 'POST',
        path: '/oauth/v2/token',
        retry: 'never',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: c.ZOHO_REFRESH_TOKEN!,
          client_id: id,
          client_secret: c.ZOHO_CLIENT_SECRET!,
        }).toString(),
      });
      const body = safeJson(res.text);
      const ok = tokenReply.safeParse(body);
      if (res.status === 200 && ok.success) {
        await repo.saveToken(tx, {
          id,
          access_token: this.#ctx.secrets.seal(ok.data.access_token),
          api_domain: ok.data.api_domain ?? null,
          expires_in: ok.data.expires_in,
        });
        return { token: ok.data.access_token, apiBase: this.apiBase(ok.data.api_domain ?? null) };
      }
      const err = errorReply.safeParse(body);
      if (err.success && (err.data.error === 'invalid_code' || err.data.error === 'invalid_client')) {
        throw new ZohoConfigError(`el refresh token o el cliente OAuth no son válidos (${err.data.error}) — revise ZOHO_REFRESH_TOKEN / ZOHO_CLIENT_ID`);
      }
      const reason = err.success ? `${err.data.error}${err.data.error_description ? `: ${err.data.error_description}` : ''}` : `HTTP ${res.status}`;
      throw new UpstreamError('Zoho accounts', `no se pudo renovar el token (${reason})`);
    });
  }

  /** Forgets the stored access token if it is still `token` (Zoho refused it). */
  async #dropToken(token: string) {
    const id = this.#ctx.config.ZOHO_CLIENT_ID!;
    await this.#ctx.db.orm.transaction(async (tx) => {
      const stored = await repo.lockToken(tx, id);
      if (stored && (await this.#ctx.secrets.open(stored.access_token)) === token) await repo.dropToken(tx, id, stored.access_token);
    });
  }

  /** The access code of the Creator record named ZOHO_MAP_ACCESS_NAME; null when Zoho has none (3100). */
  async currentAccessCode(): Promise<string | null> {
    const c = this.#ctx.config;
    if (!c.ZOHO_CREATOR_OWNER || !c.ZOHO_CREATOR_APP || !c.ZOHO_CREATOR_REPORT)
      throw new ZohoConfigError('faltan ZOHO_CREATOR_OWNER, ZOHO_CREATOR_APP o ZOHO_CREATOR_REPORT');
    const path = `/creator/v2.1/data/${encodeURIComponent(c.ZOHO_CREATOR_OWNER)}/${encodeURIComponent(c.ZOHO_CREATOR_APP)}/report/${encodeURIComponent(c.ZOHO_CREATOR_REPORT)}`;
    const res = await this.#get(path, { criteria: `(Access_Name == "${c.ZOHO_MAP_ACCESS_NAME.replaceAll('"', '')}")` });
    const body = creatorReply.safeParse(safeJson(res.text));
    if (!body.success) throw new UpstreamError('Zoho Creator', `respuesta no válida (HTTP ${res.status})`);
    if (body.data.code === 3100) return null;
    if (body.data.code === 4000) throw new UpstreamError('Zoho Creator', 'se alcanzó el límite diario de llamadas (4000)');
    if (body.data.code !== 3000)
      throw new UpstreamError('Zoho Creator', `código ${body.data.code}: ${body.data.message ?? ''}`, { retryable: res.status >= 500 });
    const value = body.data.data?.[0]?.[c.ZOHO_CODE_FIELD];
    if (typeof value !== 'string' && typeof value !== 'number') throw new UpstreamError('Zoho Creator', `el registro no trae el campo ${c.ZOHO_CODE_FIELD}`);
    return String(value).trim() || null;
  }

  /**
   * One page of Inventory items (see ItemsQuery). `last_modified_time` is Zoho's documented filter,
   * "items modified after the given date and time", format yyyy-MM-ddTHH:mm:ssZ.
   */
  async items(page: number, query: ItemsQuery, signal?: AbortSignal) {
    const c = this.#ctx.config;
    if (!c.ZOHO_ORGANIZATION_ID) throw new ZohoConfigError('falta ZOHO_ORGANIZATION_ID');
    const order: Record<string, string> =
      query.kind === 'changed'
        ? { sort_column: 'last_modified_time', sort_order: 'D', last_modified_time: zohoTimestamp(query.since) }
        : { sort_column: 'created_time', sort_order: 'A' };
    const res = await this.#get(
      '/inventory/v1/items',
      { organization_id: c.ZOHO_ORGANIZATION_ID, page, per_page: 200, filter_by: 'Status.All', ...order },
      signal,
    );
    const body = itemsReply.safeParse(safeJson(res.text));
    if (!body.success || body.data.code !== 0)
      throw new UpstreamError(
        'Zoho Inventory',
        `respuesta no válida (HTTP ${res.status}${body.success ? `, código ${body.data.code}: ${body.data.message}` : ''})`,
      );
    const items: ZohoItem[] = [];
    let invalid = 0;
    for (const raw of body.data.items) {
      const item = zohoItem.safeParse(raw);
      if (item.success) items.push(item.data);
      else invalid++;
    }
    return { items, invalid, hasMore: body.data.page_context?.has_more_page ?? false };
  }

  /** One item, or null when Zoho no longer has it (HTTP 404, or a "does not exist" answer). */
  async item(itemId: string, signal?: AbortSignal): Promise<ZohoItem | null> {
    const c = this.#ctx.config;
    if (!c.ZOHO_ORGANIZATION_ID) throw new ZohoConfigError('falta ZOHO_ORGANIZATION_ID');
    const res = await this.#get(`/inventory/v1/items/${encodeURIComponent(itemId)}`, { organization_id: c.ZOHO_ORGANIZATION_ID }, signal);
    const body = itemReply.safeParse(safeJson(res.text));
    if (res.status === 404 || (body.success && body.data.code !== 0 && /not exist|not found|no longer/i.test(body.data.message ?? ''))) return null;
    if (!body.success || body.data.code !== 0) throw new UpstreamError('Zoho Inventory', `respuesta no válida del item ${itemId} (HTTP ${res.status})`);
    const item = zohoItem.safeParse(body.data.item);
    if (!item.success) throw new UpstreamError('Zoho Inventory', `el item ${itemId} no se pudo leer`);
    return item.data;
  }

  async close() {
    await Promise.all([this.#accounts.close(), ...[...this.#apis.values()].map((a) => a.close())]);
  }

  /** An authorised GET; a token Zoho no longer accepts (1030/57, HTTP 401) is dropped and renewed once. */
  async #get(path: string, query: Record<string, string | number>, signal?: AbortSignal) {
    for (let attempt = 0; ; attempt++) {
      const { token, apiBase } = await this.#session();
      const res = await this.#api(apiBase).request({ path, query, headers: { authorization: `Zoho-oauthtoken ${token}` }, signal });
      if (res.status === 401 && attempt === 0) {
        await this.#dropToken(token);
        continue;
      }
      if (res.status >= 500 || res.status === 429) throw new UpstreamError('Zoho', `HTTP ${res.status}`);
      return res;
    }
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** Zoho wants `2024-05-01T10:20:30+0000`. */
const zohoTimestamp = (d: Date) => `${d.toISOString().slice(0, 19)}+0000`;
export const parseZohoTimestamp = (s: string | null | undefined) => (s ? new Date(s.replace(/([+-]\d{2})(\d{2})$/, '$1:$2')) : null);
