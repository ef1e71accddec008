/**
 * Bulk WhatsApp's HTTP contract (seed 004): devices, the bulk send and its preview (multipart
 * forms), suppressions and the engines' webhooks. Imports only `zod` and the shared contract, so
 * the dashboard can `import type` from it. Replies are described as they travel (dates are ISO
 * 8601 strings); errors are seed 004's `{status:"error",message,code}`.
 */
import { z } from 'zod';
import { jobReply, pageMeta } from '../../platform/http/contract.ts';

const isoDate = z.string().describe('ISO 8601 date-time');

export const providers = ['cloud', 'evolution', 'waha', 'simulator'] as const;
export const provider = z.enum(providers).describe("The engine behind the number: Meta's Cloud API, Evolution API, WAHA, or Puente's simulator");

// ---- Devices --------------------------------------------------------------------------------

/** The fields of `POST /devices` (and, each optional, of `PATCH /devices/{id}`). */
export const deviceFields = z
  .object({
    name: z.string().trim().min(1).max(120),
    provider,
    // Meta's Cloud API has one address; the other engines are self-hosted and need theirs.
    base_url: z.string().trim().url().optional().describe('https (http only with ALLOW_INSECURE_PROVIDER_URLS); required except for `cloud`'),
    credentials: z
      .record(z.string(), z.string().max(4096))
      .describe(
        'By provider: cloud `access_token`, `phone_number_id`; evolution `api_key`, `instance`; waha `api_key`, `session`; simulator `token`, `device_id` (see docs/messaging.md)',
      ),
    messages_per_minute: z.coerce.number().int().min(1).max(100_000).nullable().optional(),
    min_gap_ms: z.coerce.number().int().min(0).max(3_600_000).optional(),
    max_gap_ms: z.coerce.number().int().min(0).max(3_600_000).optional(),
    pause_after: z.coerce.number().int().min(1).nullable().optional(),
    pause_seconds: z.coerce.number().int().min(0).max(86_400).optional(),
    daily_cap: z.coerce.number().int().min(1).nullable().optional(),
    typing_delay_ms: z.coerce.number().int().min(0).max(60_000).optional(),
    template_name: z.string().trim().max(512).nullable().optional().describe('Cloud API: the approved template sent to numbers outside the 24 h window'),
    template_language: z.string().trim().min(2).max(15).optional(),
    status: z.enum(['active', 'paused']).optional(),
  })
  .meta({ id: 'DeviceFields' });
export type DeviceFields = z.input<typeof deviceFields>;

export const deviceIdParams = z.object({ id: z.coerce.number().int().positive() });

/** A device as replies show it: secrets are `********` (set) or `''` (not set), never their value. */
export const device = z
  .object({
    id: z.number().int(),
    name: z.string(),
    provider,
    base_url: z.string(),
    credentials: z.record(z.string(), z.string()).describe('Public ids as they are; secrets `********` when set'),
    status: z.enum(['active', 'paused']),
    status_reason: z.string().nullable().describe('Why Puente paused it (banned, disconnected…), or null'),
    connected: z.boolean(),
    connection_state: z.string().nullable(),
    last_health_at: isoDate.nullable(),
    last_error: z.string().nullable(),
    pacing: z.object({
      messages_per_minute: z.number().int().nullable(),
      min_gap_ms: z.number().int(),
      max_gap_ms: z.number().int(),
      pause_after: z.number().int().nullable(),
      pause_seconds: z.number().int(),
      daily_cap: z.number().int().nullable(),
      typing_delay_ms: z.number().int(),
    }),
    template_name: z.string().nullable(),
    template_language: z.string(),
    current_job_id: z.string().nullable().describe('The bulk send using it now'),
    sent_today: z.number().int(),
    sent_total: z.number().int(),
    created_at: isoDate,
    updated_at: isoDate,
  })
  .meta({ id: 'Device' });
export type Device = z.infer<typeof device>;

export const deviceReply = z.object({ status: z.literal('success'), device });
export type DeviceReply = z.infer<typeof deviceReply>;
export const deviceList = z.object({ status: z.literal('success'), devices: z.array(device), meta: pageMeta });
export type DeviceList = z.infer<typeof deviceList>;
export const statusMessage = z.object({ status: z.literal('success'), message: z.string() });

// ---- Bulk send --------------------------------------------------------------------------------

const multipartFile = z
  .string()
  .meta({ format: 'binary' })
  .describe('A |-separated .csv or .txt file, UTF-8: phone|value1|value2… per line (a header line is skipped)');

/** The multipart form of `POST /messages/send-bulk-file` (documentation: the form is read as a stream). */
export const bulkSendForm = z
  .object({
    file: multipartFile,
    message: z.string().max(4096).describe('The text; @valor1, @valor2… are replaced by each row\'s values ("---" when missing)'),
    devices_limit: z.string().optional().describe('How many devices send in parallel, 1–100 (default 5)'),
    template: z.string().optional().describe('Cloud API: an approved template for numbers outside the 24 h window'),
    template_language: z.string().optional().describe('Default `es`'),
    template_params: z.string().optional().describe('|-separated template body parameters (may use @valorN)'),
    confirm_duplicate: z.string().optional().describe('`true` sends even when the same file and message were sent within MESSAGING_DUPLICATE_WINDOW_MINUTES'),
  })
  .meta({ id: 'BulkSendForm' });

/** The multipart form of `POST /messages/preview`. */
export const bulkPreviewForm = z
  .object({
    file: multipartFile,
    message: z.string().max(4096).optional().describe('The text to render for the samples (send it before the file to have every row measured)'),
  })
  .meta({ id: 'BulkPreviewForm' });

