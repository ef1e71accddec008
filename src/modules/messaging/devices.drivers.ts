import { z } from 'zod';
import type { Logger } from '../../platform/logger.ts';
import { UpstreamError } from '../../platform/http/errors.ts';
import { OutboundClient, transportFailureOf } from '../../platform/http/outbound.ts';
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
export interface TemplateSpec {
  name: string;
  language: string;
  params: string[];
}

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
  | { kind: 'retry'; reason: string /** at least this many seconds before the next try */; after?: number }
  | { kind: 'failed' | 'device' | 'uncertain' | 'job'; reason: string };

export interface Health {
  connected: boolean;
  state: string;
  error?: string;
}

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
const CLOUD_TEMPLATE_ERRORS = new Set([132000, 132001, 132005, 132007, 132012, 132015, 132016, 132068, 132069]);

const SEND_TIMEOUT_MS = 30_000;

/** A provider's reply: its status and its JSON body, read through each provider's schema. */
interface Reply {
  status: number;
  body: unknown;
}
/** A call that got no reply: to send again later, or perhaps sent. */
type CallFailure = { kind: 'retry' | 'uncertain'; reason: string };

/** Fields of a reply, each optional: a provider that leaves one out, or sends another type, is read as "absent". */
const loose = <T extends z.ZodTypeAny>(schema: T) => schema.optional().catch(undefined);
const text = loose(z.union([z.string(), z.number()]).transform(String));
function read<T extends z.ZodTypeAny>(schema: T, body: unknown): z.infer<T> {
  const parsed = schema.safeParse(body);
  return parsed.success ? parsed.data : schema.parse({});
}

/**
 * WhatsApp engines' calls go through one outbound client per runtime, which owns the connections and
 * says how a call failed; retries are the bulk send's (per recipient), so each call is one attempt.
 */
async function call(
  http: OutboundClient,
  url: string,
  init: { method?: 'GET' | 'POST' | 'PUT'; headers: Record<string, string>; body?: unknown; timeoutMs?: number; signal?: AbortSignal },
): Promise<Reply | CallFailure> {
  const res = await http.exchange({
    method: init.method ?? 'POST',
    path: url,
    headers: { 'content-type': 'application/json', ...init.headers },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    timeoutMs: init.timeoutMs ?? SEND_TIMEOUT_MS,
    signal: init.signal,
  });
  if (res instanceof UpstreamError) {
    const failure = transportFailureOf(res) ?? { kind: 'broken', code: res.code };
    // Refused, unresolvable or not connected in time: the request never reached the provider, so it is safe to send again.
    if (failure.kind === 'unsent')
      return { kind: 'retry', reason: failure.code === 'UND_ERR_CONNECT_TIMEOUT' ? 'ConnectTimeout' : `ConnectError ${failure.code}` };
    return { kind: 'uncertain', reason: `${failure.kind === 'timeout' ? 'Timeout' : failure.code}: sin respuesta del proveedor / no answer` };
  }
  let body: unknown = null;
  try {
    body = res.text ? JSON.parse(res.text) : null;
  } catch {
    body = { raw: res.text.slice(0, 200) };
  }
  return { status: res.status, body };
}

const isOutcome = (r: Reply | CallFailure): r is CallFailure => 'kind' in r;
const base = (d: DeviceRow) => d.base_url.replace(/\/+$/, '');

const cloudReply = z.object({
  messages: loose(z.array(z.object({ id: text }))),
  error: loose(z.object({ code: text, message: text, error_data: loose(z.object({ details: text })) })),
});

/** Meta's WhatsApp Cloud API. Error codes: developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes. */
function cloudDriver(http: OutboundClient, d: DeviceRow): Driver {
  const version = d.credentials.api_version || 'v21.0';
  const headers = { authorization: `Bearer ${d.credentials.access_token ?? ''}` };
  const RETRY = new Set([4, 80007, 130429, 131056, 1, 2, 131000]);
  const DEVICE = new Set([131048, 131049, 368, 131031, 190, 10, 200, 131005, 100]);
  const RECIPIENT = new Set([131026, 131047, 131051, 131052, 131008, 131009, 131021]);
  return {
    async send(e164, text, template, signal) {
      const to = forProvider(e164, 'cloud');
      const message = template
        ? {
            type: 'template',
            template: {
              name: template.name,
              language: { code: template.language },
              components: template.params.length ? [{ type: 'body', parameters: template.params.map((p) => ({ type: 'text', text: p })) }] : [],
            },
          }
        : { type: 'text', text: { preview_url: false, body: text } };
      const r = await call(http, `${base(d)}/${version}/${d.credentials.phone_number_id}/messages`, {
        headers,
        body: { messaging_product: 'whatsapp', recipient_type: 'individual', to, ...message },
        signal,
      });
      if (isOutcome(r)) return r;
      const body = read(cloudReply, r.body);
      const id = body.messages?.[0]?.id;
      if (r.status < 300 && typeof id === 'string') return { kind: 'sent', id };
      const e = body.error ?? {};
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
      const r = await call(http, `${base(d)}/${version}/${d.credentials.phone_number_id}`, { method: 'GET', headers, timeoutMs: 10_000 });
      if (isOutcome(r)) return { connected: false, state: 'unreachable', error: r.reason };
      if (r.status < 300) return { connected: true, state: 'CONNECTED' };
      return { connected: false, state: `HTTP ${r.status}`, error: read(cloudReply, r.body).error?.message ?? `HTTP ${r.status}` };
    },
  };
}

