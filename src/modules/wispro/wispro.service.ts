import type { Executor, Tx } from '../../platform/db/client.ts';
import type { UsersService } from '../users/users.service.ts';
import { wisproProfileHash, type MatchRow, type NewUserFromWispro, type WisproUpdate } from '../users/users.service.ts';
import { mapWisproClient } from './wispro.mapper.ts';

export interface SyncCounters {
  created: number;
  updated: number;
  unchanged: number;
  skipped: number;
  errors: number;
}

export interface RecordIssue {
  wispro_id: string | null;
  reason: string;
}

/** What one Wispro client came to, as `GET /jobs/{id}/items` lists it. */
export interface RecordOutcome {
  wispro_id: string | null;
  name: string | null;
  id_number: string | null;
  status: 'created' | 'updated' | 'unchanged' | 'skipped' | 'failed';
  reason_code: string | null;
  reason: string | null;
  /** The client's index in the list it was applied from (what keys a record without a Wispro id). */
  at: number;
}

export interface PageOutcome extends SyncCounters {
  issues: RecordIssue[];
  records: RecordOutcome[];
}

/** The mapper's and this file's reasons as stable codes, to group a sync's failures by. */
export function issueCode(reason: string): string {
  if (/duplicada/.test(reason)) return 'wispro.duplicate_id_number';
  if (/sin cédula/.test(reason)) return 'wispro.no_id_number';
  if (/sin id de Wispro/.test(reason)) return 'wispro.no_wispro_id';
  if (/nombre vacío/.test(reason)) return 'wispro.empty_name';
  if (/nombre demasiado largo/.test(reason)) return 'wispro.name_too_long';
  if (/ilegible/.test(reason)) return 'wispro.unreadable';
  if (/otro proceso/.test(reason)) return 'wispro.concurrent';
  if (/base de datos/.test(reason)) return 'wispro.database_error';
  return 'wispro.other';
}

const rawName = (raw: unknown) => {
  const n = (raw as { name?: unknown } | null)?.name;
  return typeof n === 'string' ? n.slice(0, 200) : null;
};

const changed = (m: MatchRow, u: NewUserFromWispro) =>
  m.profile !== wisproProfileHash(u) || (u.postcode !== null && m.postcode !== u.postcode) || (u.country !== null && m.country !== u.country);

/** A page decided against the users it matched: what to insert, what to update, what the rest came to. */
export interface PagePlan {
  /** Counters and records of every client except those to insert (`created` is 0). */
  out: PageOutcome;
  inserts: NewUserFromWispro[];
  /** Each insert's index in the clients planned. */
  insertsAt: number[];
  updates: WisproUpdate[];
  /** How many of `updates` link a Wispro id to a user that had none. */
  links: number;
}

/**
 * Decides one page of Wispro clients against `users` (one read). Match by Wispro id, then by cédula
 * digits; existing users get only name, email, address (city, state…) and zone; a cédula that
 * already belongs to another Wispro client is a duplicate and is skipped.
 */
