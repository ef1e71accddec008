import { spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, openAsBlob, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { startWhatsAppSimulator } from '../src/simulators/whatsapp/whatsapp.simulator.ts';
import { benchDatabase, benchModes, cpuOf, listening, postgresPids } from './support.ts';
import { uploadFloor } from './upload-floor.ts';

/**
 * Bulk WhatsApp: (1) upload of a file of N rows — time until the reply and the server's peak RSS
 * above idle; (2) dispatch throughput against unpaced simulator devices; (3) with paced devices,
 * the achieved rate as a share of their combined limit. Puente runs as its own process; the
 * simulator runs in the benchmark's process.
 * `npm run bench -- messaging [uploadRows=1000000] [sendRows=100000] [modes=postgres,pglite] [devices=8]`
 * The upload is followed by its floor (bench/upload-floor.ts) in the same run; with
 * `BENCH_UPLOAD_ONLY=1` the benchmark stops there (no dispatch, no pacing).
 */
export async function run(args: string[]) {
  const uploadRows = Number(args[0] ?? 1_000_000);
  const sendRows = Number(args[1] ?? 100_000);
  const modes = benchModes(args[2] ?? 'postgres,pglite');
  const deviceCount = Number(args[3] ?? 8);
  const dir = mkdtempSync(join(tmpdir(), 'puente-bench-msg-'));
  try {
    const uploadFile = await writeFile(join(dir, 'upload.csv'), uploadRows, 0);
    const sendFile = await writeFile(join(dir, 'send.csv'), sendRows, 5_000_000);
    const pacedFile = await writeFile(join(dir, 'paced.csv'), 1200, 8_000_000);
    process.stdout.write(
      `files: ${uploadRows.toLocaleString('en')} rows = ${(statSync(uploadFile).size / 2 ** 20).toFixed(1)} MB; ${sendRows.toLocaleString('en')} rows to send\n`,
    );
    const lines = [
      '| database | upload rows | reply after | floor | ratio | peak RSS above idle | unpaced dispatch | paced: achieved / limit |',
      '|---|---|---|---|---|---|---|---|',
    ];
    for (const mode of modes) {
      const r = await runMode(mode, { uploadFile, uploadRows, sendFile, sendRows, pacedFile, deviceCount });
      const line = `| ${mode} | ${uploadRows.toLocaleString('en')} | ${r.uploadSeconds.toFixed(2)} s | ${r.floorSeconds.toFixed(2)} s | ${(r.uploadSeconds / r.floorSeconds).toFixed(2)}× | ${r.peakMb.toFixed(0)} MB | ${Math.round(r.perSecond).toLocaleString('en')} msg/s (${deviceCount} devices) | ${r.paced.achieved.toFixed(1)} / ${r.paced.limit} msg/s = ${(r.paced.share * 100).toFixed(1)}% |`;
      lines.push(line);
      process.stdout.write(`${line}\n`);
    }
    process.stdout.write(`\n${lines.join('\n')}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Distinct Peruvian mobiles with two values each (~40 bytes a row). */
async function writeFile(path: string, rows: number, offset: number) {
  const out = createWriteStream(path);
  out.write('phone|@valor1|@valor2\n');
  for (let i = 0; i < rows; i++) {
    if (!out.write(`+519${String(10_000_000 + offset + i).slice(-8)}|Cliente ${i}|pedido ${100000 + i}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return path;
}

interface Files {
  uploadFile: string;
  uploadRows: number;
  sendFile: string;
  sendRows: number;
  pacedFile: string;
  deviceCount: number;
}

async function runMode(mode: string, f: Files) {
  const dataDir = mkdtempSync(join(tmpdir(), 'puente-bench-'));
  const db = await benchDatabase(mode, 'puente_bench_msg');
  const env = {
    PATH: process.env.PATH,
    DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    ALLOW_INSECURE_PROVIDER_URLS: 'true',
    ADMIN_EMAIL: 'bench@puente.local',
    ADMIN_PASSWORD: 'bench-password-1',
    JWT_SECRET: 'bench-secret-bench-secret-bench-secret-0000',
    DEFAULT_COUNTRY: 'PE',
    JOB_POLL_INTERVAL_SECONDS: '0.5',
    NODE_OPTIONS: process.env.BENCH_PUENTE_NODE_OPTIONS ?? '',
    ...(db.url ? { DATABASE_URL: db.url, REDIS_URL: 'redis://127.0.0.1:6379', REDIS_PREFIX: db.name } : {}),
  };
  const sim = await startWhatsAppSimulator();
  const server = spawn(process.execPath, [fileURLToPath(new URL('../src/main.ts', import.meta.url)), 'serve'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const url = await listening(server);
    const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))![1]) * 1024;
    const call = async (path: string, init: { method?: string; body?: unknown; form?: FormData } = {}) => {
      const r = await fetch(url + path, {
        method: init.method ?? (init.body || init.form ? 'POST' : 'GET'),
        headers: { authorization: `Bearer ${token}`, ...(init.body ? { 'content-type': 'application/json' } : {}) },
        body: init.form ?? (init.body ? JSON.stringify(init.body) : undefined),
      });
      const body = (await r.json()) as any;
      if (!r.ok) throw new Error(`${path}: ${r.status} ${JSON.stringify(body)}`);
      return body;
    };
    let token = '';
    token = (await call('/auth/login', { body: { email: env.ADMIN_EMAIL, password: env.ADMIN_PASSWORD } })).access_token;
    const addDevice = async (name: string, latencyMs: number, pacing: Record<string, number> = {}) => {
      const dev = sim.addDevice({ provider: 'simulator', latencyMs });
      return (await call('/devices', { body: { name, provider: 'simulator', base_url: dev.baseUrl, credentials: dev.credentials, ...pacing } })).device
        .id as number;
    };
    const unpaced: number[] = [];
    for (let i = 0; i < f.deviceCount; i++) unpaced.push(await addDevice(`fast-${i}`, 2));
    const upload = (file: string, devicesLimit: number) => async () => {
      const form = new FormData();
      form.set('message', 'Hola @valor1, tu @valor2 está listo');
      form.set('devices_limit', String(devicesLimit));
      form.set('file', await openAsBlob(file), 'clientes.csv');
      return call('/messages/send-bulk-file', { form });
    };
    const waitDone = async (jobId: string) => {
      for (;;) {
        const job = await call(`/jobs/${jobId}`);
        if (['completed', 'failed', 'cancelled'].includes(job.status)) return job;
        await new Promise((r) => setTimeout(r, 50));
      }
    };

    // (1) Upload: the job it creates is cancelled at once; only the upload is measured.
    await new Promise((r) => setTimeout(r, 1000));
    const idle = rss();
    let peak = idle;
    const sampler = setInterval(() => (peak = Math.max(peak, rss())), 20);
    let started = performance.now();
    const uploaded = await upload(f.uploadFile, 1)();
    const uploadSeconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    if (uploaded.job.progress.total !== f.uploadRows) throw new Error(`upload counted ${uploaded.job.progress.total}`);
    await call(`/jobs/${uploaded.job.id}/cancel`, { method: 'POST' });
    await waitDone(uploaded.job.id);
    process.stdout.write(
      `${mode}: upload of ${f.uploadRows} rows answered in ${uploadSeconds.toFixed(2)} s, peak RSS +${((peak - idle) / 2 ** 20).toFixed(0)} MB\n`,
    );
    // The floor, same file, same run, with Puente idle: csv-parse + Puente's normaliser + one COPY.
    const floor = await uploadFloor(f.uploadFile, mode, db.url);
    if (floor.rows !== f.uploadRows) throw new Error(`floor wrote ${floor.rows} rows`);
    process.stdout.write(`${mode}: floor ${floor.seconds.toFixed(2)} s, ratio ${(uploadSeconds / floor.seconds).toFixed(2)}×\n`);
    if (process.env.BENCH_UPLOAD_ONLY)
      return { uploadSeconds, floorSeconds: floor.seconds, peakMb: (peak - idle) / 2 ** 20, perSecond: NaN, paced: { achieved: NaN, limit: 80, share: NaN } };

    // (2) Unpaced dispatch: from the reply to the job's completion.
    sim.reset();
    const sent = await upload(f.sendFile, f.deviceCount)();
    const cpuBefore = { puente: cpuOf([server.pid!]), postgres: cpuOf(postgresPids()), bench: process.cpuUsage() };
    started = performance.now();
    const done = await waitDone(sent.job.id);
    const seconds = (performance.now() - started) / 1000;
    const benchCpu = process.cpuUsage(cpuBefore.bench);
    const perMessage = (ms: number) => `${Math.round((ms * 1000) / f.sendRows)} µs`;
    process.stdout.write(
      `${mode}: CPU per message: Puente ${perMessage(cpuOf([server.pid!]) - cpuBefore.puente)}, ` +
        `PostgreSQL ${perMessage(cpuOf(postgresPids()) - cpuBefore.postgres)}, simulator and benchmark ${perMessage((benchCpu.user + benchCpu.system) / 1000)}\n`,
    );
    if (done.status !== 'completed' || done.results.sent !== f.sendRows) throw new Error(`dispatch ended ${done.status}: ${JSON.stringify(done.results)}`);
    if (sim.duplicates().length || sim.messages.length !== f.sendRows)
      throw new Error(`simulator got ${sim.messages.length} messages, ${sim.duplicates().length} repeated`);
    const perSecond = f.sendRows / seconds;
    process.stdout.write(`${mode}: ${f.sendRows} messages in ${seconds.toFixed(2)} s = ${Math.round(perSecond)} msg/s\n`);

    // (3) Paced devices: 4 × 1,200/min = 80 msg/s combined; the rate between first and last send.
    for (const id of unpaced) await call(`/devices/${id}`, { method: 'PATCH', body: { status: 'paused' } });
    sim.reset();
    for (let i = 0; i < 4; i++) await addDevice(`paced-${i}`, 5, { messages_per_minute: 1200 });
    const paced = await upload(f.pacedFile, 4)();
    await waitDone(paced.job.id);
    const times = sim.messages.map((m) => m.at).sort((a, b) => a - b);
    // Each device's first send starts at once; the rate is over the intervals after those.
    const achieved = (times.length - 4) / ((times.at(-1)! - times[0]!) / 1000);
    const limit = 80;
    process.stdout.write(`${mode}: paced ${times.length} messages at ${achieved.toFixed(1)} msg/s of ${limit}\n`);
    return { uploadSeconds, floorSeconds: floor.seconds, peakMb: (peak - idle) / 2 ** 20, perSecond, paced: { achieved, limit, share: achieved / limit } };
  } finally {
    server.kill('SIGTERM');
    await once(server, 'exit');
    await sim.close();
    rmSync(dataDir, { recursive: true, force: true });
    await db.drop();
  }
}
