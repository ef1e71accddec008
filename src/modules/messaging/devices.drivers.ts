import { Agent, request } from 'undici';
import { forProvider, type Provider } from './phones.format.ts';

export interface DeviceRow {
  id: number;
  name: string;
  provider: Provider;
  base_url: string;
  credentials: Record<string, string>;
  status: 'active' | 'paused';
  status_reason: string | null;
  connected: boolean;
  connection_state: string | null;
  last_health_at: Date | null;
  last_error: string | null;
  messages_per_minute: number | null;
  min_gap_ms: number;
  max_gap_ms: number;
  pause_after: number | null;
  pause_seconds: number;
  daily_cap: number | null;
  typing_delay_ms: number;
  template_name: string | null;
  template_language: string;
  sent_today: number;
  sent_day: string | null;
  sent_total: number;
  /** The bulk job sending with this device now, while `job_lease_until` is ahead. */
  job_id: string | null;
  job_lease_until: Date | null;
  /** Set when a job lets go of the device: where its pacing allows the next send. */
  next_send_at: Date | null;
  /** Where Puente last pointed the engine's webhook (receipts and inbound messages). */
  webhook_base_url?: string | null;
  receipts_unknown?: number | string;
  created_at: Date;
  updated_at: Date;
}

/** What a job asks of a Cloud API device: an approved template and its body parameters. */
export interface TemplateSpec { name: string; language: string; params: string[] }

/**
 * - `sent`: accepted, with the provider's message id.
 * - `retry`: the provider did not take it and said so (rate limit, 5xx, refused connection): send later.
 * - `failed`: this recipient cannot get it (not on WhatsApp, outside the 24 h window, bad template).
 * - `device`: this device must stop (ban, quality block, bad credentials, session down); the
 *   recipient was not sent and goes to another device.
 * - `uncertain`: no answer (timeout, connection reset mid-call): it may have been sent; never retried.
 * - `job`: the job itself is wrong for every recipient (a rejected template): the job stops.
 */
export type SendOutcome =
  | { kind: 'sent'; id: string }
  | { kind: 'retry'; reason: string; /** at least this many seconds before the next try */ after?: number }
  | { kind: 'failed' | 'device' | 'uncertain' | 'job'; reason: string };

export interface Health { connected: boolean; state: string; error?: string }

export interface Driver {
  send(e164: string, text: string, template: TemplateSpec | null, signal?: AbortSignal): Promise<SendOutcome>;
  health(): Promise<Health>;
  /**
   * Points the engine's webhook at `url` (Evolution's instance webhook, WAHA's session webhooks, the
   * simulator's device). Absent for the Cloud API, whose callback is set in Meta's app dashboard.
   */
  configureWebhook?(url: string, secret: string): Promise<void>;
  /** Work to do before the pacing wait (WAHA's number check), so that the paced moment is the send itself. */
  prepare?(e164: string, signal?: AbortSignal): Promise<void>;
}

/** Template errors: the template or its parameters are wrong for everyone, so the whole job stops. */
export const CLOUD_TEMPLATE_ERRORS = new Set([132000, 132001, 132005, 132007, 132012, 132015, 132016, 132068, 132069]);

const agent = new Agent({ connections: 256, keepAliveTimeout: 30_000, pipelining: 1 });
const SEND_TIMEOUT_MS = 30_000;

interface Reply { status: number; body: any }

async function call(url: string, init: { method?: string; headers: Record<string, string>; body?: unknown; timeoutMs?: number; signal?: AbortSignal }): Promise<Reply | SendOutcome> {
  const timeoutMs = init.timeoutMs ?? SEND_TIMEOUT_MS;
  let sentBody = false;
  try {
    const res = await request(url, {
      method: (init.method ?? 'POST') as 'POST',
      headers: { 'content-type': 'application/json', ...init.headers },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      dispatcher: agent,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: init.signal,
    });
    sentBody = true;
    const text = await res.body.text();
    let body: any = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = { raw: text.slice(0, 200) };
    }
    return { status: res.statusCode, body };
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { code?: string };
    const code = e.code ?? (e.cause as NodeJS.ErrnoException | undefined)?.code ?? e.name;
    // Refused or unresolvable: the request never reached the provider, so it is safe to send again.
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') return { kind: 'retry', reason: `ConnectError ${code}` };
    if (!sentBody && (code === 'UND_ERR_CONNECT_TIMEOUT')) return { kind: 'retry', reason: 'ConnectTimeout' };
    return { kind: 'uncertain', reason: `${code === 'UND_ERR_HEADERS_TIMEOUT' ? 'Timeout' : code}: sin respuesta del proveedor / no answer` };
  }
}

