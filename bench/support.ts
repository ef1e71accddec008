import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
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

/** CPU milliseconds (user + system) the processes have used, from /proc. */
export function cpuOf(pids: number[]) {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone meanwhile
    }
  }
  return ticks * 10; // USER_HZ is 100 on Linux
}

/** Every PostgreSQL process on the machine (other databases' work counts too: run on a quiet server). */
export function postgresPids() {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres';
      } catch {
        return false;
      }
    });
}

/** Resolves with the URL a `puente serve` child logs once it listens. */
export function listening(server: ChildProcess) {
  return new Promise<string>((resolve, reject) => {
    server.once('exit', (code) => reject(new Error(`puente exited with ${code}`)));
    server.stdout!.on('data', (d: Buffer) => {
      const m = /Puente listening on (http:\/\/[^\s(]+)/.exec(d.toString());
      if (m) resolve(m[1]!);
    });
  });
}
