import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { Config } from '../../platform/config.ts';
import type { UserRow } from '../users/users.service.ts';

/**
 * Which local field feeds each WHMCS client field (WHMCS => local, as the seed's config/whmcs.php).
 * Local fields are the user's columns plus `client_name` and `client_lastname`, the two halves of
 * the user's single `name` (the seed's names for them).
 */
export type FieldMapping = Record<string, string>;

const LOCAL_FIELDS = [
  'client_name',
  'client_lastname',
  'name',
  'email',
  'phone',
  'address',
  'zone',
  'city',
  'state',
  'postcode',
  'country',
  'id_number',
  'code',
] as const;

export const DEFAULT_MAPPING: FieldMapping = {
  firstname: 'client_name',
  lastname: 'client_lastname',
  email: 'email',
  phonenumber: 'phone',
  address1: 'address',
  city: 'city',
  state: 'state',
  postcode: 'postcode',
  country: 'country',
};

/** What AddClient refuses to go without (password2 is generated). */
const REQUIRED_FIELDS = ['firstname', 'lastname', 'email', 'address1', 'city', 'state', 'postcode', 'country', 'phonenumber'] as const;

const mappingFile = z.object({
  client: z.record(z.string(), z.enum(LOCAL_FIELDS)).optional(),
  defaults: z.record(z.string(), z.string()).optional(),
});

export interface ClientMapping {
  fields: FieldMapping;
  /** Values used when the user has none (WHMCS field => value). */
  defaults: Record<string, string>;
}

/**
 * The seed's mapping, overridden by WHMCS_FIELD_MAPPING_FILE or WHMCS_FIELD_MAPPING (JSON
 * `{"client": {"firstname": "client_name", …}, "defaults": {"city": "Caracas", …}}`), then by the
 * WHMCS_DEFAULT_* variables. A bad mapping stops start-up with a message naming the problem.
 */
export function loadMapping(config: Config): ClientMapping {
  const sources: { origin: string; text: string }[] = [];
  if (config.WHMCS_FIELD_MAPPING_FILE) sources.push({ origin: config.WHMCS_FIELD_MAPPING_FILE, text: readFileSync(config.WHMCS_FIELD_MAPPING_FILE, 'utf8') });
  if (config.WHMCS_FIELD_MAPPING) sources.push({ origin: 'WHMCS_FIELD_MAPPING', text: config.WHMCS_FIELD_MAPPING });
  const mapping: ClientMapping = { fields: { ...DEFAULT_MAPPING }, defaults: { country: config.DEFAULT_COUNTRY } };
  for (const { origin, text } of sources) {
    let parsed: z.infer<typeof mappingFile>;
    try {
      parsed = mappingFile.parse(JSON.parse(text));
    } catch (err) {
      const why = err instanceof z.ZodError ? err.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') : (err as Error).message;
      throw new Error(`Invalid WHMCS field mapping in ${origin}: ${why}`);
    }
    Object.assign(mapping.fields, parsed.client);
    Object.assign(mapping.defaults, parsed.defaults);
  }
  const envDefaults = {
    city: config.WHMCS_DEFAULT_CITY,
    state: config.WHMCS_DEFAULT_STATE,
    postcode: config.WHMCS_DEFAULT_POSTCODE,
    country: config.WHMCS_DEFAULT_COUNTRY,
  };
  for (const [k, v] of Object.entries(envDefaults)) if (v) mapping.defaults[k] = v;
  return mapping;
}

/** "Juan Carlos Pérez Gómez" → ["Juan Carlos", "Pérez Gómez"]; "Ana Pérez" → ["Ana", "Pérez"]. */
export function splitName(name: string): [string, string] {
  const words = name.trim().split(/\s+/).filter(Boolean);
  if (words.length < 2) return [words[0] ?? '', ''];
  const cut = Math.floor(words.length / 2);
  return [words.slice(0, cut).join(' '), words.slice(cut).join(' ')];
}

type UserFields = Pick<UserRow, 'name' | 'email' | 'phone' | 'address' | 'zone' | 'id_number' | 'code'> &
  Partial<Pick<UserRow, 'city' | 'state' | 'postcode' | 'country'>>;

function localValue(user: UserFields, field: string): string {
  const [first, last] = splitName(user.name ?? '');
  if (field === 'client_name') return first;
  if (field === 'client_lastname') return last;
  const value = (user as Record<string, unknown>)[field];
  return value === null || value === undefined ? '' : String(value).trim();
}

/** The WHMCS fields for a user, and which required ones neither the user nor the defaults supply. */
export function toWhmcs(user: UserFields, mapping: ClientMapping): { fields: Record<string, string>; missing: string[] } {
  const fields: Record<string, string> = {};
  for (const [whmcsField, local] of Object.entries(mapping.fields)) {
    const value = localValue(user, local) || mapping.defaults[whmcsField] || '';
    if (value) fields[whmcsField] = value;
  }
  for (const [whmcsField, value] of Object.entries(mapping.defaults)) if (!fields[whmcsField] && value) fields[whmcsField] = value;
  if (fields.country) fields.country = fields.country.toUpperCase();
  const missing = REQUIRED_FIELDS.filter((f) => !fields[f]);
  return { fields, missing };
}

/** The local data a WHMCS client maps to, keyed by local field (the seed's `laravel_data`). */
export function fromWhmcs(client: Record<string, unknown>, mapping: ClientMapping): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [whmcsField, local] of Object.entries(mapping.fields)) {
    const v = client[whmcsField];
    if (v !== undefined && v !== null && String(v).trim() !== '') out[local] = String(v).trim();
  }
  return out;
}

/** Local data (from `fromWhmcs`) as user columns: the two name halves become `name`. */
export function userColumns(
  data: Record<string, string>,
): Partial<Record<'name' | 'email' | 'phone' | 'address' | 'zone' | 'city' | 'state' | 'postcode' | 'country' | 'id_number', string>> {
  const cols: Record<string, string> = {};
  const name = data.name ?? [data.client_name, data.client_lastname].filter(Boolean).join(' ');
  if (name) cols.name = name;
  for (const k of ['email', 'phone', 'address', 'zone', 'city', 'state', 'postcode', 'country', 'id_number']) if (data[k]) cols[k] = data[k]!;
  return cols;
}
