import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';

export type Provider = 'cloud' | 'evolution' | 'waha' | 'simulator';
export type PhoneResult = { ok: true; e164: string } | { ok: false; reason: string };

/**
 * Any reasonable way of writing a number → E.164, with `defaultCountry` for national forms.
 * Possible-length is the test, not full validity: operators send to ranges that libphonenumber's
 * metadata does not know yet, and the provider is the judge of whether a number has WhatsApp.
 */
export function normalisePhone(raw: string, defaultCountry: string): PhoneResult {
  let s = raw.trim().replace(/[\s().\-\u00a0]/g, '');
  if (!s) return { ok: false, reason: 'número vacío / empty number' };
  if (s.startsWith('00')) s = `+${s.slice(2)}`;
  if (!/^\+?\d+$/.test(s)) return invalid(raw);
  // Mexico's old mobile prefix: +52 1 and ten digits. libphonenumber rejects the 13-digit form.
  s = s.replace(/^(\+?52)1(\d{10})$/, '$1$2');
  const key = `${defaultCountry}:${s.length}:${s.slice(0, SHAPE_DIGITS)}`;
  const known = shapes.get(key);
  if (known === null) return invalid(raw);
  if (known) return { ok: true, e164: known.prefix + s.slice(known.drop) };
  const tries = s.startsWith('+') ? [s] : [s, `+${s}`];
  for (const candidate of tries) {
    const p = parsePhoneNumberFromString(candidate, defaultCountry as CountryCode);
    if (p?.isPossible()) {
      remember(key, shapeOf(s, p.number));
      return { ok: true, e164: p.number };
    }
  }
  remember(key, null);
  return invalid(raw);
}

const invalid = (raw: string): PhoneResult => ({ ok: false, reason: `número inválido «${raw.trim().slice(0, 40)}» / invalid number` });

/**
 * libphonenumber takes ~15 µs a number, which is 15 s for a million-row file. Whether a number is
 * possible, and how it becomes E.164, depends only on the default country, its length and its
 * leading digits (country code, trunk prefix); so the answer for one number is reused for the
 * numbers of the same shape: `prefix + digits after drop`. Shapes whose rewriting is not of that
 * form (Argentina's national 15 → 9) are not remembered and always take the full parse.
 */
const SHAPE_DIGITS = 7;
const MAX_SHAPES = 20_000;
type Shape = { prefix: string; drop: number } | null;
const shapes = new Map<string, Shape | undefined>();

function shapeOf(input: string, e164: string): Shape | undefined {
  for (let drop = 0; drop <= 3 && drop < input.length; drop++) {
    const rest = input.slice(drop);
    if (rest.startsWith('+') || !e164.endsWith(rest)) continue;
    const prefix = e164.slice(0, e164.length - rest.length);
    if (drop >= SHAPE_DIGITS || prefix.length > 5) continue;
    return { prefix, drop };
  }
  return undefined;
}

function remember(key: string, shape: Shape | undefined) {
  if (shape === undefined) return;
  if (shapes.size >= MAX_SHAPES) shapes.clear();
  shapes.set(key, shape);
}

/**
 * The form each engine expects. The Cloud API takes E.164 and resolves the account itself;
 * WhatsApp Web engines (Evolution/Baileys, WAHA) address Mexican mobiles by their legacy JID
 * `521…` and Argentine mobiles with the `9` after 54 (already the E.164 form libphonenumber gives).
 */
export function forProvider(e164: string, provider: Provider): string {
  if (provider === 'cloud' || provider === 'simulator') return e164;
  const digits = e164.slice(1);
  const mx = /^52(\d{10})$/.exec(digits);
  if (mx) return `521${mx[1]}`;
  return digits;
}

/** Forgets the remembered shapes (tests compare remembered answers with full parses). */
export function forgetPhoneShapes() {
  shapes.clear();
}
