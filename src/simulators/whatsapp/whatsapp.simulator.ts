import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

export type WaProvider = 'cloud' | 'evolution' | 'waha' | 'simulator';

export interface WaDeviceOptions {
  provider: WaProvider;
  /** phone_number_id / instance / session / simulator device id; generated when absent. */
  id?: string;
  /** Bearer token / apikey / X-Api-Key; generated when absent. */
  token?: string;
  /** Per send, before answering (Evolution's `delay` comes on top). */
  latencyMs?: number;
  /** 0..1: share of sends answered with a retry-later error. */
  transientFailureRate?: number;
  /** Default true. false: Evolution state `close`, WAHA `STOPPED`, simulator disconnected. */
  connected?: boolean;
  /** Cloud 131031, Evolution `close` (Connection Closed), WAHA 422 `FAILED`, simulator 403 banned. */
  banned?: boolean;
  /** Banned once it has accepted this many messages in total (to test failover). */
  banAfter?: number;
  /** Cloud API only: sends answer 368 "Temporarily blocked for policies violations" (a quality block). */
  policyBlocked?: boolean;
  /** Cloud API only: free text to someone outside the 24 h window is refused (131047). Default true. */
  requireTemplateForCold?: boolean;
  /** Cloud API only: approved template names. Default ['puente_bulk']. */
  templates?: string[];
  /** Cloud API only: numbers (any format, compared as digits) that wrote in the last 24 h. */
  openWindow?: string[];
  /**
   * Cloud API only: the callback set in Meta's app dashboard (Puente's `/webhooks/cloud/{id}`), the
   * app secret that signs it, and the verify token. The other engines get theirs through their API.
   */
  webhook?: { url: string; appSecret: string };
  /** Scripted replies: when a message reaches this number (digits), its person writes back this text. */
  replies?: Record<string, string>;
}

/** How long receipts take, in ms (a random value in each range). */
export interface WaReceiptTiming {
  deliveredAfterMs?: [number, number];
  readAfterMs?: [number, number];
  /** Share of delivered messages that get read. */
  readRate?: number;
  replyAfterMs?: [number, number];
}

export interface WaSimMessage {
  seq: number;
  provider: WaProvider;
  deviceId: string;
  /** Digits only, no `+`, as the driver addressed it. */
  to: string;
  /** The text; for a template `[name] param1 | param2`. */
  text: string;
  template?: { name: string; params: string[] };
  messageId: string;
  at: number;
}

export interface WaSimDevice {
  provider: WaProvider;
  id: string;
  token: string;
  /** The sending number (digits), as WAHA's `me` and the Cloud API's display number show it. */
  phone: string;
  baseUrl: string;
  credentials: Record<string, string>;
  /** Messages accepted since the device was added (reset() leaves it alone, banAfter counts on it). */
  accepted: number;
  /** Change knobs at runtime; `id` and `provider` cannot change. */
  set(o: Partial<WaDeviceOptions>): void;
}

export interface WaSimulator {
  url: string;
  addDevice(o: WaDeviceOptions): WaSimDevice;
  device(id: string): WaSimDevice | undefined;
  /** Every accepted message, in order. */
  messages: WaSimMessage[];
  /** Numbers (digits) that have no WhatsApp, for every provider. */
  notOnWhatsapp: Set<string>;
  /** Numbers WAHA was asked about with check-exists (digits), in order. */
  checks: string[];
  /** Webhook deliveries made (receipts and inbound), and those Puente refused or did not answer. */
  webhooks: { sent: number; failed: number; lastStatus: number | null };
  /** A person writes to the device's number (an inbound message, by webhook). */
  inbound(deviceId: string, from: string, text: string, provider?: WaProvider): Promise<void>;
  /** (to, text) pairs accepted more than once. */
  duplicates(): { to: string; text: string; count: number }[];
  countFor(to: string): number;
  /** Clears the recorded messages and their counts. */
  reset(): void;
  close(): Promise<void>;
}

interface Device extends WaSimDevice {
  opts: WaDeviceOptions;
  window: Set<string>;
  templates: Set<string>;
  /** Evolution's instance webhook, WAHA's session webhooks, the native device's: as Puente set them. */
  hook: { url: string; secret: string; headers: Record<string, string>; events: string[] } | null;
  /** WAHA's session config, as PUT stored it. */
  config: Json;
}

// Request bodies are whatever the client sent; each handler checks the fields it reads, as the vendor's server would.
// biome-ignore lint/suspicious/noExplicitAny: a test double of four vendors' APIs reads their loose bodies field by field
type Json = any;

const CLOUD_VERSION = 'v21.0';
const GRAPH_DOCS = 'Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api';

const digits = (s: unknown) => String(s ?? '').replace(/\D/g, '');
const unixNow = () => Math.floor(Date.now() / 1000);
const decode = (s: string | undefined) => {
  try {
    return decodeURIComponent(s ?? '');
  } catch {
    return s ?? '';
  }
};
/** Meta answers with the WhatsApp id, which for Mexican and Argentine mobiles is the legacy form. */
const waIdOf = (to: string) => {
  if (/^52\d{10}$/.test(to)) return `521${to.slice(2)}`;
  if (/^54[1-8]\d{9}$/.test(to)) return `549${to.slice(2)}`;
  return to;
};

