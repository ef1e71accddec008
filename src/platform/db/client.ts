import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from 'drizzle-orm/pg-core';
import { sql, type SQL } from 'drizzle-orm';
import pg from 'pg';
import type { Config } from '../config.ts';
import { sqlState } from '../http/hostile-input.ts';
import { acquireDataDirLock } from './data-dir-lock.ts';
import { makePrivate, narrow } from './private-files.ts';

export type Db = PgDatabase<PgQueryResultHKT>;
export type Tx = PgTransaction<PgQueryResultHKT>;
/** Anything that can run a statement: the database or an open transaction. */
export type Executor = Db | Tx;

export interface Database {
  kind: 'pglite' | 'postgres';
  orm: Db;
  /** The raw PGlite instance in embedded mode (pg-boss shares it). */
  pglite?: PGlite;
  /** Connection string in PostgreSQL mode (pg-boss opens its own small pool). */
  connectionString?: string;
  /** Runs one parameterised statement and returns its rows. */
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  /** Runs a multi-statement script without parameters. */
  exec(script: string): Promise<void>;
  /**
   * Loads rows with `COPY <target> FROM STDIN` in one statement: `rows` is COPY's text format, one
   * row a line, columns tab-separated, `\N` for null, each value escaped with `copyText`.
   */
  copyIn(target: string, rows: string): Promise<void>;
  close(): Promise<void>;
}

const TIMESTAMPTZ = 1184;
const TIMESTAMP = 1114;

/** PostgreSQL's text form of a timestamp (`2026-11-22 16:27:59.9+00`), as a Date. `timestamp` columns hold UTC. */
function parseTimestamp(text: string, withZone: boolean): Date {
  const iso = text.replace(' ', 'T');
  return new Date(withZone ? iso.replace(/([+-]\d{2})$/, '$1:00') : `${iso}Z`);
}

/** A value in COPY's text format: backslash, tab, newline and carriage return escaped; null as `\N`. */
export const copyText = (v: string | null) => (v === null ? '\\N' : /[\\\t\n\r]/.test(v) ? v.replace(/[\\\t\n\r]/g, (c) => COPY_ESCAPES[c]!) : v);
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/**
 * `COPY … FROM STDIN` of one piece of text, run by node-postgres like a query (its "submittable"
 * interface, as pg-copy-streams uses it): the rows go as one CopyData message once the server asks
 * for them, and the statement settles at ReadyForQuery, or at the error that replaces it.
 */
