import type { ReceiptRow } from './receipts.repository.ts';

/** What one webhook delivery says: receipts for messages Puente sent, and messages people wrote in. */
export interface WebhookContent {
  receipts: { id: string; rank: ReceiptRow['rank']; error: string | null }[];
  inbound: { from: string; text: string; id: string }[];
  /** Cloud API only: the phone number the change is about (one app webhook may carry several numbers). */
  phoneNumberIds?: Set<string>;
}

// Webhook bodies are untrusted input: every field is checked as it is read.
/** The value at `path` inside an untrusted JSON value, or undefined where the path leaves objects. */
const at = (v: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>((o, k) => (o !== null && typeof o === 'object' && !Array.isArray(o) ? (o as Record<string, unknown>)[k] : undefined), v);
// NUL cannot be stored in PostgreSQL text or jsonb: one escaped into a body would sink the whole batch.
const str = (v: unknown) => (typeof v === 'string' ? v.replaceAll('\0', '') : typeof v === 'number' ? String(v) : '');
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/**
 * Meta Cloud API: `entry[].changes[].value` with `statuses[]` (sent, delivered, read, failed with
 * `errors[]`) and `messages[]` (inbound, `text.body`). developers.facebook.com/docs/whatsapp/cloud-api/webhooks
 */
export function parseCloud(body: unknown, phoneNumberId: string): WebhookContent {
  const out: WebhookContent = { receipts: [], inbound: [] };
  if (at(body, 'object') !== 'whatsapp_business_account') return out;
  for (const entry of list(at(body, 'entry'))) {
    for (const change of list(at(entry, 'changes'))) {
      const value = at(change, 'value');
      if (at(change, 'field') !== 'messages' || !value) continue;
      // A callback set for the whole app gets every number's changes: only this device's are its.
      const about = str(at(value, 'metadata', 'phone_number_id'));
      if (about && about !== phoneNumberId) continue;
      for (const s of list(at(value, 'statuses'))) {
        const id = str(at(s, 'id'));
        const rank = ({ sent: 1, delivered: 2, read: 3, failed: -1 } as Record<string, ReceiptRow['rank']>)[str(at(s, 'status'))];
        if (!id || !rank) continue;
        const e = list(at(s, 'errors'))[0];
        const details = str(at(e, 'error_data', 'details'));
        const error =
          rank === -1
            ? `${str(at(e, 'code')) || 'error'} ${str(at(e, 'title')) || str(at(e, 'message')) || 'failed'}${details ? ` (${details})` : ''}`.slice(0, 500)
            : null;
        out.receipts.push({ id, rank, error });
      }
      for (const m of list(at(value, 'messages'))) {
        const text = str(at(m, 'text', 'body')) || str(at(m, 'button', 'text')) || str(at(m, 'interactive', 'button_reply', 'title'));
        if (str(at(m, 'from')) && text) out.inbound.push({ from: str(at(m, 'from')), text, id: str(at(m, 'id')) });
      }
    }
  }
  return out;
}

const EVOLUTION_ACKS: Record<string, ReceiptRow['rank']> = { ERROR: -1, SERVER_ACK: 1, DELIVERY_ACK: 2, READ: 3, PLAYED: 3 };
const textOf = (message: unknown) =>
  str(at(message, 'conversation')) || str(at(message, 'extendedTextMessage', 'text')) || str(at(message, 'buttonsResponseMessage', 'selectedDisplayText'));
const jidNumber = (jid: string) => (/@(s\.whatsapp\.net|c\.us)$/.test(jid) ? jid.split('@')[0]! : '');

/**
 * Evolution API v2 instance webhook: `{event, instance, data, …}` with `messages.update`
 * (`data.keyId`, `data.status` SERVER_ACK | DELIVERY_ACK | READ | PLAYED) and `messages.upsert`
 * (`data.key`, `data.message`). EvolutionAPI/evolution-api, whatsapp.baileys.service.ts.
 */
export function parseEvolution(body: unknown): WebhookContent {
  const out: WebhookContent = { receipts: [], inbound: [] };
  const event = str(at(body, 'event')).toLowerCase().replace(/_/g, '.');
  const payload = at(body, 'data');
  for (const data of Array.isArray(payload) ? payload : [payload]) {
    if (!data || typeof data !== 'object') continue;
    if (event === 'messages.update') {
      const id = str(at(data, 'keyId')) || str(at(data, 'key', 'id'));
      const rank = EVOLUTION_ACKS[str(at(data, 'status'))];
      if (id && rank && at(data, 'fromMe') !== false)
        out.receipts.push({ id, rank, error: rank === -1 ? 'ERROR: el proveedor no pudo entregar / not delivered' : null });
    } else if (event === 'messages.upsert') {
      const key = at(data, 'key') ?? {};
      const from = jidNumber(str(at(key, 'remoteJidAlt')) || str(at(key, 'remoteJid')));
      const text = textOf(at(data, 'message'));
      if (at(key, 'fromMe') === false && from && text) out.inbound.push({ from, text, id: str(at(key, 'id')) });
    }
  }
  return out;
}

/**
 * WAHA session webhook: `{event, session, payload}` with `message.ack` (`payload.id`, `ack` −1 error,
 * 0 pending, 1 server, 2 device, 3 read, 4 played) and `message` (`payload.from`, `body`).
 * devlikeapro/waha, src/structures/webhooks.dto.ts and enums.dto.ts.
 */
export function parseWaha(body: unknown): WebhookContent {
  const out: WebhookContent = { receipts: [], inbound: [] };
  const p = at(body, 'payload');
  if (!p || typeof p !== 'object') return out;
  const event = at(body, 'event');
  const id = str(at(p, 'id'));
  if (event === 'message.ack') {
    const ack = Number(at(p, 'ack'));
    const rank: ReceiptRow['rank'] | undefined = ack === -1 ? -1 : ack === 1 ? 1 : ack === 2 ? 2 : ack >= 3 ? 3 : undefined;
    if (id && rank && at(p, 'fromMe') !== false)
      out.receipts.push({ id, rank, error: rank === -1 ? `ack ERROR: ${str(at(p, 'ackName')) || 'no entregado / not delivered'}` : null });
  } else if (event === 'message' || event === 'message.any') {
    const from = jidNumber(str(at(p, 'from')));
    const text = str(at(p, 'body'));
    if (at(p, 'fromMe') === false && from && text) out.inbound.push({ from, text, id });
  }
  return out;
}

/** Puente's own device simulator: `{events: [{type: "status", id, status, error?} | {type: "message", from, text}]}`. */
export function parseSimulator(body: unknown): WebhookContent {
  const out: WebhookContent = { receipts: [], inbound: [] };
  for (const e of list(at(body, 'events'))) {
    const type = at(e, 'type');
    if (type === 'status') {
      const rank = ({ sent: 1, delivered: 2, read: 3, failed: -1 } as Record<string, ReceiptRow['rank']>)[str(at(e, 'status'))];
      if (str(at(e, 'id')) && rank) out.receipts.push({ id: str(at(e, 'id')), rank, error: rank === -1 ? str(at(e, 'error')) || 'failed' : null });
    } else if (type === 'message' && str(at(e, 'from')) && str(at(e, 'text'))) {
      out.inbound.push({ from: str(at(e, 'from')), text: str(at(e, 'text')), id: str(at(e, 'id')) });
    }
  }
  return out;
}
