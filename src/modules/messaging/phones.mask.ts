/** A phone number with all but its first three and last two characters hidden (`+51*******23`). */
export function maskPhone(phone: string): string {
  return phone.length <= 5 ? '***' : `${phone.slice(0, 3)}${'*'.repeat(phone.length - 5)}${phone.slice(-2)}`;
}

/**
 * Phone-shaped text (7 or more digits, `+`, spaces, dots, dashes and brackets between them) is
 * masked; ids and timestamps, which are digits too, are matched first and left as they are.
 */
const SHAPES =
  /([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})|(\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?)|(\+?\d(?:[\s().-]{0,2}\d){6,})/gi;
const PHONE_KEYS = new Set(['phone', 'raw_phone', 'number', 'to', 'recipient']);

function maskPhonesIn(text: string): string {
  return text.replace(SHAPES, (m, uuid?: string, date?: string) => (uuid || date ? m : maskPhone(m)));
}

/** A value with every recipient's number masked, wherever it sits: under a phone key, or phone-shaped in any text. */
export function maskPhones(value: unknown, key = '', depth = 0): unknown {
  if (typeof value === 'string') return PHONE_KEYS.has(key) ? maskPhone(value) : maskPhonesIn(value);
  if (typeof value === 'number' && PHONE_KEYS.has(key)) return maskPhone(String(value));
  if (value === null || typeof value !== 'object') return value;
  if (depth > 20) return '[…]';
  if (Array.isArray(value)) return value.map((v) => maskPhones(v, key, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskPhones(v, k, depth + 1)]));
}
