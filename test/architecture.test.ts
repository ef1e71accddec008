import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

// Modules talk to each other through services: a module never imports another module's repository
// and never names another module's tables in its SQL.

const root = resolve(import.meta.dirname, '..');
const modulesDir = join(root, 'src', 'modules');
const migrationsDir = join(root, 'src', 'platform', 'db', 'migrations');

interface Source {
  file: string;
  text: string;
}

function sourcesOf(dir: string): Source[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .map((f) => ({ file: join(dir, f), text: readFileSync(join(dir, f), 'utf8') }));
}

/** The module a file belongs to (`src/modules/<module>/…`), or null outside the modules. */
function moduleOf(file: string): string | null {
  const rel = relative(modulesDir, file);
  if (rel.startsWith('..')) return null;
  const parts = rel.split(sep);
  return parts.length > 1 ? parts[0]! : null;
}

const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g;

export function repositoryImports(sources: Source[]): string[] {
  const found: string[] = [];
  for (const { file, text } of sources) {
    const own = moduleOf(file);
    for (const [, spec] of text.matchAll(IMPORT)) {
      if (!spec!.startsWith('.')) continue;
      const target = resolve(dirname(file), spec!);
      const other = moduleOf(target);
      if (other && other !== own && /\.repository(\.ts)?$/.test(target)) found.push(`${relative(root, file)} imports ${spec}`);
    }
  }
  return found;
}

const TABLE_REF = /\b(?:FROM|JOIN|UPDATE|INTO)\s+([a-z_][a-z0-9_]*)/g; // SQL keywords are upper case here; prose is not

/** Tables whose SQL appears in more than one module, with the modules. */
export function sharedTables(sources: Source[], tables: Set<string>): string[] {
  const users = new Map<string, Set<string>>();
  for (const { file, text } of sources) {
    const mod = moduleOf(file);
    if (!mod) continue;
    for (const [, name] of text.matchAll(TABLE_REF)) {
      const table = name!.toLowerCase();
      if (!tables.has(table)) continue;
      if (!users.has(table)) users.set(table, new Set());
      users.get(table)!.add(mod);
    }
  }
  return [...users].filter(([, mods]) => mods.size > 1).map(([table, mods]) => `${table}: ${[...mods].sort().join(', ')}`);
}

function migrationTables(): Set<string> {
  const tables = new Set<string>();
  for (const f of readdirSync(migrationsDir).filter((n) => n.endsWith('.sql'))) {
    for (const [, name] of readFileSync(join(migrationsDir, f), 'utf8').matchAll(/CREATE TABLE(?: IF NOT EXISTS)?\s+([a-z_][a-z0-9_]*)/gi))
      tables.add(name!.toLowerCase());
  }
  return tables;
}

test('the checks see a violation when there is one', () => {
  const fake = (mod: string, name: string, text: string) => ({ file: join(modulesDir, mod, name), text });
  const bad = [
    fake('whmcs', 'whmcs.service.ts', `import { usersRepository } from '../users/users.repository.ts';`),
    fake('zoho', 'zoho.jobs.ts', `const m = await import('../messaging/devices.repository.ts');`),
    fake('users', 'users.service.ts', `import { x } from './users.repository.ts'; import type { Y } from '../whmcs/whmcs.service.ts';`),
  ];
  assert.deepEqual(repositoryImports(bad), [
    'src/modules/whmcs/whmcs.service.ts imports ../users/users.repository.ts',
    'src/modules/zoho/zoho.jobs.ts imports ../messaging/devices.repository.ts',
  ]);
  const sql = [
    fake('users', 'users.repository.ts', 'SELECT * FROM users WHERE id = 1'),
    fake('whmcs', 'whmcs.repository.ts', 'SELECT u.id FROM whmcs_sync_map m JOIN users u ON u.id = m.laravel_id'),
  ];
  assert.deepEqual(sharedTables(sql, new Set(['users', 'whmcs_sync_map'])), ['users: users, whmcs']);
});

test("no module imports another module's repository", () => {
  const sources = sourcesOf(modulesDir);
  assert.ok(sources.length > 30, 'the modules were read');
  assert.deepEqual(repositoryImports(sources), []);
});

test('no table is read or written by the SQL of two modules', () => {
  const tables = migrationTables();
  assert.ok(tables.has('users') && tables.has('whmcs_sync_map'), 'the tables were read from the migrations');
  assert.deepEqual(sharedTables(sourcesOf(modulesDir), tables), []);
});
