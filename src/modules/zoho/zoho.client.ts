import { z } from 'zod';
import type { AppContext } from '../../platform/context.ts';
import { OutboundClient } from '../../platform/http/outbound.ts';
import { AppError, UpstreamError } from '../../platform/http/errors.ts';
import { zohoRepository as repo } from './zoho.repository.ts';

const REFRESH_MARGIN_S = 300;

const tokenReply = z.object({ access_token: z.string().min(1), expires_in: z.coerce.number().positive(), api_domain: z.string().optional() });
const errorReply = z.object({ error: z.string(), error_description: z.string().optional() });
const creatorReply = z.object({ code: z.coerce.number(), message: z.string().optional(), data: z.array(z.record(z.string(), z.unknown())).optional() });
const zohoItem = z.object({
  item_id: z.coerce.string(), name: z.string(), sku: z.string().nullish(), rate: z.coerce.number().nullish(), status: z.string(),
  stock_on_hand: z.coerce.number().nullish(), unit: z.string().nullish(), description: z.string().nullish(), last_modified_time: z.string().nullish(),
});
const itemsReply = z.object({
  code: z.coerce.number(), message: z.string().optional(), items: z.array(z.unknown()).default([]),
  page_context: z.object({ page: z.coerce.number(), has_more_page: z.boolean() }).passthrough().optional(),
});
export type ZohoItem = z.infer<typeof zohoItem>;

/** A Zoho failure that waiting will not fix (bad credentials, wrong report). */
export class ZohoConfigError extends AppError {
  constructor(message: string) {
    super('zoho_config', 502, `Zoho: ${message}`);
  }
}

/**
 * Zoho's OAuth refresh flow and the Creator and Inventory reads. The access token lives in the
 * database: refreshed under a lock only when it is within five minutes of expiring, so every process
 * and every restart reuses it.
 */
export class ZohoClient {
  readonly #ctx: AppContext;
  readonly #accounts: OutboundClient;
  readonly #api: OutboundClient;

  constructor(ctx: AppContext) {
    this.#ctx = ctx;
    this.#accounts = new OutboundClient({ service: 'Zoho accounts', baseUrl: ctx.config.ZOHO_ACCOUNTS_URL, timeoutMs: 15_000, logger: ctx.logger });
    this.#api = new OutboundClient({ service: 'Zoho', baseUrl: ctx.config.ZOHO_API_URL, timeoutMs: 30_000, logger: ctx.logger });
  }

  get configured() {
    const c = this.#ctx.config;
    return Boolean(c.ZOHO_CLIENT_ID && c.ZOHO_CLIENT_SECRET && c.ZOHO_REFRESH_TOKEN);
  }

