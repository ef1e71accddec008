/** The results CSV's columns: stable keys by default, a person's words with `?lang=`. */
export const CSV_KEYS = [
  'seq',
  'phone',
  'raw_phone',
  'status',
  'device_id',
  'provider_message_id',
  'error',
  'attempts',
  'updated_at',
  'device_name',
  'values',
  'reason',
  'failed_after_send',
  'delivered_at',
  'read_at',
];

const REASONS = {
  es: {
    'messaging.not_on_whatsapp': 'número sin WhatsApp',
    'messaging.invalid_number': 'número inválido',
    'messaging.uncertain': 'en duda: en curso durante un reinicio, no se reenvió',
    'messaging.not_sent': 'no enviado',
    'messaging.outside_window': 'fuera de la ventana de 24 h: requiere plantilla',
    'messaging.template': 'problema con la plantilla',
    'messaging.too_long': 'mensaje demasiado largo',
    'messaging.provider_error': 'rechazado por el proveedor',
    'messaging.suppressed': 'dado de baja: no se envía',
  },
  en: {
    'messaging.not_on_whatsapp': 'number without WhatsApp',
    'messaging.invalid_number': 'invalid number',
    'messaging.uncertain': 'uncertain: in flight at a restart, not resent',
    'messaging.not_sent': 'not sent',
    'messaging.outside_window': 'outside the 24 h window: needs a template',
    'messaging.template': 'template problem',
    'messaging.too_long': 'message too long',
    'messaging.provider_error': 'refused by the provider',
    'messaging.suppressed': 'opted out: not sent',
  },
} as const;

export const CSV_WORDS: Record<'es' | 'en', { header: string[]; status: Record<string, string>; reason: Record<string, string> }> = {
  es: {
    header: [
      'n.º',
      'teléfono',
      'teléfono en el archivo',
      'resultado',
      'id del dispositivo',
      'id del mensaje',
      'error del proveedor',
      'intentos',
      'actualizado',
      'dispositivo',
      'valores',
      'motivo',
      'falló tras el envío',
      'entregado',
      'leído',
    ],
    status: {
      sent: 'enviado',
      delivered: 'entregado',
      read: 'leído',
      failed: 'falló',
      uncertain: 'en duda',
      not_sent: 'no enviado',
      sending: 'enviando',
      suppressed: 'dado de baja',
    },
    reason: REASONS.es,
  },
  en: {
    header: [
      '#',
      'phone',
      'phone in the file',
      'outcome',
      'device id',
      'message id',
      'provider error',
      'attempts',
      'updated',
      'device',
      'values',
      'reason',
      'failed after send',
      'delivered',
      'read',
    ],
    status: {
      sent: 'sent',
      delivered: 'delivered',
      read: 'read',
      failed: 'failed',
      uncertain: 'uncertain',
      not_sent: 'not sent',
      sending: 'sending',
      suppressed: 'opted out',
    },
    reason: REASONS.en,
  },
};

/**
 * A provider's error as text a person reads: a JSON body some engines answer with
 * (`HTTP 400 [{"exists":false,"number":"58…"}]`) becomes `HTTP 400 exists: false, number: 58…`.
 */
export function readableError(error: string | null): string | null {
  if (!error) return error;
  const at = error.search(/[[{]/);
  if (at < 0) return error;
  const tail = error.slice(at).replace(/\)$/, '');
  let parsed: unknown;
  try {
    parsed = JSON.parse(tail);
  } catch {
    return error;
  }
  const flat = (v: unknown): string =>
    Array.isArray(v)
      ? v.map(flat).join('; ')
      : v && typeof v === 'object'
        ? Object.entries(v)
            .map(([k, x]) => `${k}: ${flat(x)}`)
            .join(', ')
        : String(v);
  const head = error.slice(0, at).trimEnd();
  return `${head}${head.endsWith('(') || !head ? '' : ' '}${flat(parsed)}${error.endsWith(')') && head.includes('(') ? ')' : ''}`;
}

/**
 * One results.csv cell. A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is
 * a formula to Excel and LibreOffice (`=HYPERLINK(…)` from an uploaded file would run on the
 * reader's machine): it is prefixed with `'` and quoted, as OWASP's CSV-injection rule says. Numbers
 * and dates are written as they are; `;` is quoted too, for spreadsheets that split on it.
 */
export function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (v instanceof Date) return v.toISOString();
  let s = String(v);
  const formula = /^[=+\-@\t\r]/.test(s);
  if (formula) s = `'${s}`;
  return formula || /[",\n\r;]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}