export async function planWisproPage(users: UsersService, db: Executor, clients: unknown[], zoneField: string): Promise<PagePlan> {
  const out: PageOutcome = { created: 0, updated: 0, unchanged: 0, skipped: 0, errors: 0, issues: [], records: [] };
  const record = (
    c: { name: string | null; id_number: string | null; id_wispro: string | null },
    at: number,
    status: RecordOutcome['status'],
    reason: string | null = null,
  ) => out.records.push({ wispro_id: c.id_wispro, name: c.name, id_number: c.id_number, status, reason, reason_code: reason ? issueCode(reason) : null, at });
  const candidates: NewUserFromWispro[] = [];
  const candidatesAt: number[] = [];
  clients.forEach((raw, at) => {
    const mapped = mapWisproClient(raw, zoneField);
    if (mapped.kind === 'user') {
      candidates.push(mapped.user);
      candidatesAt.push(at);
    } else {
      out[mapped.kind === 'skip' ? 'skipped' : 'errors']++;
      out.issues.push({ wispro_id: mapped.wispro_id, reason: mapped.reason });
      record({ id_wispro: mapped.wispro_id, name: rawName(raw), id_number: null }, at, mapped.kind === 'skip' ? 'skipped' : 'failed', mapped.reason);
    }
  });
  const matches = await users.matchForWispro(
    db,
    candidates.map((c) => (c.cedula_digits ? { w: c.id_wispro, d: c.cedula_digits } : { w: c.id_wispro })),
  );
  const byWispro = new Map(matches.filter((m) => m.id_wispro).map((m) => [m.id_wispro!, m]));
  const byCedula = new Map<string, MatchRow | 'new'>(matches.filter((m) => m.cedula_digits).map((m) => [m.cedula_digits!, m]));
  const inserts: NewUserFromWispro[] = [];
  const insertsAt: number[] = [];
  const updates: WisproUpdate[] = [];
  let links = 0;

  for (const [k, c] of candidates.entries()) {
    const at = candidatesAt[k]!;
    const match = byWispro.get(c.id_wispro) ?? (c.cedula_digits ? byCedula.get(c.cedula_digits) : undefined);
    if (match === 'new' || (match?.id_wispro && match.id_wispro !== c.id_wispro)) {
      out.skipped++;
      const reason = `cédula ${c.id_number} duplicada (ya pertenece a otro cliente de Wispro)`;
      out.issues.push({ wispro_id: c.id_wispro, reason });
      record(c, at, 'skipped', reason);
      continue;
    }
    if (match) {
      if (changed(match, c) || !match.id_wispro) {
        updates.push({
          id: match.id,
          name: c.name,
          email: c.email,
          address: c.address,
          zone: c.zone,
          city: c.city,
          state: c.state,
          postcode: c.postcode,
          country: c.country,
          id_wispro: c.id_wispro,
        });
        if (!match.id_wispro) links++;
        out.updated++;
        record(c, at, 'updated');
      } else {
        out.unchanged++;
        record(c, at, 'unchanged');
      }
      byWispro.set(c.id_wispro, { ...match, id_wispro: c.id_wispro });
      continue;
    }
    inserts.push(c);
    insertsAt.push(at);
    if (c.cedula_digits) byCedula.set(c.cedula_digits, 'new');
  }
  return { out, inserts, insertsAt, updates, links };
}

/** The reason recorded for a client another process created between a page's read and its write. */
export const CREATED_ELSEWHERE = 'creado por otro proceso al mismo tiempo';
export const lostIssue = (lost: number): RecordIssue => ({ wispro_id: null, reason: `${lost} cliente(s) creados por otro proceso al mismo tiempo` });

/** Applies one page (`planWisproPage`, then its inserts and updates) inside the caller's transaction. */
async function applyWisproPage(users: UsersService, tx: Executor, clients: unknown[], zoneField: string): Promise<PageOutcome> {
  const { out, inserts, insertsAt, updates } = await planWisproPage(users, tx, clients, zoneField);
  const created = await users.insertFromWispro(tx, inserts);
  out.created += created.length;
  const lost = inserts.length - created.length;
  if (lost > 0) {
    // Another sync created them between our read and write; they will be matched next time.
    out.skipped += lost;
    out.issues.push(lostIssue(lost));
  }
  const createdIds = new Set(created.map((c) => c.id_wispro));
  for (const [k, c] of inserts.entries()) {
    out.records.push({
      wispro_id: c.id_wispro,
      name: c.name,
      id_number: c.id_number,
      at: insertsAt[k]!,
      ...(createdIds.has(c.id_wispro)
        ? { status: 'created', reason: null, reason_code: null }
        : { status: 'skipped', reason: CREATED_ELSEWHERE, reason_code: issueCode(CREATED_ELSEWHERE) }),
    });
  }
  await users.updateFromWispro(tx, updates);
  return out;
}

/**
 * The same page one client at a time, each in its own savepoint: used when a batch's write fails,
 * so that one bad record costs only itself.
 */
export async function applyWisproPageIsolated(users: UsersService, tx: Tx, clients: unknown[], zoneField: string): Promise<PageOutcome> {
  const total: PageOutcome = { created: 0, updated: 0, unchanged: 0, skipped: 0, errors: 0, issues: [], records: [] };
  for (const [at, client] of clients.entries()) {
    try {
      const one = await tx.transaction((sp) => applyWisproPage(users, sp, [client], zoneField));
      for (const k of ['created', 'updated', 'unchanged', 'skipped', 'errors'] as const) total[k] += one[k];
      total.issues.push(...one.issues);
      total.records.push(...one.records.map((r) => ({ ...r, at })));
    } catch (err) {
      total.errors++;
      const id = (client as { id?: unknown })?.id;
      const reason = `error de base de datos: ${(err as Error).message}`;
      total.issues.push({ wispro_id: typeof id === 'string' ? id : null, reason });
      total.records.push({
        wispro_id: typeof id === 'string' ? id : null,
        name: rawName(client),
        id_number: null,
        status: 'failed',
        reason,
        reason_code: issueCode(reason),
        at,
      });
    }
  }
  return total;
}