  async accessToken(): Promise<string> {
    const c = this.#ctx.config;
    if (!this.configured) throw new ZohoConfigError('faltan ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET o ZOHO_REFRESH_TOKEN');
    const id = c.ZOHO_CLIENT_ID!;
    return this.#ctx.db.orm.transaction(async (tx) => {
      const cached = await repo.lockToken(tx, id);
      if (cached && cached.expires_at.getTime() - Date.now() > REFRESH_MARGIN_S * 1000) return cached.access_token;
      const res = await this.#accounts.request({
        method: 'POST', path: '/oauth/v2/token', retry: 'never',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: c.ZOHO_REFRESH_TOKEN!, client_id: id, client_secret: c.ZOHO_CLIENT_SECRET! }).toString(),
      });
      const body = safeJson(res.text);
      const ok = tokenReply.safeParse(body);
      if (res.status === 200 && ok.success) {
        await repo.saveToken(tx, { id, access_token: ok.data.access_token, api_domain: ok.data.api_domain ?? null, expires_in: ok.data.expires_in });
        return ok.data.access_token;
      }
      const err = errorReply.safeParse(body);
      if (err.success && (err.data.error === 'invalid_code' || err.data.error === 'invalid_client')) {
        throw new ZohoConfigError(`el refresh token o el cliente OAuth no son válidos (${err.data.error}) — revisa ZOHO_REFRESH_TOKEN / ZOHO_CLIENT_ID`);
      }
      const reason = err.success ? `${err.data.error}${err.data.error_description ? `: ${err.data.error_description}` : ''}` : `HTTP ${res.status}`;
      throw new UpstreamError('Zoho accounts', `no se pudo renovar el token (${reason})`);
    });
  }

  /** The access code of the Creator record named ZOHO_MAP_ACCESS_NAME; null when Zoho has none (3100). */
  async currentAccessCode(): Promise<string | null> {
    const c = this.#ctx.config;
    if (!c.ZOHO_CREATOR_OWNER || !c.ZOHO_CREATOR_APP || !c.ZOHO_CREATOR_REPORT) throw new ZohoConfigError('faltan ZOHO_CREATOR_OWNER, ZOHO_CREATOR_APP o ZOHO_CREATOR_REPORT');
    const path = `/creator/v2.1/data/${encodeURIComponent(c.ZOHO_CREATOR_OWNER)}/${encodeURIComponent(c.ZOHO_CREATOR_APP)}/report/${encodeURIComponent(c.ZOHO_CREATOR_REPORT)}`;
    const res = await this.#get(path, { criteria: `(Access_Name == "${c.ZOHO_MAP_ACCESS_NAME.replaceAll('"', '')}")` });
    const body = creatorReply.safeParse(safeJson(res.text));
    if (!body.success) throw new UpstreamError('Zoho Creator', `respuesta no válida (HTTP ${res.status})`);
    if (body.data.code === 3100) return null;
    if (body.data.code === 4000) throw new UpstreamError('Zoho Creator', 'se alcanzó el límite diario de llamadas (4000)');
    if (body.data.code !== 3000) throw new UpstreamError('Zoho Creator', `código ${body.data.code}: ${body.data.message ?? ''}`, { retryable: res.status >= 500 });
    const value = body.data.data?.[0]?.[c.ZOHO_CODE_FIELD];
    if (typeof value !== 'string' && typeof value !== 'number') throw new UpstreamError('Zoho Creator', `el registro no trae el campo ${c.ZOHO_CODE_FIELD}`);
    return String(value).trim() || null;
  }

  /** One page of Inventory items modified at or after `since` (oldest first). */
  async items(page: number, since: Date | null, signal?: AbortSignal) {
    const c = this.#ctx.config;
    if (!c.ZOHO_ORGANIZATION_ID) throw new ZohoConfigError('falta ZOHO_ORGANIZATION_ID');
    const res = await this.#get('/inventory/v1/items', {
      organization_id: c.ZOHO_ORGANIZATION_ID, page, per_page: 200, sort_column: 'last_modified_time', sort_order: 'A', filter_by: 'Status.All',
      ...(since ? { last_modified_time: zohoTimestamp(since) } : {}),
    }, signal);
    const body = itemsReply.safeParse(safeJson(res.text));
    if (!body.success || body.data.code !== 0) throw new UpstreamError('Zoho Inventory', `respuesta no válida (HTTP ${res.status}${body.success ? `, código ${body.data.code}: ${body.data.message}` : ''})`);
    const items: ZohoItem[] = [];
    let invalid = 0;
    for (const raw of body.data.items) {
      const item = zohoItem.safeParse(raw);
      if (item.success) items.push(item.data);
      else invalid++;
    }
    return { items, invalid, hasMore: body.data.page_context?.has_more_page ?? false };
  }

  async close() {
    await Promise.all([this.#accounts.close(), this.#api.close()]);
  }

  /** An authorised GET; a token Zoho no longer accepts (1030/57, HTTP 401) is dropped and renewed once. */
  async #get(path: string, query: Record<string, string | number>, signal?: AbortSignal) {
    for (let attempt = 0; ; attempt++) {
      const token = await this.accessToken();
      const res = await this.#api.request({ path, query, headers: { authorization: `Zoho-oauthtoken ${token}` }, signal });
      if (res.status === 401 && attempt === 0) {
        await repo.dropToken(this.#ctx.db.orm, this.#ctx.config.ZOHO_CLIENT_ID!, token);
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
export const zohoTimestamp = (d: Date) => `${d.toISOString().slice(0, 19)}+0000`;
export const parseZohoTimestamp = (s: string | null | undefined) => (s ? new Date(s.replace(/([+-]\d{2})(\d{2})$/, '$1:$2')) : null);
