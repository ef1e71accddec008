import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StartupError } from '../startup-error.ts';

/**
 * PGlite is one process's database: two processes opening the same directory corrupt it. A pid file
 * turns that mistake into a clear error instead.
 */
export function acquireDataDirLock(dir: string): () => void {
  const file = join(dir, 'puente.pid');
  try {
    const pid = Number(readFileSync(file, 'utf8'));
    if (pid && pid !== process.pid && isAlive(pid)) {
      throw new StartupError(
        `La base embebida en ${dir} está en uso por el proceso ${pid}: deténgalo, use otro DATA_DIR, o DATABASE_URL para compartir un PostgreSQL / The embedded database in ${dir} is in use by process ${pid}. Stop it first, or set DATABASE_URL to share a PostgreSQL server between processes.`,
      );
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  writeFileSync(file, String(process.pid));
  return () => rmSync(file, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
