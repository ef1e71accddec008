import { chmodSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * DATA_DIR holds the embedded database (whose WAL carries every stored secret) and the generated keys:
 * only Puente's own user may read it. Directories are 0700 and files 0600, including those an older
 * version created wider; files PGlite creates later follow the process umask, which is narrowed here.
 */
export function makePrivate(dir: string) {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  try {
    process.umask(0o077);
  } catch {
    // worker threads cannot change the umask; the files already there are still narrowed below
  }
  narrow(dir);
}

/** Directories 0700, files 0600, all the way down (PGlite sets 0666 on the files of a new database itself). */
export function narrow(dir: string) {
  chmodSync(dir, 0o700);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) narrow(path);
    else if (entry.isFile()) chmodSync(path, 0o600);
  }
}
