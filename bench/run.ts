import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';

/**
 * `npm run bench -- <name> [args]` runs bench/<name>.bench.ts. Each benchmark prints its figures;
 * record them in bench/RESULTS.md with the machine line printed here.
 * `npm run bench -- all` runs every benchmark in turn with short arguments, each database mode in a
 * fresh process (so one mode's heap never flatters or burdens the other's memory figures).
 */
const here = dirname(fileURLToPath(import.meta.url));
const self = fileURLToPath(import.meta.url);
const available = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.replace('.bench.ts', ''));
const [name, ...args] = process.argv.slice(2);

/** What `all` runs: short enough for a shared machine, long enough for the percentiles it reports. */
const ALL: [string, string[]][] = [
  ['jobs', ['10']],
  ['zoho', ['500', '5', '2000']],
  ['sync-feed', ['1000', '20', '5']],
  ['sync-feed-scaled', ['freshness', '1000', '50', '10']],
  ['wispro', ['10000', '100']],
  ['messaging', ['1000000', '20000']],
  ['whmcs', ['2000']],
  ['receipts', ['20000', '32']],
];

if (name === 'all') {
  process.stdout.write(machineLine());
  for (const [bench, benchArgs] of ALL) {
    if (!available.includes(bench)) continue;
    for (const mode of ['pglite', 'postgres']) {
      process.stdout.write(`\n## ${bench} (${mode}): npm run bench -- ${bench} ${benchArgs.join(' ')} with BENCH_MODES=${mode}\n`);
      const child = spawn(process.execPath, ['--expose-gc', self, bench, ...benchArgs], { env: { ...process.env, BENCH_MODES: mode }, stdio: 'inherit' });
      const [code] = await once(child, 'exit');
      if (code !== 0) process.stdout.write(`${bench} (${mode}) exited with ${code}\n`);
    }
  }
  process.exit(0);
}
if (!name || !available.includes(name)) {
  process.stdout.write(`usage: npm run bench -- <all|${available.join('|')}> [args]\n`);
  process.exit(name ? 2 : 0);
}
process.stdout.write(machineLine());
const mod = (await import(`./${name}.bench.ts`)) as { run(args: string[]): Promise<void> };
await mod.run(args);
process.exit(0);

function machineLine() {
  return `machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}, ${new Date().toISOString().slice(0, 10)}\n`;
}