const isOutcome = (r: Reply | SendOutcome): r is SendOutcome => 'kind' in r;
const base = (d: DeviceRow) => d.base_url.replace(/\/+$/, '');

/** Meta's WhatsApp Cloud API. Error codes: developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes. */
function cloudDriver(d: DeviceRow): Driver {
  const version = d.credentials.api_version || 'v21.0';
  const headers = { authorization: `Bearer ${d.credentials.access_token ?? ''}` };
  const RETRY = new Set([4, 80007, 130429, 131056, 1, 2, 131000]);
  const DEVICE = new Set([131048, 131049, 368, 131031, 190, 10, 200, 131005, 100]);
  const RECIPIENT = new Set([131026, 131047, 131051, 131052, 131008, 131009, 131021]);
  return {
    async send(e164, text, template, signal) {
      const to = forProvider(e164, 'cloud');
      const message = template
        ? { type: 'template', template: { name: template.name, language: { code: template.language }, components: template.params.length ? [{ type: 'body', parameters: template.params.map((p) => ({ type: 'text', text: p })) }] : [] } }
        : { type: 'text', text: { preview_url: false, body: text } };
      const r = await call(`${base(d)}/${version}/${d.credentials.phone_number_id}/messages`, {
        headers, body: { messaging_product: 'whatsapp', recipient_type: 'individual', to, ...message }, signal,
      });
      if (isOutcome(r)) return r;
      const id = r.body?.messages?.[0]?.id;
      if (r.status < 300 && typeof id === 'string') return { kind: 'sent', id };
      const e = r.body?.error ?? {};
      const code = Number(e.code);
      const reason = `${code || r.status} ${e.message ?? 'error'}${e.error_data?.details ? ` (${e.error_data.details})` : ''}`;
      // A too-long body is code 100 too, but a recipient problem, not the device's.
      if (code === 100 && /must be at most|too long|param text/i.test(String(e.message))) return { kind: 'failed', reason };
      if (CLOUD_TEMPLATE_ERRORS.has(code)) return { kind: 'job', reason };
      // Pair rate limit: this recipient got a message moments ago; about one every 6 s is allowed.
      if (code === 131056) return { kind: 'retry', reason, after: 6 };
      if (RETRY.has(code) || r.status === 429 || r.status >= 500) return { kind: 'retry', reason };
      if (RECIPIENT.has(code)) return { kind: 'failed', reason };
      if (DEVICE.has(code) || r.status === 401 || r.status === 403) return { kind: 'device', reason };
      return { kind: 'failed', reason };
    },
    async health() {
      const r = await call(`${base(d)}/${version}/${d.credentials.phone_number_id}`, { method: 'GET', headers, timeoutMs: 10_000 });
      if (isOutcome(r)) return { connected: false, state: 'unreachable', error: (r as { reason: string }).reason };
      if (r.status < 300) return { connected: true, state: 'CONNECTED' };
      return { connected: false, state: `HTTP ${r.status}`, error: r.body?.error?.message ?? `HTTP ${r.status}` };
    },
  };
}

