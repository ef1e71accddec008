import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/platform/config.ts';
import { createRuntime, type Runtime } from '../src/platform/bootstrap.ts';
import { copyText } from '../src/platform/db/client.ts';
import { createLogger } from '../src/platform/logger.ts';
import { modules } from '../src/modules/index.ts';
import { WISPRO_SYNC } from '../src/modules/wispro/wispro.jobs.ts';
import { jobChannel } from '../src/platform/jobs/job-definition.ts';
import { benchDatabase, benchModes } from './support.ts';

/**
 * Wispro sync of N clients (default 10,000 and 100,000), first run and re-run, on PGlite and on
 * PostgreSQL: wall time and peak RSS above the process's idle RSS.
 * `npm run bench -- wispro [sizes=10000,100000] [perPage=100,1000] [modes=pglite,postgres]`
 * With BENCH_FLOOR_SPLIT=1 the floor also prints its fetch and COPY times, and how long the same rows
 * take through one `INSERT … FROM jsonb_to_recordset` (the floor's write before COPY was available).
 * Each row is followed by the CPU each part took: this process's (Puente, or the floor's client), and
 * the whole machine's (Puente, PostgreSQL and the simulator together) in core-seconds and as a share
 * of its cores, which tells a run bound by the machine's CPU from one that waits.
 *
 * Puente runs as a long-lived process, and the floor is measured after Puente's syncs, in a process
 * whose HTTP client and JSON parsing are warm. So each row's syncs come after a first sync and re-sync
 * of the same clients into a database of their own (compiling Puente's code, opening its pools); those
 * cold figures are printed too. BENCH_COLD=1 leaves the warm-up out.
 */
export async function run(args: string[]) {
  const sizes = (args[0] ?? '10000,100000').split(',').map(Number);
  const perPages = (args[1] ?? '100,1000').split(',').map(Number);
  const modes = benchModes(args[2] ?? 'pglite,postgres');
  const rows: string[] = [
    '| clients | per_page | database | first sync | re-sync | floor | ratio first / re-sync | peak RSS above idle |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const size of sizes) {
    const sim = await startSimProcess(size);
    try {
      for (const perPage of perPages) {
        for (const mode of modes) {
          const cold = process.env.BENCH_COLD ? null : await measure(sim.url, perPage, mode, { floor: false });
          const r = { ...(await measure(sim.url, perPage, mode, { floor: true })), cold };
          const line = `| ${size.toLocaleString('en')} | ${perPage} | ${mode} | ${r.first.toFixed(2)} s | ${r.second.toFixed(2)} s | ${r.floor.toFixed(2)} s | ${(r.first / r.floor).toFixed(1)}× / ${(r.second / r.floor).toFixed(1)}× | ${r.peakMb.toFixed(0)} MB |`;
          const cpu = `cpu first sync / re-sync / floor: this process ${r.cpu.map((c) => c.process.toFixed(2)).join(' / ')} s, machine ${r.cpu.map((c) => (c.machine === null ? '?' : `${c.machine.toFixed(2)} s (${Math.round(c.busy! * 100)}%)`)).join(' / ')} of ${cpus().length} cores`;
          const coldLine = r.cold
            ? `cold process (before the row's syncs, into a database of their own): first sync ${r.cold.first.toFixed(2)} s, re-sync ${r.cold.second.toFixed(2)} s\n`
            : '';
          rows.push(line);
          process.stdout.write(`${line}\n${cpu}\n${coldLine}`);
        }
      }
    } finally {
      sim.stop();
    }
  }
  process.stdout.write(`\n${rows.join('\n')}\n`);
}

async function measure(wisproUrl: string, perPage: number, mode: string, opts: { floor: boolean }) {
  const dataDir = mkdtempSync(join(tmpdir(), 'puente-bench-'));
  const db = await benchDatabase(mode, 'puente_bench');
  const config = loadConfig({
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    WISPRO_API_URL: wisproUrl,
    WISPRO_API_TOKEN: 'bench-token',
    WISPRO_PER_PAGE: String(perPage),
    JOB_POLL_INTERVAL_SECONDS: '0.5',
    JWT_SECRET: 'bench-secret-bench-secret-bench-secret-0000',
    ...(db.url ? { DATABASE_URL: db.url } : {}),
  });
  const runtime = await createRuntime(config, modules, createLogger({ LOG_LEVEL: 'warn' }));
  try {
    await runtime.start({ work: true });
    global.gc?.();
    const idle = process.memoryUsage().rss;
    let peak = idle;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const cpu: CpuUsed[] = [];
    const first = await metered(cpu, () => timeSync(runtime));
    const second = await metered(cpu, () => timeSync(runtime));
    clearInterval(sampler);
    const floor = opts.floor ? await metered(cpu, () => floorOf(runtime, wisproUrl, perPage)) : Number.NaN;
    return { first, second, floor, cpu, peakMb: (peak - idle) / 2 ** 20 };
  } finally {
    await runtime.close();
    rmSync(dataDir, { recursive: true, force: true });
    await db.drop();
  }
}

