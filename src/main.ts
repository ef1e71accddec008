import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Config } from './platform/config.ts';
import { StartupError } from './platform/startup-error.ts';
import { createRuntime } from './platform/bootstrap.ts';
import { createLogger } from './platform/logger.ts';
import { startServer } from './platform/server.ts';
import { modules } from './modules/index.ts';
import { openDatabase } from './platform/db/client.ts';
import { migrate } from './platform/db/migrate.ts';
import { runDemo } from './demo.ts';
import { keyStore, rotateSecrets } from './platform/auth/secrets.ts';
import { followJob } from './platform/jobs/follow-job.ts';
import { WISPRO_SYNC } from './modules/wispro/wispro.jobs.ts';
import { summaryLine } from './modules/wispro/wispro-sync.service.ts';
import type { RuntimeContext } from './platform/context.ts';
import { ROLE } from './modules/users/users.service.ts';

const usage = `puente — Wispro, WHMCS, Zoho and WhatsApp, kept in step

Usage: puente <command> [options]

  serve [--no-worker]        HTTP API, sockets and (unless --no-worker) job workers
  worker                     job workers only (scaled-out mode)
  migrate                    apply database migrations and exit
  demo                       Puente with simulated Wispro, WHMCS, Zoho and WhatsApp, seeded with data
  admin create --email E --password P [--name N] [--role admin|operator]
  sync wispro [--per-page N] run a Wispro sync now, with a progress bar
  secrets rotate             re-encrypt stored secrets under a new key (see docs/security.md)

Configuration comes from the environment; see README.md.`;