/**
 * WhatsApp sending engines on loopback: Meta's Cloud API (`/cloud`), Evolution API (`/evolution`),
 * WAHA (`/waha`) and Puente's native device (`/sim`), each with its real request and error shapes.
 * Every accepted message is recorded, so tests can count what arrived and find duplicates.
 */
export async function startWhatsAppSimulator(o: { host?: string; port?: number; receipts?: WaReceiptTiming } = {}): Promise<WaSimulator> {
  // Realistic by default (a second or two to deliver, reads over the next half minute); tests pass short ones.
  const timing: Required<WaReceiptTiming> = {
    deliveredAfterMs: o.receipts?.deliveredAfterMs ?? [300, 2500],
    readAfterMs: o.receipts?.readAfterMs ?? [2000, 30_000],
    readRate: o.receipts?.readRate ?? 0.6,
    replyAfterMs: o.receipts?.replyAfterMs ?? [1000, 5000],
  };
  const checks: string[] = [];
  const webhookStats = { sent: 0, failed: 0, lastStatus: null as number | null };
  const devices = new Map<string, Device>(); // `${provider}:${id}`
  const byId = new Map<string, Device>(); // first device with that id, for device()
  const messages: WaSimMessage[] = [];
  const counts = new Map<string, number>(); // to → n
  const pairs = new Map<string, number>(); // to \0 text → n
  const notOnWhatsapp = new Set<string>();
  // close() aborts pending latency/typing waits, so no timer keeps the process alive afterwards.
  const closing = new AbortController();
  const wait = (ms: number) => sleep(ms, undefined, { signal: closing.signal });
  let made = 0;

  const isBanned = (d: Device) => d.opts.banned === true || (d.opts.banAfter !== undefined && d.accepted >= d.opts.banAfter);
  const isConnected = (d: Device) => d.opts.connected !== false && !isBanned(d);
  const transient = (d: Device) => {
    const rate = d.opts.transientFailureRate ?? 0;
    return rate > 0 && Math.random() < rate;
  };

  /** When each request reached the server: what `at` records (not when its body was read or its latency waited). */
  const arrivals = new WeakMap<IncomingMessage, number>();

  function accept(
    req: IncomingMessage,
    d: Device,
    to: string,
    text: string,
    messageId: string,
    template?: WaSimMessage['template'],
    fate: 'ok' | 'dead' | 'blind' = 'ok',
  ) {
    d.accepted++;
    scheduleReceipts(d, to, messageId, fate);
    const m: WaSimMessage = { seq: messages.length, provider: d.provider, deviceId: d.id, to, text, messageId, at: arrivals.get(req) ?? Date.now() };
    if (template) m.template = template;
    messages.push(m);
    counts.set(to, (counts.get(to) ?? 0) + 1);
    const key = `${to}\u0000${text}`;
    pairs.set(key, (pairs.get(key) ?? 0) + 1);
  }

  // ── Receipts and inbound messages, by webhook ──────────────────────────────────────────────
  const between = ([a, b]: [number, number]) => a + Math.random() * Math.max(0, b - a);
  const later = (ms: number, fn: () => Promise<void>) => {
    const t = setTimeout(() => void fn().catch(() => {}), ms);
    t.unref();
    closing.signal.addEventListener('abort', () => clearTimeout(t), { once: true });
  };

  /** POSTs one event as the engine would, retrying a refused delivery a few times (Meta retries for hours). */
  async function deliver(url: string, body: unknown, headersFor: (raw: string) => Record<string, string>) {
    const raw = JSON.stringify(body);
    for (let attempt = 0; attempt < 4 && !closing.signal.aborted; attempt++) {
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headersFor(raw) },
          body: raw,
          signal: closing.signal,
        });
        await res.arrayBuffer();
        webhookStats.lastStatus = res.status;
        if (res.ok) return void webhookStats.sent++;
        if (res.status < 500 && res.status !== 429) break;
      } catch {
        if (closing.signal.aborted) return;
      }
      await wait(200 * 2 ** attempt).catch(() => {});
    }
    webhookStats.failed++;
  }

  /** Each engine's webhook body and signature for a status change or an inbound text. */
  function emit(
    d: Device,
    e:
      | { kind: 'status'; id: string; to: string; status: 'sent' | 'delivered' | 'read' | 'failed'; error?: Json }
      | { kind: 'message'; from: string; text: string },
  ) {
    const ts = String(unixNow());
    if (d.provider === 'cloud') {
      const hook = d.opts.webhook;
      if (!hook) return Promise.resolve();
      const value: Json = { messaging_product: 'whatsapp', metadata: { display_phone_number: d.phone, phone_number_id: d.id } };
      if (e.kind === 'status') {
        value.statuses = [
          {
            id: e.id,
            status: e.status,
            timestamp: ts,
            recipient_id: waIdOf(e.to),
            ...(e.status === 'failed'
              ? { errors: [e.error] }
              : {
                  conversation: { id: randomBytes(16).toString('hex'), origin: { type: 'marketing' } },
                  pricing: { billable: true, pricing_model: 'CBP', category: 'marketing' },
                }),
          },
        ];
      } else {
        value.contacts = [{ profile: { name: 'Cliente' }, wa_id: e.from }];
        value.messages = [{ from: e.from, id: `wamid.${randomBytes(20).toString('base64')}`, timestamp: ts, text: { body: e.text }, type: 'text' }];
      }
      const body = { object: 'whatsapp_business_account', entry: [{ id: '102290129340398', changes: [{ value, field: 'messages' }] }] };
      return deliver(hook.url, body, (raw) => ({ 'x-hub-signature-256': `sha256=${createHmac('sha256', hook.appSecret).update(raw).digest('hex')}` }));
    }
    const hook = d.hook;
    if (!hook) return Promise.resolve();
    if (d.provider === 'evolution') {
      const event = e.kind === 'status' ? 'messages.update' : 'messages.upsert';
      if (!hook.events.includes(event.replace('.', '_').toUpperCase())) return Promise.resolve();
      const ACK = { sent: 'SERVER_ACK', delivered: 'DELIVERY_ACK', read: 'READ', failed: 'ERROR' } as const;
      const data =
        e.kind === 'status'
          ? { keyId: e.id, remoteJid: `${e.to}@s.whatsapp.net`, fromMe: true, participant: undefined, status: ACK[e.status], instanceId: d.id }
          : {
              key: { remoteJid: `${e.from}@s.whatsapp.net`, fromMe: false, id: `3EB0${randomBytes(8).toString('hex').toUpperCase()}` },
              pushName: 'Cliente',
              status: 'DELIVERY_ACK',
              message: { conversation: e.text },
              messageType: 'conversation',
              messageTimestamp: unixNow(),
              instanceId: d.id,
              source: 'android',
            };
      const body = {
        event,
        instance: d.id,
        data,
        destination: hook.url,
        date_time: new Date().toISOString(),
        sender: `${d.phone}@s.whatsapp.net`,
        server_url: url,
        apikey: d.token,
      };
      return deliver(hook.url, body, () => hook.headers);
    }
    if (d.provider === 'waha') {
      const event = e.kind === 'status' ? 'message.ack' : 'message';
      if (!hook.events.includes(event) && !hook.events.includes('*')) return Promise.resolve();
      const ACK = { sent: 1, delivered: 2, read: 3, failed: -1 } as const;
      const NAME = { sent: 'SERVER', delivered: 'DEVICE', read: 'READ', failed: 'ERROR' } as const;
      const payload =
        e.kind === 'status'
          ? { id: e.id, from: `${d.phone}@c.us`, to: `${e.to}@c.us`, participant: null, fromMe: true, ack: ACK[e.status], ackName: NAME[e.status] }
          : {
              id: `false_${e.from}@c.us_${randomBytes(8).toString('hex').toUpperCase()}`,
              timestamp: unixNow(),
              from: `${e.from}@c.us`,
              fromMe: false,
              to: `${d.phone}@c.us`,
              body: e.text,
              hasMedia: false,
              ack: 1,
              ackName: 'SERVER',
            };
      const body = {
        id: `evt_${randomBytes(12).toString('hex')}`,
        timestamp: Date.now(),
        event,
        session: d.id,
        metadata: {},
        me: { id: `${d.phone}@c.us`, pushName: 'Puente' },
        engine: 'NOWEB',
        environment: { version: '2024.10.1', engine: 'NOWEB', tier: 'CORE' },
        payload,
      };
      return deliver(hook.url, body, (raw) => ({
        'x-webhook-request-id': randomUUID(),
        'x-webhook-timestamp': String(Date.now()),
        ...(hook.secret ? { 'x-webhook-hmac': createHmac('sha512', hook.secret).update(raw).digest('hex'), 'x-webhook-hmac-algorithm': 'sha512' } : {}),
      }));
    }
    const events = [
      e.kind === 'status'
        ? { type: 'status', id: e.id, to: e.to, status: e.status, ...(e.error ? { error: String(e.error) } : {}) }
        : { type: 'message', from: e.from, text: e.text },
    ];
    return deliver(hook.url, { events }, (raw) => ({ 'x-puente-signature': `sha256=${createHmac('sha256', hook.secret).update(raw).digest('hex')}` }));
  }

  /**
   * What happens to an accepted message: sent, delivered after a while, maybe read; a number without
   * WhatsApp that the Cloud API accepted fails by webhook (131026); a blind WAHA send to one never
   * gets past the server ack. Scripted replies come back after the read.
   */
  function scheduleReceipts(d: Device, to: string, id: string, fate: 'ok' | 'dead' | 'blind') {
    const delivered = between(timing.deliveredAfterMs);
    if (d.provider !== 'simulator') later(Math.min(20, delivered / 2), () => emit(d, { kind: 'status', id, to, status: 'sent' }));
    if (fate === 'blind') return;
    if (fate === 'dead') {
      return later(delivered, () =>
        emit(d, {
          kind: 'status',
          id,
          to,
          status: 'failed',
          error:
            d.provider === 'cloud'
              ? {
                  code: 131026,
                  title: 'Message undeliverable',
                  message: 'Message undeliverable',
                  error_data: { details: 'Message Undeliverable.' },
                  href: 'https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/',
                }
              : 'not on WhatsApp',
        }),
      );
    }
    later(delivered, () => emit(d, { kind: 'status', id, to, status: 'delivered' }));
    const reply = d.opts.replies?.[to] ?? d.opts.replies?.[waIdOf(to)];
    const read = Math.random() < timing.readRate || reply !== undefined;
    const readAt = delivered + between(timing.readAfterMs);
    if (read) later(readAt, () => emit(d, { kind: 'status', id, to, status: 'read' }));
    if (reply !== undefined)
      later(readAt + between(timing.replyAfterMs), () => emit(d, { kind: 'message', from: d.provider === 'cloud' ? waIdOf(to) : to, text: reply }));
  }

  const send = (res: ServerResponse, status: number, body: unknown) => {
    if (res.headersSent || res.destroyed) return;
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };

  /** The JSON body; `null` when it does not parse (each API then answers its own 400). */
  const readBody = (req: IncomingMessage) =>
    new Promise<Json>((resolve) => {
      let data = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (data += c));
      req.on('error', () => resolve(null));
      req.on('end', () => {
        if (!data) return resolve({});
        try {
          resolve(JSON.parse(data));
        } catch {
          resolve(null);
        }
      });
    });

  // ── Meta WhatsApp Cloud API ────────────────────────────────────────────────────────────────
  async function cloud(req: IncomingMessage, res: ServerResponse, parts: string[]) {
    // /cloud/{version}/{phone_number_id}[/messages]
    const [, version = '', phoneId = '', leaf, ...rest] = parts;
    const fail = (status: number, code: number, message: string, extra: { subcode?: number; details?: string; type?: string } = {}) =>
      send(res, status, {
        error: {
          message,
          type: extra.type ?? 'OAuthException',
          code,
          ...(extra.subcode !== undefined ? { error_subcode: extra.subcode } : {}),
          ...(extra.details !== undefined ? { error_data: { messaging_product: 'whatsapp', details: extra.details } } : {}),
          fbtrace_id: `A${randomBytes(16).toString('base64url').slice(0, 22)}`,
        },
      });
    if (!/^v\d+\.\d+$/.test(version) || !phoneId || rest.length > 0) {
      return fail(400, 2500, `Unknown path components: /${parts.slice(1).join('/')}`);
    }
    const d = devices.get(`cloud:${phoneId}`);
    const verb = (req.method ?? 'GET').toLowerCase();
    if (!d) {
      return fail(
        400,
        100,
        `Unsupported ${verb} request. Object with ID '${phoneId}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. ${GRAPH_DOCS}`,
        { subcode: 33, type: 'GraphMethodException' },
      );
    }
    if (req.headers.authorization !== `Bearer ${d.token}`) return fail(401, 190, 'Invalid OAuth access token - Cannot parse access token');
    if (req.method === 'GET' && leaf === undefined) {
      // The phone number node: what a health check reads.
      return send(res, 200, {
        verified_name: 'Puente',
        code_verification_status: 'VERIFIED',
        display_phone_number: `+${d.phone}`,
        quality_rating: isBanned(d) || d.opts.policyBlocked ? 'RED' : 'GREEN',
        platform_type: 'CLOUD_API',
        throughput: { level: 'STANDARD' },
        id: d.id,
      });
    }
    if (req.method !== 'POST' || leaf !== 'messages') {
      return fail(
        400,
        100,
        `Unsupported ${verb} request. Object with ID '${phoneId}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. ${GRAPH_DOCS}`,
        { subcode: 33, type: 'GraphMethodException' },
      );
    }
    const body = await readBody(req);
    const latency = d.opts.latencyMs ?? 0;
    if (latency > 0) await wait(latency);
    if (!body || typeof body !== 'object') return fail(400, 100, 'Invalid parameter', { details: 'The request body is not valid JSON' });
    if (body.messaging_product !== 'whatsapp') return fail(400, 100, 'The parameter messaging_product is required.');
    if (!body.to) return fail(400, 100, 'The parameter to is required.');
    if (isBanned(d))
      return fail(400, 131031, 'Account has been locked', {
        details: 'The WhatsApp Business Account is restricted or disabled for violating a platform policy.',
      });
    if (d.opts.policyBlocked)
      return fail(400, 368, 'Temporarily blocked for policies violations', {
        details: 'The phone number has been temporarily blocked for violating WhatsApp policies.',
      });
    if (transient(d)) return fail(400, 130429, 'Rate limit hit', { details: 'Cloud API message throughput has been reached.' });
    const to = digits(body.to);
    const waId = waIdOf(to);
    if (to.length < 7) return fail(400, 131009, 'Parameter value is not valid', { details: `Recipient phone number '${String(body.to)}' is not valid` });
    // Meta does not look the number up at the send: it accepts, and the failure (131026) comes by webhook.
    const dead = notOnWhatsapp.has(to) || notOnWhatsapp.has(waId);
    const type = body.type ?? 'text';
    let text: string;
    let template: WaSimMessage['template'];
    if (type === 'template') {
      const t = body.template ?? {};
      const name = String(t.name ?? '');
      if (!name) return fail(400, 100, "The parameter template['name'] is required.");
      const lang = String(t.language?.code ?? '');
      if (!lang) return fail(400, 100, "The parameter template['language'] is required.");
      if (!d.templates.has(name)) {
        return fail(400, 132001, 'Template name does not exist in the translation', { details: `template name (${name}) does not exist in ${lang}` });
      }
      const components: Json[] = Array.isArray(t.components) ? t.components : [];
      const params = components.flatMap((c) => (Array.isArray(c?.parameters) ? c.parameters : []).map((p: Json) => String(p?.text ?? '')));
      template = { name, params };
      text = `[${name}] ${params.join(' | ')}`;
    } else if (type === 'text') {
      text = String(body.text?.body ?? '');
      if (!text) return fail(400, 100, "The parameter text['body'] is required.");
      // Meta counts characters, not UTF-16 units; only spread when it could matter.
      if (text.length > 4096 && [...text].length > 4096) return fail(400, 100, "Param text['body'] must be at most 4096 characters long.");
      const cold = (d.opts.requireTemplateForCold ?? true) && !d.window.has(to) && !d.window.has(waId);
      if (cold) {
        return fail(400, 131047, 'Re-engagement message', {
          details: 'Message failed to send because more than 24 hours have passed since the customer last replied to this number.',
        });
      }
    } else {
      return fail(
        400,
        100,
        `Param type must be one of {AUDIO, CONTACTS, DOCUMENT, IMAGE, INTERACTIVE, LOCATION, REACTION, STICKER, TEMPLATE, TEXT, VIDEO} - got "${String(type)}".`,
      );
    }
    const id = `wamid.${Buffer.concat([Buffer.from(`\u001c\u0018\u000c${waId}\u0015\u0002\u0000\u0011\u0018\u0012`), randomBytes(18)]).toString('base64')}`;
    accept(req, d, to, text, id, template, dead ? 'dead' : 'ok');
    send(res, 200, { messaging_product: 'whatsapp', contacts: [{ input: String(body.to), wa_id: waId }], messages: [{ id }] });
  }

  // ── Evolution API ──────────────────────────────────────────────────────────────────────────
  async function evolution(req: IncomingMessage, res: ServerResponse, parts: string[]) {
    // /evolution/message/sendText/{instance} · /evolution/instance/connectionState/{instance}
    const [, group, action, raw, ...rest] = parts;
    const route = `${req.method} ${group}/${action}`;
    const known = ['POST message/sendText', 'GET instance/connectionState', 'POST webhook/set', 'GET webhook/find'];
    if (!known.includes(route) || raw === undefined || rest.length > 0) {
      return send(res, 404, { status: 404, error: 'Not Found', response: { message: [`Cannot ${req.method} /${parts.slice(1).join('/')}`] } });
    }
    const instance = decode(raw);
    // Evolution's guards: the instance must exist before the apikey is looked at.
    const d = devices.get(`evolution:${instance}`);
    if (!d) return send(res, 404, { status: 404, error: 'Not Found', response: { message: [`The "${instance}" instance does not exist`] } });
    if (req.headers.apikey !== d.token) return send(res, 401, { status: 401, error: 'Unauthorized', response: { message: 'Unauthorized' } });
    if (route === 'GET instance/connectionState') return send(res, 200, { instance: { instanceName: d.id, state: isConnected(d) ? 'open' : 'close' } });
    const hookReply = () =>
      d.hook
        ? {
            id: d.id,
            url: d.hook.url,
            headers: d.hook.headers,
            enabled: true,
            events: d.hook.events,
            webhookByEvents: false,
            webhookBase64: false,
            instanceId: d.id,
          }
        : null;
    if (route === 'GET webhook/find') return send(res, 200, hookReply());
    if (route === 'POST webhook/set') {
      // Evolution v2: {webhook: {enabled, url, headers?, byEvents?, base64?, events?}}.
      const body = await readBody(req);
      const w = body?.webhook;
      if (!w || typeof w.url !== 'string' || typeof w.enabled !== 'boolean') {
        return send(res, 400, {
          status: 400,
          error: 'Bad Request',
          response: { message: ['webhook requires property "enabled"', 'webhook requires property "url"'] },
        });
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(w.headers ?? {})) headers[k.toLowerCase()] = String(v);
      d.hook = w.enabled ? { url: w.url, secret: '', headers, events: Array.isArray(w.events) ? w.events.map(String) : [] } : null;
      return send(res, 201, hookReply() ?? { enabled: false });
    }

    const body = await readBody(req);
    const latency = d.opts.latencyMs ?? 0;
    if (latency > 0) await wait(latency);
    // v2: {number, text, delay}; v1: {number, textMessage: {text}, options: {delay}}.
    const text = body?.text ?? body?.textMessage?.text;
    const to = digits(String(body?.number ?? '').split('@')[0]);
    const problems: string[] = [];
    if (!to) problems.push('instance requires property "number"');
    if (typeof text !== 'string' || !text) problems.push('instance requires property "text"');
    if (problems.length) return send(res, 400, { status: 400, error: 'Bad Request', response: { message: problems } });
    const closed = () => send(res, 400, { status: 400, error: 'Bad Request', response: { message: ['Connection Closed'] } });
    if (!isConnected(d)) return closed();
    // The onWhatsApp check comes first, so these answer at once, without the typing delay.
    if (notOnWhatsapp.has(to)) {
      return send(res, 400, { status: 400, error: 'Bad Request', response: { message: [{ exists: false, jid: `${to}@s.whatsapp.net`, number: to }] } });
    }
    // "typing…" shows for `delay` ms and the HTTP answer waits for it, as in Baileys.
    const delay = Number(body?.delay ?? body?.options?.delay ?? 0);
    if (Number.isFinite(delay) && delay > 0) {
      await wait(Math.min(delay, 120_000));
      // The session may have dropped (or been banned by a parallel send) while typing.
      if (!isConnected(d)) return closed();
    }
    if (transient(d)) return send(res, 500, { status: 500, error: 'Internal Server Error', response: { message: ['Timed Out'] } });
    const id = `BAE5${randomBytes(6).toString('hex').toUpperCase()}`;
    accept(req, d, to, text, id);
    send(res, 201, {
      key: { remoteJid: `${to}@s.whatsapp.net`, fromMe: true, id },
      message: { extendedTextMessage: { text } },
      messageTimestamp: String(unixNow()),
      status: 'PENDING',
    });
  }

  // ── WAHA ───────────────────────────────────────────────────────────────────────────────────
  const wahaStatus = (d: Device) => (isBanned(d) ? 'FAILED' : isConnected(d) ? 'WORKING' : 'STOPPED');
  /** WAHA has one key per server; here each session has its own, and an unknown session still needs some valid key. */
  const anyWahaKey = (key: unknown) => {
    for (const d of devices.values()) if (d.provider === 'waha' && d.token === key) return true;
    return false;
  };
  const wahaNotFound = (res: ServerResponse, name: string) =>
    send(res, 404, {
      message: `We didn't find a session with name '${name}'.\nPlease start it first by using POST /api/sessions/${name}/start request`,
      error: 'Not Found',
      statusCode: 404,
    });
  const wahaUnauthorized = (res: ServerResponse) => send(res, 401, { message: 'Unauthorized', statusCode: 401 });

  async function waha(req: IncomingMessage, res: ServerResponse, parts: string[]) {
    // /waha/api/sendText · /waha/api/sessions/{name}
    const key = req.headers['x-api-key'];
    if ((req.method === 'GET' || req.method === 'PUT') && parts[1] === 'api' && parts[2] === 'sessions' && parts[3] !== undefined && parts.length === 4) {
      const name = decode(parts[3]);
      const d = devices.get(`waha:${name}`);
      if (!d) return anyWahaKey(key) ? wahaNotFound(res, name) : wahaUnauthorized(res);
      if (key !== d.token) return wahaUnauthorized(res);
      if (req.method === 'PUT') {
        // PUT /api/sessions/{name} {config}: stores the config (WAHA restarts the session to apply it).
        const body = await readBody(req);
        const hooks: Json[] = Array.isArray(body?.config?.webhooks) ? body.config.webhooks : [];
        if (hooks.some((h) => typeof h?.url !== 'string' || !Array.isArray(h?.events))) {
          return send(res, 400, {
            message: ['config.webhooks.0.url must be a URL address', 'config.webhooks.0.events must be an array'],
            error: 'Bad Request',
            statusCode: 400,
          });
        }
        d.config = body.config;
        const ours = hooks.at(-1);
        d.hook = ours ? { url: ours.url, secret: String(ours.hmac?.key ?? ''), headers: {}, events: ours.events.map(String) } : null;
      }
      const status = wahaStatus(d);
      return send(res, 200, {
        name: d.id,
        status,
        config: d.config,
        me: status === 'WORKING' ? { id: `${d.phone}@c.us`, pushName: 'Puente' } : null,
        engine: { engine: 'NOWEB' },
      });
    }
    if (req.method === 'GET' && parts[1] === 'api' && parts[2] === 'contacts' && parts[3] === 'check-exists' && parts.length === 4) {
      // GET /api/contacts/check-exists?phone=…&session=… → {numberExists, chatId} (the JID WhatsApp knows).
      const q = new URL(req.url ?? '/', 'http://x').searchParams;
      const name = q.get('session') ?? 'default';
      const d = devices.get(`waha:${name}`);
      if (!d) return anyWahaKey(key) ? wahaNotFound(res, name) : wahaUnauthorized(res);
      if (key !== d.token) return wahaUnauthorized(res);
      if (!isConnected(d)) return send(res, 422, { error: 'Session status is not as expected.', session: d.id, status: wahaStatus(d), expected: ['WORKING'] });
      const phone = digits(String(q.get('phone') ?? '').split('@')[0]);
      checks.push(phone);
      if (!phone) return send(res, 400, { message: ['phone should not be empty'], error: 'Bad Request', statusCode: 400 });
      // Mexico's mobiles are 521… on WhatsApp whichever form is asked.
      const jid = waIdOf(/^521\d{10}$/.test(phone) ? `52${phone.slice(3)}` : phone);
      if (notOnWhatsapp.has(phone) || notOnWhatsapp.has(jid)) return send(res, 200, { numberExists: false });
      return send(res, 200, { numberExists: true, chatId: `${jid}@c.us` });
    }
    if (req.method !== 'POST' || parts[1] !== 'api' || parts[2] !== 'sendText' || parts.length !== 3) {
      return send(res, 404, { message: `Cannot ${req.method} /${parts.slice(1).join('/')}`, error: 'Not Found', statusCode: 404 });
    }
    const body = await readBody(req);
    const name = String(body?.session ?? 'default');
    const d = devices.get(`waha:${name}`);
    if (!d) return anyWahaKey(key) ? wahaNotFound(res, name) : wahaUnauthorized(res);
    if (key !== d.token) return wahaUnauthorized(res);
    const latency = d.opts.latencyMs ?? 0;
    if (latency > 0) await wait(latency);
    const chatId = String(body?.chatId ?? '');
    const text = body?.text;
    const problems: string[] = [];
    if (!/^\d+@(c\.us|s\.whatsapp\.net)$/.test(chatId)) problems.push('chatId must be a string like 51987654321@c.us');
    if (typeof text !== 'string') problems.push('text must be a string');
    if (problems.length) return send(res, 400, { message: problems, error: 'Bad Request', statusCode: 400 });
    if (!isConnected(d)) {
      return send(res, 422, {
        statusCode: 422,
        message: 'Session status is not as expected. Try again later or restart the session',
        error: 'Unprocessable Entity',
        session: d.id,
        status: wahaStatus(d),
      });
    }
    if (transient(d)) return send(res, 500, { statusCode: 500, message: 'Internal server error' });
    const to = chatId.split('@')[0]!;
    // NOWEB sends to any JID without looking: a number without WhatsApp is accepted and never delivered.
    const id = `true_${to}@c.us_3EB0${randomBytes(8).toString('hex').toUpperCase()}`;
    accept(req, d, to, text, id, undefined, notOnWhatsapp.has(to) ? 'blind' : 'ok');
    send(res, 201, { id, timestamp: unixNow(), from: `${d.phone}@c.us`, fromMe: true, to: `${to}@c.us`, body: text });
  }

  // ── Puente's native simulator device ───────────────────────────────────────────────────────
  async function native(req: IncomingMessage, res: ServerResponse, parts: string[]) {
    // /sim/devices/{id}[/messages]
    const error = (status: number, code: string, message: string, retryable: boolean) => send(res, status, { error: { code, message, retryable } });
    const [, group, raw, leaf, ...rest] = parts;
    const isStatus = req.method === 'GET' && leaf === undefined;
    const isSend = req.method === 'POST' && leaf === 'messages';
    const isHook = req.method === 'PUT' && leaf === 'webhook';
    if (group !== 'devices' || raw === undefined || rest.length > 0 || (!isStatus && !isSend && !isHook))
      return error(404, 'not_found', 'no such route', false);
    const d = devices.get(`simulator:${decode(raw)}`);
    if (!d) return error(404, 'not_found', 'unknown device', false);
    if (req.headers.authorization !== `Bearer ${d.token}`) return error(401, 'unauthorized', 'bad token', false);
    if (isHook) {
      // PUT /sim/devices/{id}/webhook {url, secret}: receipts and replies are posted there, signed with the secret.
      const body = await readBody(req);
      if (typeof body?.url !== 'string' || typeof body?.secret !== 'string') return error(400, 'bad_request', 'url and secret are required', false);
      d.hook = { url: body.url, secret: body.secret, headers: {}, events: ['status', 'message'] };
      return send(res, 200, { url: body.url });
    }
    if (isStatus)
      return send(res, 200, { id: d.id, connected: isConnected(d), status: isBanned(d) ? 'banned' : isConnected(d) ? 'connected' : 'disconnected' });

    const body = await readBody(req);
    const latency = d.opts.latencyMs ?? 0;
    if (latency > 0) await wait(latency);
    if (isBanned(d)) return error(403, 'banned', 'the device was banned by WhatsApp', false);
    if (!isConnected(d)) return error(409, 'disconnected', 'the device is not connected', true);
    if (transient(d)) return error(429, 'rate_limited', 'too many messages, slow down', true);
    const to = digits(body?.to);
    const text = body?.text;
    if (!to || typeof text !== 'string' || !text) return error(400, 'bad_request', 'to and text are required', false);
    if (notOnWhatsapp.has(to)) return error(400, 'not_on_whatsapp', `${to} has no WhatsApp`, false);
    const id = `sim-${randomUUID()}`;
    accept(req, d, to, text, id);
    send(res, 200, { id });
  }

  // A Map, so that a path like /constructor finds nothing rather than Object.prototype's members.
  const handlers = new Map<string, (req: IncomingMessage, res: ServerResponse, parts: string[]) => Promise<void>>([
    ['cloud', cloud],
    ['evolution', evolution],
    ['waha', waha],
    ['sim', native],
  ]);
  const server = createServer((req, res) => {
    arrivals.set(req, Date.now());
    const path = req.url ?? '/';
    const q = path.indexOf('?');
    const parts = (q < 0 ? path : path.slice(0, q)).split('/').filter(Boolean);
    const handler = handlers.get(parts[0] ?? '');
    if (!handler) return send(res, 404, { error: 'not found' });
    handler(req, res, parts).catch((err: Error) => {
      // An aborted wait means close() ran: the socket is gone, nothing to answer.
      if (!closing.signal.aborted) send(res, 500, { error: { code: 'server_error', message: err.message, retryable: true } });
    });
  });
  // Pooled clients keep their connections: idle sockets live longer than the client's own timeout.
  server.keepAliveTimeout = 65_000;
  server.maxRequestsPerSocket = 0;
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(o.port ?? 0, o.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://${o.host ?? '127.0.0.1'}:${port}`;

  const newId = (p: WaProvider, n: number) => {
    if (p === 'cloud') return String(106_540_352_242_000 + n); // phone_number_ids are 15-digit numbers
    if (p === 'waha' && !devices.has('waha:default')) return 'default'; // WAHA Core only runs "default"
    return `${p}-${n}`;
  };
  const newToken = (p: WaProvider) => {
    if (p === 'cloud') return `EAAG${randomBytes(30).toString('base64url')}`;
    if (p === 'evolution') return randomUUID().toUpperCase();
    return randomBytes(16).toString('hex');
  };
  const credentialsOf = (d: Device): Record<string, string> => {
    switch (d.provider) {
      case 'cloud':
        return { access_token: d.token, phone_number_id: d.id, api_version: CLOUD_VERSION };
      case 'evolution':
        return { api_key: d.token, instance: d.id };
      case 'waha':
        return { api_key: d.token, session: d.id };
      case 'simulator':
        return { token: d.token, device_id: d.id };
    }
  };

  return {
    url,
    messages,
    notOnWhatsapp,
    checks,
    webhooks: webhookStats,
    async inbound(deviceId, from, text, provider) {
      const d = provider ? devices.get(`${provider}:${deviceId}`) : byId.get(deviceId);
      if (!d) throw new Error(`no device ${deviceId}`);
      await emit(d, { kind: 'message', from: digits(from), text });
    },
    addDevice(opts) {
      const n = ++made;
      const id = opts.id ?? newId(opts.provider, n);
      if (devices.has(`${opts.provider}:${id}`)) throw new Error(`a ${opts.provider} device "${id}" already exists`);
      const token = opts.token ?? newToken(opts.provider);
      const d: Device = {
        provider: opts.provider,
        id,
        token,
        phone: `519${String(10_000_000 + n)}`,
        baseUrl: `${url}/${opts.provider === 'simulator' ? 'sim' : opts.provider}`,
        credentials: {},
        accepted: 0,
        opts: { ...opts, id, token },
        window: new Set(),
        templates: new Set(),
        hook: null,
        config: { metadata: null, proxy: null, webhooks: [] },
        set(patch) {
          const { provider: _p, id: _i, ...rest } = patch;
          Object.assign(d.opts, rest);
          if (rest.token !== undefined) {
            d.token = rest.token;
            d.credentials = credentialsOf(d);
          }
          // Looked up on every send, so kept as sets.
          d.window = new Set((d.opts.openWindow ?? []).map(digits));
          d.templates = new Set(d.opts.templates ?? ['puente_bulk']);
        },
      };
      d.set({});
      d.credentials = credentialsOf(d);
      devices.set(`${opts.provider}:${id}`, d);
      if (!byId.has(id)) byId.set(id, d);
      return d;
    },
    device: (id) => byId.get(id),
    duplicates() {
      const out: { to: string; text: string; count: number }[] = [];
      for (const [k, count] of pairs) {
        if (count < 2) continue;
        const cut = k.indexOf('\u0000');
        out.push({ to: k.slice(0, cut), text: k.slice(cut + 1), count });
      }
      return out;
    },
    countFor: (to) => counts.get(digits(to)) ?? 0,
    reset() {
      messages.length = 0;
      counts.clear();
      pairs.clear();
    },
    close() {
      closing.abort();
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
