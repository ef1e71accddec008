import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Agent, request } from 'undici';
import { startWhatsAppSimulator } from '../src/simulators/whatsapp/whatsapp.simulator.ts';
import { benchDatabase, cpuOf, listening, postgresPids } from './support.ts';

/**
 * WhatsApp receipts: N recipients of a finished bulk job get a signed Cloud API `delivered` webhook
 * each (one status per POST, as Meta sends them), from C concurrent connections. Measured: the
 * rate until every receipt is applied in the database, and the webhook's response times (p50, p99).
 * The floor, in the same run: a bare Fastify endpoint answering 200 to the same payloads.
 * With `perPost` > 1 each POST carries that many statuses (Meta groups them under load).
 * `npm run bench -- receipts [receipts=50000] [concurrency=64] [perPost=1]`
 */
export async function run(args: string[]) {
  // The target is PostgreSQL's (the scaled-out mode that takes Meta's bursts); `all` asks per mode.
  if (process.env.BENCH_MODES && !process.env.BENCH_MODES.split(',').includes('postgres')) {
    process.stdout.write('receipts: measured on PostgreSQL only\n');
    return;
  }
  const n = Number(args[0] ?? 50_000);
  const concurrency = Number(args[1] ?? 64);
  const perPost = Math.max(1, Number(args[2] ?? 1));
  const appSecret = 'bench-app-secret';
  const phoneNumberId = '106540352242001';
  const bodies: { raw: string; signature: string }[] = [];
  const status = (i: number) => ({
    id: `wamid.bench-${i}`,
    status: 'delivered',
    timestamp: '1764547200',
    recipient_id: `519${String(10_000_000 + i)}`,
    conversation: { id: 'c0ffee', origin: { type: 'marketing' } },
    pricing: { billable: true, pricing_model: 'CBP', category: 'marketing' },
  });
  for (let i = 0; i < n; i += perPost) {
    const raw = JSON.stringify({
      object: 'whatsapp_business_account',
      entry: [
        {
          id: '102290129340398',
          changes: [
            {
              field: 'messages',
              value: {
                messaging_product: 'whatsapp',
                metadata: { display_phone_number: '51910000001', phone_number_id: phoneNumberId },
                statuses: Array.from({ length: Math.min(perPost, n - i) }, (_, k) => status(i + k)),
              },
            },
          ],
        },
      ],
    });
    bodies.push({ raw, signature: `sha256=${createHmac('sha256', appSecret).update(raw).digest('hex')}` });
  }

  // Floor: the same load against a bare endpoint.
  const floorProc = spawn(process.execPath, [fileURLToPath(new URL('./receipts-floor.process.ts', import.meta.url))], { stdio: ['ignore', 'pipe', 'inherit'] });
  const floorUrl = await firstLine(floorProc);
  const floor = await fire(`${floorUrl}/webhooks/cloud/1`, bodies, concurrency);
  floorProc.kill('SIGTERM');
  await once(floorProc, 'exit');
  process.stdout.write(
    `floor (bare Fastify, 200 to the same payloads): ${rate(floor.perSecond)} req/s, p50 ${floor.p50.toFixed(1)} ms, p99 ${floor.p99.toFixed(1)} ms\n`,
  );

  const dataDir = mkdtempSync(join(tmpdir(), 'puente-bench-rc-'));
  const db = await benchDatabase('postgres', 'puente_bench_rc');
  const env = {
    PATH: process.env.PATH,
    DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    ADMIN_EMAIL: 'bench@puente.local',
    ADMIN_PASSWORD: 'bench-password-1',
    JWT_SECRET: 'bench-secret-bench-secret-bench-secret-0000',
    // The simulator speaks plain http on loopback.
    ALLOW_INSECURE_PROVIDER_URLS: 'true',
    DATABASE_URL: db.url!,
    REDIS_URL: 'redis://127.0.0.1:6379',
    REDIS_PREFIX: db.name,
    NODE_OPTIONS: process.env.BENCH_PUENTE_NODE_OPTIONS ?? '',
  };
  const sim = await startWhatsAppSimulator();
  const server = spawn(process.execPath, [fileURLToPath(new URL('../src/main.ts', import.meta.url)), 'serve'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const client = new pg.Client({ connectionString: db.url! });
  try {
    const url = await listening(server);
    await client.connect();
    const login = (await (
      await fetch(`${url}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: env.ADMIN_EMAIL, password: env.ADMIN_PASSWORD }),
      })
    ).json()) as any;
    const dev = sim.addDevice({ provider: 'cloud', id: phoneNumberId });
    const created = (await (
      await fetch(`${url}/devices`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${login.access_token}` },
        body: JSON.stringify({
          name: 'bench',
          provider: 'cloud',
          base_url: dev.baseUrl,
          credentials: { ...dev.credentials, app_secret: appSecret, verify_token: 'v' },
        }),
      })
    ).json()) as any;
    if (!created.device) throw new Error(`device not created: ${JSON.stringify(created)}`);
    const deviceId = created.device.id as number;
    // A finished job whose N recipients were accepted by the Cloud API, each with its wamid.
    const [{ id: jobId }] = (
      await client.query(
        `INSERT INTO jobs (id, type, status, progress, results) VALUES (gen_random_uuid(), 'messaging.bulk-send', 'completed',
      jsonb_build_object('sent', $1::int, 'failed', 0, 'total', $1::int), jsonb_build_object('sent', $1::int, 'failed', 0, 'total', $1::int)) RETURNING id`,
        [n],
      )
    ).rows;
    await client.query(
      `INSERT INTO message_recipients (job_id, seq, phone, raw_phone, status, device_id, provider_message_id, attempts, updated_at)
      SELECT $1, i, '+519' || (10000000 + i), '+519' || (10000000 + i), 'sent', $2, 'wamid.bench-' || i, 1, now() FROM generate_series(0, $3 - 1) AS i`,
      [jobId, deviceId, n],
    );
    await client.query('VACUUM ANALYZE message_recipients');

    const cpuBefore = { puente: cpuOf([server.pid!]), postgres: cpuOf(postgresPids()) };
    const started = performance.now();
    const puente = await fire(`${url}/webhooks/cloud/${deviceId}`, bodies, concurrency);
    for (;;) {
      const { rows } = await client.query('SELECT delivered FROM message_job_receipts WHERE job_id = $1', [jobId]);
      if ((rows[0]?.delivered ?? 0) >= n) break;
      if (performance.now() - started > 300_000) throw new Error(`only ${rows[0]?.delivered ?? 0} of ${n} applied`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const appliedSeconds = (performance.now() - started) / 1000;
    const perReceipt = (ms: number) => `${Math.round((ms * 1000) / n)} µs`;
    process.stdout.write(
      `CPU per receipt: Puente ${perReceipt(cpuOf([server.pid!]) - cpuBefore.puente)}, PostgreSQL ${perReceipt(cpuOf(postgresPids()) - cpuBefore.postgres)}\n`,
    );
    const {
      rows: [check],
    } = await client.query(
      `SELECT count(*) FILTER (WHERE status = 'delivered')::int AS delivered, (SELECT progress->>'delivered' FROM jobs WHERE id = $1) AS progress
      FROM message_recipients WHERE job_id = $1`,
      [jobId],
    );
    if (check.delivered !== n || Number(check.progress) !== n) throw new Error(`applied ${check.delivered}, job says ${check.progress}`);
    const applied = n / appliedSeconds;
    process.stdout.write(
      `puente (PostgreSQL): ${n} receipts applied in ${appliedSeconds.toFixed(2)} s = ${rate(applied)} receipts/s; ` +
        `answered at ${rate(puente.perSecond)} req/s, p50 ${puente.p50.toFixed(1)} ms, p99 ${puente.p99.toFixed(1)} ms\n`,
    );
    process.stdout.write(
      `\n${n} receipts, ${perPost} a request, ${concurrency} connections\n| | receipts/s (applied) | requests/s answered | p50 | p99 |\n|---|---|---|---|---|\n` +
        `| Puente, PostgreSQL | ${rate(applied)} | ${rate(puente.perSecond)} | ${puente.p50.toFixed(1)} ms | ${puente.p99.toFixed(1)} ms |\n` +
        `| floor: bare Fastify | — | ${rate(floor.perSecond)} | ${floor.p50.toFixed(1)} ms | ${floor.p99.toFixed(1)} ms |\n` +
        `| Puente / floor | | ${((puente.perSecond / floor.perSecond) * 100).toFixed(0)}% | ${(puente.p50 / floor.p50).toFixed(1)}× | ${(puente.p99 / floor.p99).toFixed(1)}× |\n`,
    );
  } finally {
    await client.end().catch(() => {});
    server.kill('SIGTERM');
    await once(server, 'exit');
    await sim.close();
    rmSync(dataDir, { recursive: true, force: true });
    await db.drop();
  }
}

const rate = (x: number) => Math.round(x).toLocaleString('en');

/** Posts every body once from `concurrency` connections; response times in ms. */
async function fire(url: string, bodies: { raw: string; signature: string }[], concurrency: number) {
  const agent = new Agent({ connections: concurrency, pipelining: 1, keepAliveTimeout: 30_000 });
  const times = new Float64Array(bodies.length);
  let next = 0,
    bad = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < bodies.length; i = next++) {
        const t = performance.now();
        const res = await request(url, {
          method: 'POST',
          dispatcher: agent,
          body: bodies[i]!.raw,
          headers: { 'content-type': 'application/json', 'x-hub-signature-256': bodies[i]!.signature },
        });
        await res.body.dump();
        times[i] = performance.now() - t;
        if (res.statusCode !== 200) bad++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await agent.close();
  if (bad) throw new Error(`${bad} requests not answered 200 by ${url}`);
  const sorted = [...times].sort((a, b) => a - b);
  const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
  return { perSecond: bodies.length / seconds, p50: pct(0.5), p99: pct(0.99) };
}

function firstLine(child: ChildProcess) {
  return new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`exited with ${code}`)));
    child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim().split('\n')[0]!));
  });
}