/** Evolution API (Baileys). `delay` holds the answer while "typing…" shows, so the timeout covers it. */
function evolutionDriver(d: DeviceRow): Driver {
  const instance = encodeURIComponent(d.credentials.instance ?? '');
  const headers = { apikey: d.credentials.api_key ?? '' };
  return {
    async send(e164, text, _template, signal) {
      const r = await call(`${base(d)}/message/sendText/${instance}`, {
        headers, body: { number: forProvider(e164, 'evolution'), text, ...(d.typing_delay_ms ? { delay: d.typing_delay_ms } : {}) },
        timeoutMs: SEND_TIMEOUT_MS + d.typing_delay_ms, signal,
      });
      if (isOutcome(r)) return r;
      const id = r.body?.key?.id;
      if (r.status < 300 && typeof id === 'string') return { kind: 'sent', id };
      const detail = JSON.stringify(r.body?.response?.message ?? r.body?.message ?? r.body ?? '').slice(0, 200);
      const reason = `HTTP ${r.status} ${detail}`;
      if (r.status === 400 && /"exists":false/.test(JSON.stringify(r.body))) return { kind: 'failed', reason: `no tiene WhatsApp / not on WhatsApp (${detail})` };
      if (r.status === 401 || r.status === 403 || r.status === 404 || /connection closed|not connected/i.test(detail)) return { kind: 'device', reason };
      if (r.status === 429 || r.status >= 500) return { kind: 'retry', reason };
      return { kind: 'failed', reason };
    },
    async configureWebhook(url, secret) {
      // Evolution v2: POST /webhook/set/{instance}; it sends the headers given here with every event.
      const events = ['MESSAGES_UPSERT', 'MESSAGES_UPDATE'];
      const found = await call(`${base(d)}/webhook/find/${instance}`, { method: 'GET', headers, timeoutMs: 10_000 });
      const current = isOutcome(found) ? null : found.body;
      if (current?.enabled && current.url === url && events.every((e) => current.events?.includes(e)) && current.headers?.['x-puente-token'] === secret) return;
      const r = await call(`${base(d)}/webhook/set/${instance}`, {
        headers, timeoutMs: 10_000,
        body: { webhook: { enabled: true, url, headers: { 'x-puente-token': secret }, byEvents: false, base64: false, events } },
      });
      if (isOutcome(r)) throw new Error(`webhook: ${(r as { reason: string }).reason}`);
      if (r.status >= 300) throw new Error(`webhook: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
    },
    async health() {
      const r = await call(`${base(d)}/instance/connectionState/${instance}`, { method: 'GET', headers, timeoutMs: 10_000 });
      if (isOutcome(r)) return { connected: false, state: 'unreachable', error: (r as { reason: string }).reason };
      const state = String(r.body?.instance?.state ?? r.body?.state ?? `HTTP ${r.status}`);
      return { connected: r.status < 300 && state === 'open', state, ...(state === 'open' ? {} : { error: `estado ${state}` }) };
    },
  };
}

/** WAHA's check-exists answers, per device and number, for `WAHA_CHECK_CACHE_SECONDS`. */
const wahaChecks = new Map<string, { exists: boolean; chatId: string; until: number }>();
let wahaCheckTtlMs = 6 * 3600 * 1000;
export const setWahaCheckCacheSeconds = (s: number) => void (wahaCheckTtlMs = s * 1000);

async function wahaCheck(d: DeviceRow, session: string, headers: Record<string, string>, phone: string, signal?: AbortSignal): Promise<{ exists: boolean; chatId: string } | SendOutcome> {
  // The engine's address is in the key: a device id can be reused (a database restored, a device re-added).
  const key = `${base(d)}|${session}|${phone}`;
  const hit = wahaChecks.get(key);
  if (hit && hit.until > Date.now()) return hit;
  const r = await call(`${base(d)}/api/contacts/check-exists?phone=${encodeURIComponent(phone)}&session=${encodeURIComponent(session)}`, { method: 'GET', headers, timeoutMs: 10_000, signal });
  // Nothing was sent yet: a lost answer to the check is safe to ask again.
  if (isOutcome(r)) return r.kind === 'uncertain' ? { kind: 'retry', reason: r.reason } : r;
  if (r.status === 422 || r.status === 401 || r.status === 403 || r.status === 404) return { kind: 'device', reason: `HTTP ${r.status} ${String(r.body?.message ?? r.body?.error ?? '').slice(0, 200)}` };
  if (r.status >= 300) return { kind: 'retry', reason: `check-exists HTTP ${r.status}` };
  const exists = r.body?.numberExists === true;
  const chatId = typeof r.body?.chatId === 'string' ? r.body.chatId : `${phone}@c.us`;
  const answer = { exists, chatId };
  if (wahaCheckTtlMs > 0) {
    if (wahaChecks.size >= 200_000) wahaChecks.delete(wahaChecks.keys().next().value!);
    wahaChecks.set(key, { ...answer, until: Date.now() + wahaCheckTtlMs });
  }
  return answer;
}

/** WAHA: a send to a session that is not WORKING answers 422. */
function wahaDriver(d: DeviceRow): Driver {
  const session = d.credentials.session || 'default';
  const headers = { 'x-api-key': d.credentials.api_key ?? '' };
  return {
    async send(e164, text, _template, signal) {
      // NOWEB sends to any JID without looking: ask first, and send to the chat id WhatsApp knows
      // (which also settles Mexico's 52 / 521).
      const found = await wahaCheck(d, session, headers, forProvider(e164, 'waha'), signal);
      if ('kind' in found) return found;
      if (!found.exists) return { kind: 'failed', reason: 'no tiene WhatsApp / not on WhatsApp (check-exists: numberExists false)' };
      const r = await call(`${base(d)}/api/sendText`, { headers, body: { session, chatId: found.chatId, text }, signal });
      if (isOutcome(r)) return r;
      const id = typeof r.body?.id === 'string' ? r.body.id : r.body?.id?._serialized ?? r.body?.key?.id;
      if (r.status < 300 && typeof id === 'string') return { kind: 'sent', id };
      const reason = `HTTP ${r.status} ${String(r.body?.message ?? '').slice(0, 200)}`;
      if (r.status === 422 || r.status === 401 || r.status === 403 || r.status === 404) return { kind: 'device', reason };
      if (r.status === 429 || r.status >= 500) return { kind: 'retry', reason };
      return { kind: 'failed', reason };
    },
    async prepare(e164, signal) {
      await wahaCheck(d, session, headers, forProvider(e164, 'waha'), signal);
    },
    async configureWebhook(url, secret) {
      // WAHA keeps webhooks in the session's config; PUT restarts the session, so only when missing.
      const path = `${base(d)}/api/sessions/${encodeURIComponent(session)}`;
      const got = await call(path, { method: 'GET', headers, timeoutMs: 10_000 });
      if (isOutcome(got)) throw new Error(`webhook: ${(got as { reason: string }).reason}`);
      if (got.status >= 300) throw new Error(`webhook: HTTP ${got.status}`);
      const config = got.body?.config ?? {};
      const hooks: { url?: string; hmac?: { key?: string } }[] = Array.isArray(config.webhooks) ? config.webhooks : [];
      if (hooks.some((h) => h.url === url)) return;
      const webhooks = [...hooks.filter((h) => !/\/webhooks\/waha\//.test(h.url ?? '')), { url, events: ['message', 'message.ack'], hmac: { key: secret } }];
      const r = await call(path, { method: 'PUT', headers, timeoutMs: 10_000, body: { name: session, config: { ...config, webhooks } } });
      if (isOutcome(r)) throw new Error(`webhook: ${(r as { reason: string }).reason}`);
      if (r.status >= 300) throw new Error(`webhook: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
    },
    async health() {
      const r = await call(`${base(d)}/api/sessions/${encodeURIComponent(session)}`, { method: 'GET', headers, timeoutMs: 10_000 });
      if (isOutcome(r)) return { connected: false, state: 'unreachable', error: (r as { reason: string }).reason };
      const state = String(r.body?.status ?? `HTTP ${r.status}`);
      return { connected: r.status < 300 && state === 'WORKING', state, ...(state === 'WORKING' ? {} : { error: `sesión ${state}` }) };
    },
  };
}

/** Puente's own device simulator (src/simulators/whatsapp), for demos and tests. */
function simulatorDriver(d: DeviceRow): Driver {
  const id = encodeURIComponent(d.credentials.device_id ?? '');
  const headers = { authorization: `Bearer ${d.credentials.token ?? ''}` };
  return {
    async send(e164, text, _template, signal) {
      const r = await call(`${base(d)}/devices/${id}/messages`, { headers, body: { to: e164, text }, signal });
      if (isOutcome(r)) return r;
      if (r.status < 300 && typeof r.body?.id === 'string') return { kind: 'sent', id: r.body.id };
      const e = r.body?.error ?? {};
      const reason = `${e.code ?? `HTTP ${r.status}`}: ${e.message ?? ''}`;
      if (e.code === 'not_on_whatsapp') return { kind: 'failed', reason };
      if (e.code === 'banned' || e.code === 'disconnected' || r.status === 401) return { kind: 'device', reason };
      if (e.retryable || r.status === 429 || r.status >= 500) return { kind: 'retry', reason };
      return { kind: 'failed', reason };
    },
    async configureWebhook(url, secret) {
      const r = await call(`${base(d)}/devices/${id}/webhook`, { method: 'PUT', headers, timeoutMs: 10_000, body: { url, secret } });
      if (isOutcome(r)) throw new Error(`webhook: ${(r as { reason: string }).reason}`);
      if (r.status >= 300) throw new Error(`webhook: HTTP ${r.status}`);
    },
    async health() {
      const r = await call(`${base(d)}/devices/${id}`, { method: 'GET', headers, timeoutMs: 10_000 });
      if (isOutcome(r)) return { connected: false, state: 'unreachable', error: (r as { reason: string }).reason };
      const state = String(r.body?.status ?? `HTTP ${r.status}`);
      return { connected: r.status < 300 && r.body?.connected === true, state, ...(r.body?.connected ? {} : { error: `estado ${state}` }) };
    },
  };
}

export function driverFor(d: DeviceRow): Driver {
  switch (d.provider) {
    case 'cloud': return cloudDriver(d);
    case 'evolution': return evolutionDriver(d);
    case 'waha': return wahaDriver(d);
    case 'simulator': return simulatorDriver(d);
  }
}

/** Which credentials each provider needs (validated on create and update). */
export const REQUIRED_CREDENTIALS: Record<Provider, string[]> = {
  cloud: ['access_token', 'phone_number_id'],
  evolution: ['api_key', 'instance'],
  waha: ['api_key'],
  simulator: ['token', 'device_id'],
};
