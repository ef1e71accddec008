import type { ReceiptRow } from './receipts.repository.ts';

/** What one webhook delivery says: receipts for messages Puente sent, and messages people wrote in. */
export interface WebhookContent {
  receipts: { id: string; rank: ReceiptRow['rank']; error: string | null }[];
  inbound: { from: string; text: string; id: string }[];
  /** Cloud API only: the phone number the change is about (one app webhook may carry several numbers). */
  phoneNumberIds?: Set<string>;
}

// Webhook bodies are untrusted input: every field is checked as it is read.
type Json = any;
// NUL cannot be stored in PostgreSQL text or jsonb: one escaped into a body would sink the whole batch.
const str = (v: unknown) => (typeof v === 'string' ? v.replaceAll('\0', '') : typeof v === 'number' ? String(v) : '');
const list = (v: unknown): Json[] => (Array.isArray(v) ? v : []);

/**
 * Meta Cloud API: `entry[].changes[].value` with `statuses[]` (sent, delivered, read, failed with
 * `errors[]`) and `messages[]` (inbound, `text.body`). developers.facebook.com/docs/whatsapp/cloud-api/webhooks
 */
export function parseCloud(body: Json, phoneNumberId: string): WebhookContent {
  const out: WebhookContent = { receipts: [], inbound: [] };
  if (body?.object !== 'whatsapp_business_account') return out;
  for (const entry of list(body.entry)) {
    for (const change of list(entry?.changes)) {
      const value = change?.value;
      if (change?.field !== 'messages' || !value) continue;
      // A callback set for the whole app gets every number's changes: only this device's are its.
      const about = str(value.metadata?.phone_number_id);
      if (about && about !== phoneNumberId) continue;
      for (const s of list(value.statuses)) {
        const id = str(s?.id);
        const rank = ({ sent: 1, delivered: 2, read: 3, failed: -1 } as Record<string, ReceiptRow['rank']>)[str(s?.status)];
        if (!id || !rank) continue;
        const e = list(s.errors)[0];
        const error =
          rank === -1
            ? `${str(e?.code) || 'error'} ${str(e?.title) || str(e?.message) || 'failed'}${str(e?.error_data?.details) ? ` (${str(e.error_data.details)})` : ''}`.slice(
                0,
                500,
              )
            : null;
        out.receipts.push({ id, rank, error });
      }
      for (const m of list(value.messages)) {
        const text = str(m?.text?.body) || str(m?.button?.text) || str(m?.interactive?.button_reply?.title);
        if (str(m?.from) && text) out.inbound.push({ from: str(m.from), text, id: str(m.id) });
      }
    }
  }
  return out;
}

const EVOLUTION_ACKS: Record<string, ReceiptRow['rank']> = { ERROR: -1, SERVER_ACK: 1, DELIVERY_ACK: 2, READ: 3, PLAYED: 3 };
const textOf = (message: Json) =>
  str(message?.conversation) || str(message?.extendedTextMessage?.text) || str(message?.buttonsResponseMessage?.selectedDisplayText);
const jidNumber = (jid: string) => (/@(s\.whatsapp\.net|c\.us)$/.test(jid) ? jid.split('@')[0]! : '');

/**
 * Evolution API v2 instance webhook: `{event, instance, data, …}` with `messages.update`
 * (`data.keyId`, `data.status` SERVER_ACK | DELIVERY_ACK | READ | PLAYED) and `messages.upsert`
 * (`data.key`, `data.message`). EvolutionAPI/evolution-api, whatsapp.baileys.service.ts.
 */
export function parseEvolution(body: Json): WebhookContent {
  const out: WebhookContent = { receipts: [], inbound: [] };
  const event = str(body?.event).toLowerCase().replace(/_/g, '.');
  for (const data of Array.isArray(body?.data) ? body.data : [body?.data]) {
    if (!data || typeof data !== 'object') continue;
    if (event === 'messages.update') {
      const id = str(data.keyId) || str(data.key?.id);
      const rank = EVOLUTION_ACKS[str(data.status)];
      if (id && rank && data.fromMe !== false)
        out.receipts.push({ id, rank, error: rank === -1 ? 'ERROR: el proveedor no pudo entregar / not delivered' : null });
    } else if (event === 'messages.upsert') {
      const key = data.key ?? {};
      const from = jidNumber(str(key.remoteJidAlt) || str(key.remoteJid));
      const text = textOf(data.message);
      if (key.fromMe === false && from && text) out.inbound.push({ from, text, id: str(key.id) });
    }
  }
  return out;
}

/**
 * WAHA session webhook: `{event, session, payload}` with `message.ack` (`payload.id`, `ack` −1 error,
 * 0 pending, 1 server, 2 device, 3 read, 4 played) and `message` (`payload.from`, `body`).
 * devlikeapro/waha, src/structures/webhooks.dto.ts and enums.dto.ts.
 */
export function parseWaha(body: Json): WebhookContent {
  const out: WebhookContent = { receipts: [], inbound: [] };
  const p = body?.payload;
  if (!p || typeof p !== 'object') return out;
  if (body.event === 'message.ack') {
    const ack = Number(p.ack);
    const rank: ReceiptRow['rank'] | undefined = ack === -1 ? -1 : ack === 1 ? 1 : ack === 2 ? 2 : ack >= 3 ? 3 : undefined;
    if (str(p.id) && rank && p.fromMe !== false)
      out.receipts.push({ id: str(p.id), rank, error: rank === -1 ? `ack ERROR: ${str(p.ackName) || 'no entregado / not delivered'}` : null });
  } else if (body.event === 'message' || body.event === 'message.any') {
    const from = jidNumber(str(p.from));
    if (p.fromMe === false && from && str(p.body)) out.inbound.push({ from, text: str(p.body), id: str(p.id) });
  }
  return out;
}

/** Puente's own device simulator: `{events: [{type: "status", id, status, error?} | {type: "message", from, text}]}`. */
export function parseSimulator(body: Json): WebhookContent {
  const out: WebhookContent = { receipts: [], inbound: [] };
  for (const e of list(body?.events)) {
    if (e?.type === 'status') {
      const rank = ({ sent: 1, delivered: 2, read: 3, failed: -1 } as Record<string, ReceiptRow['rank']>)[str(e.status)];
      if (str(e.id) && rank) out.receipts.push({ id: str(e.id), rank, error: rank === -1 ? str(e.error) || 'failed' : null });
    } else if (e?.type === 'message' && str(e.from) && str(e.text)) {
      out.inbound.push({ from: str(e.from), text: str(e.text), id: str(e.id) });
    }
  }
  return out;
}