const evolutionSend = z.object({ key: loose(z.object({ id: text })) });
const evolutionWebhook = z.object({
  enabled: loose(z.boolean()),
  url: text,
  events: loose(z.array(z.string())),
  headers: loose(z.record(z.string(), z.unknown())),
});
const evolutionState = z.object({ instance: loose(z.object({ state: text })), state: text });

/** Evolution API (Baileys). `delay` holds the answer while "typing…" shows, so the timeout covers it. */
function evolutionDriver(http: OutboundClient, d: DeviceRow): Driver {
  const instance = encodeURIComponent(d.credentials.instance ?? '');
  const headers = { apikey: d.credentials.api_key ?? '' };
  return {
    async send(e164, text, _template, signal) {
      const r = await call(http, `${base(d)}/message/sendText/${instance}`, {
        headers,
        body: { number: forProvider(e164, 'evolution'), text, ...(d.typing_delay_ms ? { delay: d.typing_delay_ms } : {}) },
        timeoutMs: SEND_TIMEOUT_MS + d.typing_delay_ms,
        signal,
      });
      if (isOutcome(r)) return r;
      const id = read(evolutionSend, r.body).key?.id;
      if (r.status < 300 && typeof id === 'string') return { kind: 'sent', id };
      // Evolution's error bodies vary by version: the reason quotes whichever message it sent.
      const raw = (r.body ?? {}) as { response?: { message?: unknown }; message?: unknown };
      const detail = JSON.stringify(raw.response?.message ?? raw.message ?? r.body ?? '').slice(0, 200);
      const reason = `HTTP ${r.status} ${detail}`;
      if (r.status === 400 && /"exists":false/.test(JSON.stringify(r.body)))
        return { kind: 'failed', reason: `no tiene WhatsApp / not on WhatsApp (${detail})` };
      if (r.status === 401 || r.status === 403 || r.status === 404 || /connection closed|not connected/i.test(detail)) return { kind: 'device', reason };
      if (r.status === 429 || r.status >= 500) return { kind: 'retry', reason };
      return { kind: 'failed', reason };
    },
    async configureWebhook(url, secret) {
      // Evolution v2: POST /webhook/set/{instance}; it sends the headers given here with every event.
      const events = ['MESSAGES_UPSERT', 'MESSAGES_UPDATE'];
      const found = await call(http, `${base(d)}/webhook/find/${instance}`, { method: 'GET', headers, timeoutMs: 10_000 });
      const current = isOutcome(found) || found.body === null ? null : read(evolutionWebhook, found.body);
      if (current?.enabled && current.url === url && events.every((e) => current.events?.includes(e)) && current.headers?.['x-puente-token'] === secret) return;
      const r = await call(http, `${base(d)}/webhook/set/${instance}`, {
        headers,
        timeoutMs: 10_000,
        body: { webhook: { enabled: true, url, headers: { 'x-puente-token': secret }, byEvents: false, base64: false, events } },
      });
      if (isOutcome(r)) throw new Error(`webhook: ${r.reason}`);
      if (r.status >= 300) throw new Error(`webhook: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
    },
    async health() {
      const r = await call(http, `${base(d)}/instance/connectionState/${instance}`, { method: 'GET', headers, timeoutMs: 10_000 });
      if (isOutcome(r)) return { connected: false, state: 'unreachable', error: r.reason };
      const body = read(evolutionState, r.body);
      const state = String(body.instance?.state ?? body.state ?? `HTTP ${r.status}`);
      return { connected: r.status < 300 && state === 'open', state, ...(state === 'open' ? {} : { error: `estado ${state}` }) };
    },
  };
}

const wahaExists = z.object({ numberExists: loose(z.boolean()), chatId: text });
const wahaSend = z.object({
  id: loose(z.union([z.string(), z.object({ _serialized: text })])),
  key: loose(z.object({ id: text })),
  message: text,
  error: text,
});
const wahaSession = z.object({ status: text, config: loose(z.record(z.string(), z.unknown())) });
const wahaHooks = loose(z.array(z.object({ url: text }).passthrough()));

/** WAHA: a send to a session that is not WORKING answers 422. */
function wahaDriver(http: OutboundClient, d: DeviceRow, checks: WahaChecks): Driver {
  const session = d.credentials.session || 'default';
  const headers = { 'x-api-key': d.credentials.api_key ?? '' };

  async function check(phone: string, signal?: AbortSignal): Promise<{ exists: boolean; chatId: string } | SendOutcome> {
    // The engine's address is in the key: a device id can be reused (a database restored, a device re-added).
    const key = `${base(d)}|${session}|${phone}`;
    const hit = checks.get(key);
    if (hit) return hit;
    const r = await call(http, `${base(d)}/api/contacts/check-exists?phone=${encodeURIComponent(phone)}&session=${encodeURIComponent(session)}`, {
      method: 'GET',
      headers,
      timeoutMs: 10_000,
      signal,
    });
    // Nothing was sent yet: a lost answer to the check is safe to ask again.
    if (isOutcome(r)) return r.kind === 'uncertain' ? { kind: 'retry', reason: r.reason } : r;
    const body = read(wahaSend, r.body);
    if (r.status === 422 || r.status === 401 || r.status === 403 || r.status === 404)
      return { kind: 'device', reason: `HTTP ${r.status} ${String(body.message ?? body.error ?? '').slice(0, 200)}` };
    if (r.status >= 300) return { kind: 'retry', reason: `check-exists HTTP ${r.status}` };
    const found = read(wahaExists, r.body);
    const answer = { exists: found.numberExists === true, chatId: found.chatId ?? `${phone}@c.us` };
    checks.set(key, answer);
    return answer;
  }

  return {
    async send(e164, text, _template, signal) {
      // NOWEB sends to any JID without looking: ask first, and send to the chat id WhatsApp knows
      // (which also settles Mexico's 52 / 521).
      const found = await check(forProvider(e164, 'waha'), signal);
      if ('kind' in found) return found;
      if (!found.exists) return { kind: 'failed', reason: 'no tiene WhatsApp / not on WhatsApp (check-exists: numberExists false)' };
      const r = await call(http, `${base(d)}/api/sendText`, { headers, body: { session, chatId: found.chatId, text }, signal });
      if (isOutcome(r)) return r;
      const body = read(wahaSend, r.body);
      const id = typeof body.id === 'string' ? body.id : (body.id?._serialized ?? body.key?.id);
      if (r.status < 300 && typeof id === 'string') return { kind: 'sent', id };
      const reason = `HTTP ${r.status} ${String(body.message ?? '').slice(0, 200)}`;
      if (r.status === 422 || r.status === 401 || r.status === 403 || r.status === 404) return { kind: 'device', reason };
      if (r.status === 429 || r.status >= 500) return { kind: 'retry', reason };
      return { kind: 'failed', reason };
    },
    async prepare(e164, signal) {
      await check(forProvider(e164, 'waha'), signal);
    },
    async configureWebhook(url, secret) {
      // WAHA keeps webhooks in the session's config; PUT restarts the session, so only when missing.
      const path = `${base(d)}/api/sessions/${encodeURIComponent(session)}`;
      const got = await call(http, path, { method: 'GET', headers, timeoutMs: 10_000 });
      if (isOutcome(got)) throw new Error(`webhook: ${got.reason}`);
      if (got.status >= 300) throw new Error(`webhook: HTTP ${got.status}`);
      const config = read(wahaSession, got.body).config ?? {};
      const hooks = read(wahaHooks, config.webhooks) ?? [];
      if (hooks.some((h) => h.url === url)) return;
      const webhooks = [...hooks.filter((h) => !/\/webhooks\/waha\//.test(h.url ?? '')), { url, events: ['message', 'message.ack'], hmac: { key: secret } }];
      const r = await call(http, path, { method: 'PUT', headers, timeoutMs: 10_000, body: { name: session, config: { ...config, webhooks } } });
      if (isOutcome(r)) throw new Error(`webhook: ${r.reason}`);
      if (r.status >= 300) throw new Error(`webhook: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
    },
    async health() {
      const r = await call(http, `${base(d)}/api/sessions/${encodeURIComponent(session)}`, { method: 'GET', headers, timeoutMs: 10_000 });
      if (isOutcome(r)) return { connected: false, state: 'unreachable', error: r.reason };
      const state = String(read(wahaSession, r.body).status ?? `HTTP ${r.status}`);
      return { connected: r.status < 300 && state === 'WORKING', state, ...(state === 'WORKING' ? {} : { error: `sesión ${state}` }) };
    },
  };
}

const simulatorReply = z.object({
  id: text,
  status: text,
  connected: loose(z.boolean()),
  error: loose(z.object({ code: text, message: text, retryable: loose(z.boolean()) })),
});

/** Puente's own device simulator (src/simulators/whatsapp), for demos and tests. */
function simulatorDriver(http: OutboundClient, d: DeviceRow): Driver {
  const id = encodeURIComponent(d.credentials.device_id ?? '');
  const headers = { authorization: `Bearer ${d.credentials.token ?? ''}` };
  return {
    async send(e164, text, _template, signal) {
      const r = await call(http, `${base(d)}/devices/${id}/messages`, { headers, body: { to: e164, text }, signal });
      if (isOutcome(r)) return r;
      const body = read(simulatorReply, r.body);
      if (r.status < 300 && typeof body.id === 'string') return { kind: 'sent', id: body.id };
      const e = body.error ?? {};
      const reason = `${e.code ?? `HTTP ${r.status}`}: ${e.message ?? ''}`;
      if (e.code === 'not_on_whatsapp') return { kind: 'failed', reason };
      if (e.code === 'banned' || e.code === 'disconnected' || r.status === 401) return { kind: 'device', reason };
      if (e.retryable || r.status === 429 || r.status >= 500) return { kind: 'retry', reason };
      return { kind: 'failed', reason };
    },
    async configureWebhook(url, secret) {
      const r = await call(http, `${base(d)}/devices/${id}/webhook`, { method: 'PUT', headers, timeoutMs: 10_000, body: { url, secret } });
      if (isOutcome(r)) throw new Error(`webhook: ${r.reason}`);
      if (r.status >= 300) throw new Error(`webhook: HTTP ${r.status}`);
    },
    async health() {
      const r = await call(http, `${base(d)}/devices/${id}`, { method: 'GET', headers, timeoutMs: 10_000 });
      if (isOutcome(r)) return { connected: false, state: 'unreachable', error: r.reason };
      const body = read(simulatorReply, r.body);
      const state = String(body.status ?? `HTTP ${r.status}`);
      return { connected: r.status < 300 && body.connected === true, state, ...(body.connected ? {} : { error: `estado ${state}` }) };
    },
  };
}

/** WAHA's check-exists answers, per engine, session and number, for `WAHA_CHECK_CACHE_SECONDS`. */
class WahaChecks {
  readonly #answers = new Map<string, { exists: boolean; chatId: string; until: number }>();
  readonly #ttlMs: number;
  constructor(ttlMs: number) {
    this.#ttlMs = ttlMs;
  }
  get(key: string) {
    const hit = this.#answers.get(key);
    return hit && hit.until > Date.now() ? { exists: hit.exists, chatId: hit.chatId } : null;
  }
  set(key: string, answer: { exists: boolean; chatId: string }) {
    if (this.#ttlMs <= 0) return;
    if (this.#answers.size >= 200_000) this.#answers.delete(this.#answers.keys().next().value!);
    this.#answers.set(key, { ...answer, until: Date.now() + this.#ttlMs });
  }
}

/** A runtime's drivers: one outbound client for every engine's calls, and WAHA's number checks. */
export class Drivers {
  readonly #http: OutboundClient;
  readonly #wahaChecks: WahaChecks;

  constructor(o: { logger: Logger; wahaCheckCacheSeconds: number }) {
    this.#http = new OutboundClient({
      service: 'WhatsApp',
      baseUrl: '',
      timeoutMs: SEND_TIMEOUT_MS,
      logger: o.logger,
      retries: 0,
      connections: 256,
      keepAliveMs: 30_000,
    });
    this.#wahaChecks = new WahaChecks(o.wahaCheckCacheSeconds * 1000);
  }

  for(d: DeviceRow): Driver {
    switch (d.provider) {
      case 'cloud':
        return cloudDriver(this.#http, d);
      case 'evolution':
        return evolutionDriver(this.#http, d);
      case 'waha':
        return wahaDriver(this.#http, d, this.#wahaChecks);
      case 'simulator':
        return simulatorDriver(this.#http, d);
    }
  }

  close() {
    return this.#http.close();
  }
}

/** Which credentials each provider needs (validated on create and update). */
export const REQUIRED_CREDENTIALS: Record<Provider, string[]> = {
  cloud: ['access_token', 'phone_number_id'],
  evolution: ['api_key', 'instance'],
  waha: ['api_key'],
  simulator: ['token', 'device_id'],
};
