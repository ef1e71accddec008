import { z } from 'zod';
import type { NewUserFromWispro } from '../users/users.service.ts';

const text = z
  .union([z.string(), z.number()])
  .nullish()
  .transform((v) => (v === null || v === undefined ? null : String(v).trim() || null));

const wisproClient = z
  .object({
    id: text,
    name: text,
    email: text,
    phone: text,
    phone_mobile: text,
    address: text,
    city: text,
    state: text,
    national_identification_number: text,
  })
  .passthrough();

const FIELDS = ['id', 'name', 'email', 'phone', 'phone_mobile', 'address', 'city', 'state', 'national_identification_number'] as const;
type WisproClientFields = Record<(typeof FIELDS)[number], string | null>;

/**
 * `wisproClient`'s reading of a record whose fields are all as expected (text, a number or absent),
 * without building a parser's result: what almost every record is. Null when a field is of another
 * type, for the schema to say what is wrong with it.
 */
function readFields(raw: unknown): WisproClientFields | null {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return null;
  const out = {} as WisproClientFields;
  for (const k of FIELDS) {
    const v = (raw as Record<string, unknown>)[k];
    if (v === null || v === undefined) out[k] = null;
    else if (typeof v === 'string') out[k] = v.trim() || null;
    else if (typeof v === 'number' && Number.isFinite(v)) out[k] = String(v).trim() || null;
    else return null;
  }
  return out;
}

export interface Cedula {
  letter: string;
  digits: string;
  idNumber: string;
}

/** `12345678`, `V-12345678`, `E-12345678`, `V12345678`, `v 12.345.678` → V-12345678 (digits are the identity). */
export function parseCedula(raw: string | null | undefined): Cedula | null {
  if (!raw) return null;
  const match = /^\s*([VEJGP])?\s*[-.]?\s*(\d{1,3}(?:\.\d{3})+|\d{5,10})\s*$/i.exec(raw);
  if (!match) return null;
  const digits = match[2]!.replaceAll('.', '').replace(/^0+/, '');
  if (digits.length < 5 || digits.length > 10) return null;
  const letter = (match[1] ?? 'V').toUpperCase();
  return { letter, digits, idNumber: `${letter}-${digits}` };
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** `a.b.c` read through nested objects; undefined where a step is missing. */
function at(record: unknown, path: string): unknown {
  let value: unknown = record;
  for (const key of path.split('.')) {
    if (!value || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** A zone is a name: a string, a number, or an object carrying `name`. */
function zoneName(value: unknown): string | null {
  if (typeof value === 'string') return value.trim() || null;
  if (typeof value === 'number') return String(value);
  if (value && typeof value === 'object' && !Array.isArray(value)) return zoneName((value as { name?: unknown }).name);
  return null;
}

/**
 * The client's zone. Wispro's recorded client payloads carry none (the zone belongs to the network
 * side, and tenants differ), so the configured field is read first — a dotted path reaches nested
 * objects (`node.zone`) and an object gives its `name` — then `zone_name` and `zone`; absent is null.
 */
export function readZone(raw: unknown, field: string): string | null {
  for (const path of [field, 'zone_name', 'zone']) {
    const zone = zoneName(at(raw, path));
    if (zone) return zone.slice(0, 200);
  }
  return null;
}

const firstText = (raw: Record<string, unknown>, keys: string[]) => {
  for (const k of keys) {
    const v = raw[k];
    if ((typeof v === 'string' && v.trim()) || typeof v === 'number') return String(v).trim();
  }
  return null;
};

export type Mapped =
  | { kind: 'user'; user: NewUserFromWispro }
  | { kind: 'skip'; reason: string; wispro_id: string | null }
  | { kind: 'error'; reason: string; wispro_id: string | null };

/** One Wispro client → the user it describes, or why it cannot be one. */
export function mapWisproClient(raw: unknown, zoneField: string): Mapped {
  let c = readFields(raw);
  if (!c) {
    const parsed = wisproClient.safeParse(raw);
    if (!parsed.success) return { kind: 'error', reason: `registro ilegible: ${parsed.error.issues[0]?.message ?? 'formato'}`, wispro_id: null };
    c = parsed.data;
  }
  const cedula = parseCedula(c.national_identification_number);
  if (!c.id) {
    return cedula
      ? { kind: 'error', reason: 'registro sin id de Wispro', wispro_id: null }
      : { kind: 'skip', reason: 'sin cédula utilizable ni id de Wispro', wispro_id: null };
  }
  if (!c.name) return { kind: 'error', reason: 'nombre vacío', wispro_id: c.id };
  if (c.name.length > 500) return { kind: 'error', reason: 'nombre demasiado largo', wispro_id: c.id };
  const email = c.email && EMAIL.test(c.email) ? c.email.toLowerCase() : null;
  const zone = readZone(raw, zoneField);
  // Not in the recorded payload, but read when a tenant's Wispro sends them (WHMCS needs both).
  const extra = raw as Record<string, unknown>;
  const postcode = firstText(extra, ['zip_code', 'zipcode', 'postal_code', 'postcode'])?.slice(0, 20) ?? null;
  const countryCode = firstText(extra, ['country_code', 'country']);
  const country = countryCode && /^[A-Za-z]{2}$/.test(countryCode) ? countryCode.toUpperCase() : null;
  return {
    kind: 'user',
    user: {
      name: c.name,
      email,
      phone: c.phone_mobile ?? c.phone,
      address: c.address,
      city: c.city,
      state: c.state,
      postcode,
      country,
      zone,
      code: cedula?.digits ?? null,
      id_number: cedula?.idNumber ?? null,
      cedula_digits: cedula?.digits ?? null,
      id_wispro: c.id,
    },
  };
}
