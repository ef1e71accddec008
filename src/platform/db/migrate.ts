import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database } from './client.ts';

const migrationsDir = join(dirname(fileURLToPath(import.meta.url)), 'migrations');
const LOCK_KEY = 727_431_001;
const CREATE_LEDGER = `CREATE TABLE IF NOT EXISTS puente_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`;

function migrationFiles(): string[] {
  return readdirSync(migrationsDir)
    .filter((f) => f.endsWith('.sql'))
    .sort();
}

/**
 * Applies the committed SQL migrations in name order, each in its own transaction. Several processes
 * starting together on PostgreSQL serialise on an advisory lock, so each migration runs once.
 */
export async function migrate(db: Database): Promise<string[]> {
  if (db.kind === 'postgres') return migratePostgres(db);
  await db.exec(CREATE_LEDGER);
  return applyPending(db, async (script) =>
    db.exec(`BEGIN;\n${script}\nCOMMIT;`).catch(async (err) => {
      await db.exec('ROLLBACK').catch(() => {});
      throw err;
    }),
  );
}

async function migratePostgres(db: Database): Promise<string[]> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: db.connectionString });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
    // Under the lock too: two CREATE TABLE IF NOT EXISTS at once can both miss the table and one fails.
    await client.query(CREATE_LEDGER);
    return await applyPending(db, async (script) => {
      await client.query('BEGIN');
      try {
        await client.query(script);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      }
    });
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => {});
    await client.end();
  }
}

async function applyPending(db: Database, run: (script: string) => Promise<void>): Promise<string[]> {
  const done = new Set((await db.query<{ name: string }>('SELECT name FROM puente_migrations')).map((r) => r.name));
  const applied: string[] = [];
  for (const name of migrationFiles()) {
    if (done.has(name)) continue;
    const body = readFileSync(join(migrationsDir, name), 'utf8');
    const escaped = name.replaceAll("'", "''");
    try {
      await run(`${body}\nINSERT INTO puente_migrations (name) VALUES ('${escaped}');`);
    } catch (err) {
      throw new Error(`Migration ${name} failed: ${(err as Error).message}`, { cause: err });
    }
    applied.push(name);
  }
  return applied;
}