class CopyFromStdin {
  readonly text: string;
  readonly #rows: Buffer;
  readonly #settle: (err?: Error) => void;
  constructor(text: string, rows: Buffer, settle: (err?: Error) => void) {
    this.text = text;
    this.#rows = rows;
    this.#settle = settle;
  }
  /** node-postgres sets and calls this on its own paths (a closed client); settling is ours. */
  callback() {}
  submit(connection: { query(text: string): void }) {
    connection.query(this.text);
  }
  handleCopyInResponse(connection: { sendCopyFromChunk(chunk: Buffer): void; endCopyFrom(): void }) {
    connection.sendCopyFromChunk(this.#rows);
    connection.endCopyFrom();
  }
  handleCommandComplete() {}
  handleReadyForQuery() {
    this.#settle();
  }
  handleError(err: Error) {
    this.#settle(err);
  }
}

/**
 * `COPY target FROM STDIN` of `text` (rows in COPY's text format, see `copyText`) inside an open
 * transaction, on its own connection: through node-postgres's copy protocol on PostgreSQL, as a COPY
 * from a blob on the embedded database. The connection is drizzle's transaction session's client
 * (`tx.session.client`: the checked-out pool client, or PGlite's transaction).
 */
export async function copyInTransaction(tx: Tx, target: string, text: string): Promise<void> {
  const client = (tx as unknown as { session: { client: unknown } }).session.client;
  if (client instanceof pg.Client) await copyFromStdin(client, target, text);
  else await copyFromBlob(client as BlobQueryable, target, text);
}

/** COPY's rows sent over one node-postgres connection (see `CopyFromStdin`). */
function copyFromStdin(client: pg.ClientBase, target: string, text: string) {
  return new Promise<void>((resolve, reject) => {
    client.query(new CopyFromStdin(`COPY ${target} FROM STDIN`, Buffer.from(text), (err) => (err ? reject(err) : resolve())) as never);
  });
}

/** PGlite, or one of its transactions: what runs a COPY from a blob. */
type BlobQueryable = { query(text: string, params: unknown[], options: { blob: Blob }): Promise<unknown> };

/** COPY's rows handed to the embedded database as a blob, which its COPY reads as `/dev/blob`. */
async function copyFromBlob(db: BlobQueryable, target: string, text: string) {
  await db.query(`COPY ${target} FROM '/dev/blob'`, [], { blob: new Blob([text]) });
}

/** A value as a jsonb parameter: how repositories pass a batch of rows to `jsonb_to_recordset`. */
export const json = (v: unknown) => sql`${JSON.stringify(v)}::jsonb`;

/**
 * Runs a query and returns its rows, with timestamp columns as Dates: the raw drivers hand them over
 * as text, which would otherwise reach replies in PostgreSQL's format instead of ISO 8601.
 */
export async function rows<T>(executor: Executor, query: SQL): Promise<T[]> {
  const result = (await executor.execute(query)) as unknown as { rows: T[]; fields?: { name: string; dataTypeID: number }[] };
  const stamps = result.fields?.filter((f) => f.dataTypeID === TIMESTAMPTZ || f.dataTypeID === TIMESTAMP) ?? [];
  if (stamps.length) {
    for (const row of result.rows as Record<string, unknown>[]) {
      for (const f of stamps) {
        const v = row[f.name];
        if (typeof v === 'string') row[f.name] = parseTimestamp(v, f.dataTypeID === TIMESTAMPTZ);
      }
    }
  }
  return result.rows;
}

export async function openDatabase(config: Pick<Config, 'DATABASE_URL' | 'DATA_DIR' | 'DATABASE_POOL_SIZE'>): Promise<Database> {
  if (config.DATABASE_URL) return openPostgres(config.DATABASE_URL, config.DATABASE_POOL_SIZE);
  makePrivate(resolve(config.DATA_DIR));
  return openPglite(join(resolve(config.DATA_DIR), 'pglite'));
}

async function openPostgres(connectionString: string, max: number): Promise<Database> {
  // A connection attempt to an unreachable server gives up after a few seconds (pg waits forever by
  // default), so a request fails with 503 instead of hanging; keepAlive notices a silent peer.
  const pool = new pg.Pool({ connectionString, max, application_name: 'puente', connectionTimeoutMillis: 5000, keepAlive: true });
  pool.on('error', () => {}); // an idle client dropped by the server is replaced on next use
  // A client checked out between two statements (inside a transaction) whose connection drops emits
  // `error` with no query to reject: without a listener that ends the process. The statement that
  // uses it next fails instead (503), and the pool discards it when it comes back.
  pool.on('connect', (client) => client.on('error', () => {}));
  await pool.query('select 1');
  const orm = drizzlePg(pool) as unknown as Db;
  return {
    kind: 'postgres',
    orm,
    connectionString,
    async query<T>(text: string, params: unknown[] = []) {
      return (await pool.query(text, params)).rows as T[];
    },
    async exec(script) {
      await pool.query(script);
    },
    async copyIn(target, text) {
      const client = await pool.connect();
      let failure: Error | undefined;
      try {
        await copyFromStdin(client, target, text);
      } catch (err) {
        failure = err as Error;
        throw err;
      } finally {
        // A refused COPY leaves its connection ready for the next statement; a broken one is dropped.
        client.release(failure && !sqlState(failure) ? failure : undefined);
      }
    },
    async close() {
      await pool.end();
    },
  };
}

async function openPglite(dir: string): Promise<Database> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const release = acquireDataDirLock(dir);
  const pglite = await PGlite.create(dir);
  narrow(dir);
  const orm = drizzlePglite(pglite) as unknown as Db;
  return {
    kind: 'pglite',
    orm,
    pglite,
    async query<T>(text: string, params: unknown[] = []) {
      return (await pglite.query<T>(text, params)).rows;
    },
    async exec(script) {
      await pglite.exec(script);
    },
    async copyIn(target, text) {
      await copyFromBlob(pglite, target, text);
    },
    async close() {
      await pglite.close();
      release();
    },
  };
}