export const bulkSendReply = z.object({ status: z.literal('success'), message: z.string(), job: jobReply });
export type BulkSendReply = z.infer<typeof bulkSendReply>;

const warning = z.looseObject({
  code: z.enum(['messaging.wrong_separator', 'messaging.missing_column']).or(z.string()),
  message: z.string(),
  separator: z.string().optional(),
  placeholder: z.string().optional(),
  columns: z.number().int().optional(),
});

export const duplicateOf = z
  .object({ job_id: z.string(), file_name: z.string().nullable(), status: z.string(), created_at: isoDate })
  .meta({ id: 'DuplicateSend', description: 'The earlier send of the same file with the same message' });
export type DuplicateSend = z.input<typeof duplicateOf>;

export const bulkPreviewReply = z
  .object({
    status: z.literal('success'),
    file_name: z.string(),
    total_numbers: z.number().int(),
    valid: z.number().int(),
    invalid_numbers: z.number().int(),
    duplicates: z.number().int(),
    header_skipped: z.boolean(),
    suppressed: z.number().int().describe('Numbers on the suppression list (skipped)'),
    suppressed_samples: z.array(z.string()),
    samples: z.array(z.object({ phone: z.string(), text: z.string().nullable(), length: z.number().int().optional(), too_long: z.boolean().optional() })),
    invalid_samples: z.array(z.object({ raw_phone: z.string(), error: z.string().nullable().optional() })),
    too_long: z.object({
      max_length: z.number().int(),
      count: z.number().int(),
      rows: z.array(z.object({ line: z.number().int(), length: z.number().int() })),
      unchecked: z.number().int(),
    }),
    columns: z.number().int().describe('The most values after the phone any row has'),
    warnings: z.array(warning),
    duplicate_of: duplicateOf.nullable(),
  })
  .meta({ id: 'BulkPreview' });
export type BulkPreviewReply = z.infer<typeof bulkPreviewReply>;

// ---- Suppressions -----------------------------------------------------------------------------

export const suppression = z
  .object({
    phone: z.string().describe('E.164'),
    source: z.string().describe("`manual`, `inbound` (an opt-out word), `import:<file>`, or a provider's report"),
    reason: z.string().nullable(),
    device_id: z.number().int().nullable(),
    created_at: isoDate,
  })
  .meta({ id: 'Suppression' });
export type Suppression = z.infer<typeof suppression>;

export const suppressionBody = z.object({ phone: z.string().trim().min(1).max(64), reason: z.string().trim().max(500).optional() });
export const suppressionList = z.object({ status: z.literal('success'), suppressions: z.array(suppression), meta: pageMeta });
export const suppressionReply = z.object({ status: z.literal('success'), suppression });
export const suppressionRemoved = z.object({ status: z.literal('success'), phone: z.string(), message: z.string() });
export const suppressionImportForm = z
  .object({ file: z.string().meta({ format: 'binary' }).describe('CSV: the first column of each line is a number; a header line is skipped') })
  .meta({ id: 'SuppressionImportForm' });
export const suppressionImportReply = z.object({ status: z.literal('success'), added: z.number().int(), already: z.number().int(), invalid: z.number().int() });

// ---- Webhooks ---------------------------------------------------------------------------------

export const webhookParams = z.object({ provider, device_id: z.coerce.number().int().positive() });

/**
 * Documentation of what each engine posts (the route reads the raw bytes: a signature is of the
 * bytes sent). Validation accepts anything; the service checks the signature, then parses.
 */
export const webhookBody = z.unknown().meta({
  id: 'WebhookDelivery',
  description: "Raw JSON as the engine sends it, signed with the device's secret over these bytes.",
  oneOf: [
    {
      title: 'cloud',
      type: 'object',
      description:
        'provider `cloud` (Meta Cloud API): `{object:"whatsapp_business_account", entry:[{changes:[{value:{statuses|messages}}]}]}`, signed with `X-Hub-Signature-256: sha256=<HMAC-SHA256 of the body with the device\'s app_secret>`',
    },
    {
      title: 'evolution',
      type: 'object',
      description:
        'provider `evolution` (Evolution API): `{event:"messages.update"|"messages.upsert", instance, data}`, with the `X-Puente-Token` header Puente set when it pointed the webhook',
    },
    {
      title: 'waha',
      type: 'object',
      description:
        'provider `waha` (WAHA): `{event:"message.ack"|"message"|"message.any", session, payload}`, signed with `X-Webhook-Hmac: <HMAC-SHA512 hex of the body>`',
    },
    {
      title: 'simulator',
      type: 'object',
      description:
        'provider `simulator`: `{events:[{type:"status",id,status}|{type:"message",from,text,id}]}`, signed with `X-Puente-Signature: sha256=<HMAC-SHA256 hex of the body>`',
    },
  ],
});

export const webhookReply = z.object({
  status: z.literal('success'),
  receipts: z.number().int().describe('Receipts taken in (written in batches right after)'),
  inbound: z.number().int(),
  suppressed: z.number().int().describe('Inbound opt-outs that put their sender on the suppression list'),
});

export const cloudVerifyQuery = z.looseObject({
  'hub.mode': z.string().optional().describe('`subscribe`'),
  'hub.verify_token': z.string().optional().describe("The device's `verify_token` credential"),
  'hub.challenge': z.string().optional().describe('Echoed back when the token matches'),
});
