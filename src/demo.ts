import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from './platform/config.ts';
import { createRuntime } from './platform/bootstrap.ts';
import { startServer } from './platform/server.ts';
import { createFileLogger } from './platform/logger.ts';
import { printJobProgress } from './demo-progress.ts';
import { modules } from './modules/index.ts';
import { demoParts, type DemoSession } from './demo-parts.ts';

/**
 * `puente demo`: the simulators of every platform on loopback, Puente wired to them on the embedded
 * database (its own folder under DATA_DIR), an admin account, and data to look at.
 */
/** The settings the simulators gave Puente that a person needs to call them: tokens, keys, ids and URLs. */
function credentialLines(envs: Record<string, string>[]) {
  const all = Object.assign({}, ...envs) as Record<string, string>;
  return Object.entries(all)
    .filter(([k]) => /TOKEN|SECRET|KEY|IDENTIFIER|CLIENT_ID|_URL$|OWNER|APP$|REPORT/.test(k))
    .map(([k, v]) => `    ${k}=${v}`);
}

export async function runDemo(args: string[], onSignals: (close: () => Promise<void>, graceSeconds: number) => void) {
  const { values } = parseArgs({ args, options: { port: { type: 'string' }, 'exit-after-seed': { type: 'boolean' } } });
  const sessions: DemoSession[] = [];
  for (const part of demoParts) sessions.push(await part.start());
  const adminEmail = process.env.ADMIN_EMAIL ?? 'admin@puente.local';
  const adminPassword = process.env.ADMIN_PASSWORD ?? `demo-${randomBytes(6).toString('hex')}`;
  const env = {
    ...process.env,
    DATA_DIR: process.env.DATA_DIR ?? join('data', 'demo'),
    ADMIN_EMAIL: adminEmail,
    ADMIN_PASSWORD: adminPassword,
    CLOUD_API_KEY: process.env.CLOUD_API_KEY ?? 'demo-cloud-api-key',
    ...(values.port ? { PORT: values.port } : {}),
    ...Object.assign({}, ...sessions.map((s) => s.env)),
  };
  const config = loadConfig(env);
  // The terminal is for the banner and the jobs' progress; the request log goes to a file.
  const logFile = join(config.DATA_DIR, 'puente.log');
  const runtime = await createRuntime(config, modules, createFileLogger(config, logFile));
  let server;
  try {
    server = await startServer(runtime, { work: true });
  } catch (err) {
    for (const s of sessions) await s.close();
    throw err;
  }
  let stopProgress = () => {};
  const close = async () => {
    stopProgress();
    await server.close();
    for (const s of sessions) await s.close();
  };
  // Ctrl-C while the demo is still being seeded stops it as gracefully as later on.
  onSignals(close, config.SHUTDOWN_TIMEOUT_SECONDS);
  // Demo mode resets the admin password each run so that the printed one always works.
  const users = runtime.ctx.services.users;
  const [admin] = (await users.list({ search: adminEmail, role: 1, limit: 1, offset: 0 })).items;
  if (admin) await users.resetPassword(admin.id, adminPassword);
  const login = await fetch(`${server.url}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: adminEmail, password: adminPassword }),
  }).then((r) => r.json() as Promise<{ access_token: string }>);
  for (const s of sessions) await s.seed?.(server, login.access_token);

  const out = [
    '',
    '  Puente demo is running',
    `  Dashboard and API:  ${server.url}/        API docs: ${server.url}/docs`,
    `  Admin login:        ${adminEmail} / ${adminPassword}`,
    `  Data:               ${config.DATA_DIR} (embedded PGlite)`,
    `  Sync API key:       ${config.CLOUD_API_KEY} (Socket.IO ${server.url}/sync)`,
    `  Log:                ${logFile} (requests and details; only warnings show here)`,
    ...sessions.flatMap((s) => s.tour.map((t) => `  ${t}`)),
    '',
    '  Simulator credentials (what Puente was given; use them with curl or the CLI):',
    ...credentialLines(sessions.map((s) => s.env)),
    '  bin/puente sync wispro against the simulator (its own data folder, the demo keeps running):',
    `    DATA_DIR=${join(config.DATA_DIR, 'cli')} WISPRO_API_URL=${env.WISPRO_API_URL ?? ''} WISPRO_API_TOKEN=${env.WISPRO_API_TOKEN ?? ''} bin/puente sync wispro`,
    '',
    '  Try:',
    `    TOKEN=$(curl -s -X POST ${server.url}/auth/login -H 'content-type: application/json' -d '{"email":"${adminEmail}","password":"${adminPassword}"}' | sed 's/.*"access_token":"\\([^"]*\\)".*/\\1/')`,
    `    curl -s -X POST ${server.url}/api/users/sync-wispro-all -H "Authorization: Bearer $TOKEN"`,
    `    curl -s "${server.url}/jobs" -H "Authorization: Bearer $TOKEN"`,
    `    curl -s "${server.url}/api/users?search=maria&per_page=5" -H "Authorization: Bearer $TOKEN"`,
    '',
    '  Ctrl-C stops everything.',
    '',
  ];
  process.stdout.write(out.join('\n') + '\n');
  if (values['exit-after-seed']) return close();
  stopProgress = printJobProgress(runtime.ctx, (line) => process.stdout.write(`  ${line}\n`));
}