interface CpuUsed {
  /** This process's CPU time, seconds. */
  process: number;
  /** The machine's busy CPU time over all its cores, seconds, and as a share of what the cores had (null off Linux). */
  machine: number | null;
  busy: number | null;
}

/** `/proc/stat`'s first line: every core's time so far, and the busy part of it, in clock ticks (1/100 s). */
function machineTicks(): { total: number; busy: number } | null {
  try {
    const ticks = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = ticks.reduce((a, b) => a + b, 0);
    return { total, busy: total - ticks[3]! - (ticks[4] ?? 0) };
  } catch {
    return null;
  }
}

/** Runs `work` and appends the CPU it took (see CpuUsed) to `into`. */
async function metered<T>(into: CpuUsed[], work: () => Promise<T>): Promise<T> {
  const proc = process.cpuUsage();
  const before = machineTicks();
  const result = await work();
  const used = process.cpuUsage(proc);
  const after = machineTicks();
  const machine = before && after ? { busy: after.busy - before.busy, total: after.total - before.total } : null;
  into.push({
    process: (used.user + used.system) / 1e6,
    machine: machine ? machine.busy / 100 : null,
    busy: machine?.total ? machine.busy / machine.total : null,
  });
  return result;
}

/**
 * The floor, in the same run against the same simulator and database: every page fetched one after
 * the other (bare HTTP and JSON.parse, no validation), then every client written by one COPY into a
 * table shaped like the synced columns.
 */
async function floorOf(runtime: Runtime, wisproUrl: string, perPage: number) {
  const db = runtime.ctx.db;
  await db.query('CREATE TABLE IF NOT EXISTS bench_floor (id_wispro text, name text, email text, id_number text, address text)');
  await db.query('TRUNCATE bench_floor');
  const started = performance.now();
  const all: Record<string, unknown>[] = [];
  for (let page = 1; ; page++) {
    const res = await fetch(`${wisproUrl}/clients?page=${page}&per_page=${perPage}`, { headers: { authorization: 'bench-token' } });
    const body = (await res.json()) as { data: Record<string, unknown>[]; meta: { pagination: { total_pages: number } } };
    all.push(...body.data);
    if (page >= body.meta.pagination.total_pages) break;
  }
  const fetched = performance.now();
  const field = (v: unknown) => copyText(v == null ? null : String(v));
  await db.copyIn(
    'bench_floor',
    all.map((c) => `${field(c.id)}\t${field(c.name)}\t${field(c.email)}\t${field(c.national_identification_number)}\t${field(c.address)}\n`).join(''),
  );
  const seconds = (performance.now() - started) / 1000;
  if (process.env.BENCH_FLOOR_SPLIT) {
    const t = performance.now();
    await db.query(
      `INSERT INTO bench_floor SELECT r.id, r.name, r.email, r.national_identification_number, r.address
      FROM jsonb_to_recordset($1::jsonb) AS r(id text, name text, email text, national_identification_number text, address text)`,
      [JSON.stringify(all)],
    );
    process.stdout.write(
      `floor split: fetch ${(fetched - started).toFixed(0)} ms, COPY ${(started + seconds * 1000 - fetched).toFixed(0)} ms, jsonb INSERT of the same rows ${(performance.now() - t).toFixed(0)} ms\n`,
    );
  }
  await db.query('DROP TABLE bench_floor');
  return seconds;
}

/**
 * From the request to the job's completion, as a user sees it (queue pick-up included): the job's
 * end event, as the dashboard and `/ws/job/{id}` receive it. Not a poll of the job's row: on the
 * embedded database every poll is a statement on the thread the sync runs on, which would time
 * the benchmark's own reads. The row is still read every 500 ms, in case the end came before the
 * subscription.
 */
async function timeSync(runtime: Runtime): Promise<number> {
  const started = performance.now();
  const { job } = await runtime.ctx.jobs.start(WISPRO_SYNC, {});
  let ended: (at: number) => void = () => {};
  const end = new Promise<number>((resolve) => (ended = resolve));
  const unsubscribe = await runtime.ctx.bus.subscribe(jobChannel(job.id), (event) => {
    if (['job_completed', 'job_failed', 'job_cancelled'].includes((event as { type?: string }).type ?? '')) ended(performance.now());
  });
  try {
    for (;;) {
      const at = await Promise.race([end, new Promise<null>((r) => setTimeout(() => r(null), 500))]);
      const row = await runtime.ctx.jobs.get(job.id);
      if (row && ['completed', 'failed', 'cancelled'].includes(row.status)) {
        if (row.status !== 'completed') throw new Error(`sync ${row.status}: ${row.error}`);
        return ((at ?? performance.now()) - started) / 1000;
      }
    }
  } finally {
    await unsubscribe();
  }
}

function startSimProcess(clients: number): Promise<{ url: string; stop(): void }> {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./wispro-sim.process.ts', import.meta.url)), String(clients)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) => resolve({ url: d.toString().trim(), stop: () => child.kill('SIGTERM') }));
    child.once('exit', (code) => reject(new Error(`simulator exited with ${code}`)));
  });
}
