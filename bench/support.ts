import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

/** The server's maintenance database, where benchmarks create and drop their own. */
const ADMIN_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** One statement on its own connection (CREATE/DROP DATABASE cannot run in a pool's transaction). */
async function adminQuery(text: string) {
  const c = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
}

/**
 * A new, empty PostgreSQL database for one run when `mode` is `postgres` (`url` is null for the
 * embedded database); `drop()` removes it.
 */
export async function benchDatabase(mode: string, prefix: string) {
  const name = `${prefix}_${Date.now()}`;
  if (mode !== 'postgres') return { name, url: null, drop: async () => {} };
  await adminQuery(`CREATE DATABASE ${name}`);
  return {
    name,
    url: ADMIN_DATABASE_URL.replace(/\/postgres$/, `/${name}`),
    drop: () => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

/**
 * The database modes a benchmark runs: `BENCH_MODES` (set by `npm run bench -- all`, which runs each
 * mode in a fresh process) wins over the benchmark's own argument or default.
 */
export function benchModes(argOrDefault: string): string[] {
  return (process.env.BENCH_MODES || argOrDefault).split(',').filter(Boolean);
}

/** Percentile of a sample (nearest rank). */
export const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

/** `puente <args>` as a child process; resolves with its URL once it logs that it listens (for `serve`). */
export function spawnPuente(args: string[], env: Record<string, string | undefined>, opts: { waitFor?: RegExp } = {}) {
  const child = spawn(process.execPath, [fileURLToPath(new URL('../src/main.ts', import.meta.url)), ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const waitFor = opts.waitFor ?? /Puente listening on (http:\/\/[^\s(]+)/;
  const ready = new Promise<string>((resolve, reject) => {
    let seen = '';
    child.stdout.on('data', (d: Buffer) => {
      seen = (seen + d.toString()).slice(-4096);
      const m = waitFor.exec(seen);
      if (m) resolve(m[1] ?? '');
    });
    child.once('exit', (code) => reject(new Error(`puente ${args.join(' ')} exited with ${code}`)));
  });
  return {
    child,
    ready,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}