function onSignals(close: () => Promise<void>, graceSeconds: number) {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    process.stderr.write(`\n${signal}: finishing or releasing running jobs…\n`);
    // Whatever hangs (a connection that never answers), the process does not outlive its grace time.
    setTimeout(
      () => {
        process.stderr.write('shutdown took too long; exiting\n');
        process.exit(1);
      },
      (graceSeconds + 2) * 1000,
    ).unref();
    close().then(
      () => process.exit(0),
      (err) => {
        process.stderr.write(`shutdown failed: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

async function serve(config: Config, work: boolean) {
  const runtime = await createRuntime(config, modules);
  const server = await startServer(runtime, { work });
  // Before anything else is awaited: a SIGTERM from the moment it listens is a graceful stop.
  onSignals(() => server.close(), config.SHUTDOWN_TIMEOUT_SECONDS);
  runtime.ctx.logger.info(
    `Puente listening on ${server.url} (${runtime.ctx.db.kind === 'pglite' ? 'embedded PGlite' : 'PostgreSQL'}, ${work ? 'with' : 'without'} workers). API docs: ${server.url}/docs`,
  );
  const admins = await runtime.ctx.services.users.list({ role: ROLE.admin, limit: 1, offset: 0 }).catch((err: Error) => {
    runtime.ctx.logger.warn({ err: err.message }, 'could not check for an administrator');
    return null;
  });
  if (admins?.total === 0) {
    process.stdout.write(
      'No hay ningún administrador todavía. Cree el primero con:\n' +
        "  bin/puente admin create --email usted@ejemplo.com --password 'una-contraseña-larga'\n" +
        '(o arranque con ADMIN_EMAIL y ADMIN_PASSWORD). / No admin yet: create one with bin/puente admin create.\n',
    );
  }
}

async function worker(config: Config) {
  const runtime = await createRuntime(config, modules);
  await runtime.start({ work: true });
  runtime.ctx.logger.info('Puente worker running');
  onSignals(() => runtime.close({ deadline: Date.now() + config.SHUTDOWN_TIMEOUT_SECONDS * 1000 - 1000 }), config.SHUTDOWN_TIMEOUT_SECONDS);
}

async function adminCreate(config: Config, args: string[]) {
  const { values } = parseArgs({
    args,
    options: { email: { type: 'string' }, password: { type: 'string' }, name: { type: 'string' }, role: { type: 'string' } },
  });
  if (!values.email || !values.password) throw new Error('admin create needs --email and --password');
  const role = values.role === 'operator' ? 'operator' : 'admin';
  const runtime = await createRuntime({ ...config, LOG_LEVEL: 'warn' }, modules);
  try {
    const user = await runtime.ctx.services.users.createStaff({ email: values.email, password: values.password, name: values.name ?? 'Administrador', role });
    process.stdout.write(`Created ${role} ${user.email} (id ${user.id})\n`);
  } finally {
    await runtime.close();
  }
}

/** The first failures of a job and where to see all of them, for the end of a terminal run. */
async function failureListing(ctx: RuntimeContext, jobId: string, port: number, first = 20) {
  const { total } = await ctx.jobs.failureSummary(jobId);
  if (!total) return '';
  const failed = (await ctx.jobs.items(jobId, { status: 'failed', limit: first, offset: 0 })).items;
  const skipped = failed.length < first ? (await ctx.jobs.items(jobId, { status: 'skipped', limit: first - failed.length, offset: 0 })).items : [];
  const lines = [...failed, ...skipped].map(
    (i) => `  • ${i.label || '(sin nombre)'}${i.wispro_id ? ` [${String(i.wispro_id)}]` : ''}: ${i.reason ?? i.status}`,
  );
  const more = total > lines.length ? `  … y ${total - lines.length} más.\n` : '';
  return (
    `\nNo sincronizados (${total}):\n${lines.join('\n')}\n${more}` +
    `Todos: panel → Trabajos → «Ver fallos», o GET http://localhost:${port}/jobs/${jobId}/items?status=failed (y ?status=skipped)\n`
  );
}

async function syncWispro(config: Config, args: string[]) {
  const { values } = parseArgs({ args, options: { 'per-page': { type: 'string' } } });
  const runtime = await createRuntime(config, modules, createLogger({ LOG_LEVEL: process.stderr.isTTY ? 'warn' : config.LOG_LEVEL }));
  try {
    await runtime.start({ work: true });
    const perPage = values['per-page'] ? Number(values['per-page']) : undefined;
    const { job } = await runtime.ctx.jobs.start(WISPRO_SYNC, perPage ? { per_page: perPage } : {}, { createdBy: 'cli' });
    const final = await followJob(runtime.ctx, job.id, (p) => {
      const pages = Number(p.pages ?? 0),
        total = Number(p.total_pages ?? 0);
      return `${pages}/${total} páginas · ${summaryLine(p as never)}`;
    });
    process.stdout.write(
      `${final.status === 'completed' ? '✅ Sincronización completada' : `❌ Sincronización ${final.status}: ${final.error ?? ''}`} - ${summaryLine(final.progress as never)}\n`,
    );
    process.stdout.write(await failureListing(runtime.ctx, job.id, config.PORT));
    process.exitCode = final.status === 'completed' ? 0 : 1;
  } finally {
    await runtime.close();
  }
}

async function secretsRotate(config: Config) {
  const runtime = await createRuntime({ ...config, LOG_LEVEL: 'warn' }, modules);
  try {
    const { keyId, resealed } = await rotateSecrets(runtime.ctx.secrets, keyStore(config, runtime.ctx.db));
    const counts =
      Object.entries(resealed)
        .map(([k, n]) => `${k}: ${n}`)
        .join(', ') || 'nothing stored yet';
    process.stdout.write(`Secrets re-encrypted under key ${keyId} (${counts})${config.SECRET_KEY ? '. SECRET_KEY_PREVIOUS can now be removed.' : '.'}\n`);
  } finally {
    await runtime.close();
  }
}

async function main(argv: string[]) {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help') return void process.stdout.write(`${usage}\n`);
  if (command === 'demo') return runDemo(rest, onSignals);
  const config = loadConfig();
  switch (`${command}${rest[0] && !rest[0].startsWith('-') ? ` ${rest[0]}` : ''}`) {
    case 'serve':
      return serve(config, !rest.includes('--no-worker'));
    case 'worker':
      return worker(config);
    case 'migrate': {
      const db = await openDatabase(config);
      try {
        const applied = await migrate(db);
        process.stdout.write(applied.length ? `Applied ${applied.join(', ')}\n` : 'Database is up to date\n');
      } finally {
        await db.close();
      }
      return;
    }
    case 'admin create':
      return adminCreate(config, rest.slice(1));
    case 'sync wispro':
      return syncWispro(config, rest.slice(1));
    case 'secrets rotate':
      return secretsRotate(config);
    default:
      process.stderr.write(`Unknown command: ${argv.join(' ')}\n\n${usage}\n`);
      process.exitCode = 2;
  }
}

main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(err instanceof ConfigError || err instanceof StartupError ? `${err.message}\n` : `puente: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
