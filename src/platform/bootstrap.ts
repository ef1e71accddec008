import { redisUrlOf, type Config } from './config.ts';
import { openDatabase } from './db/client.ts';
import { migrate } from './db/migrate.ts';
import { createLocalBus, createRedisBus } from './events/bus.ts';
import { createLogger, type Logger } from './logger.ts';
import { Tokens, resolveJwtSecret } from './auth/jwt.ts';
import { SecretBox, keyStore } from './auth/secrets.ts';
import { Sessions } from './auth/sessions.ts';
import { Throttle } from './auth/throttle.ts';
import { JobRunner } from './jobs/job-runner.ts';
import { JobsService } from './jobs/jobs.service.ts';
import type { RuntimeContext, PuenteModule, Services } from './context.ts';
import { maintenanceJobs } from './jobs/maintenance.jobs.ts';
import { JobReconciler } from './jobs/jobs.reconciler.ts';

export interface Runtime {
  ctx: RuntimeContext;
  modules: PuenteModule[];
  /** Closes records of jobs whose worker was lost on the last attempt (sweeps only in worker processes). */
  reconciler: JobReconciler;
  /** Starts queues (and workers when `work`), then each module's start hook. */
  start(opts: { work: boolean }): Promise<void>;
  /** Stops modules, releases running jobs (waiting for them until `deadline`, epoch ms), closes the bus and the database. */
  close(opts?: { deadline?: number }): Promise<void>;
}

/** Opens the database (migrating it), the event bus and the job runner, and sets up every module. */
export async function createRuntime(config: Config, modules: PuenteModule[], logger: Logger = createLogger(config)): Promise<Runtime> {
  const db = await openDatabase(config);
  try {
    const applied = await migrate(db);
    if (applied.length) logger.info({ applied }, 'database migrated');
    const redisUrl = redisUrlOf(config);
    const bus = redisUrl ? await createRedisBus(redisUrl, config.REDIS_PREFIX, logger) : createLocalBus();
    const secrets = await SecretBox.open(keyStore(config, db).load);
    const tokens = new Tokens(await resolveJwtSecret(config, db, secrets), config.JWT_ACCESS_TTL_SECONDS);
    // Modules fill the registry of services in `setup`, in their start order.
    const services = {} as Services;
    const sessions = new Sessions({
      db: db.orm,
      embedded: db.kind === 'pglite' ? db : null,
      tokens,
      refreshTtlSeconds: config.JWT_REFRESH_TTL_SECONDS,
      codeActive: async (id) => (await services.codeLogin?.isActive(id)) ?? false,
    });
    const throttle = new Throttle(db.orm, logger);
    const runner = new JobRunner({ config, db, bus, logger });
    const jobs = new JobsService(db, runner, bus);
    const ctx: RuntimeContext = { config, logger, db, bus, tokens, secrets, redisUrl, sessions, throttle, runner, jobs, services };
    runner.define(maintenanceJobs(ctx));
    for (const m of modules) runner.define(m.setup?.(ctx) ?? []);
    const definitions = runner.definitions;
    // Secrets stored in the clear (before encryption) or under a retired key are rewritten now.
    const resealed = await secrets.resealAll();
    if (Object.values(resealed).some(Boolean)) logger.info({ resealed }, 'stored secrets re-encrypted under the current key');
    // Every process that runs workers closes the records of jobs whose worker died on the last attempt.
    const reconciler = new JobReconciler({ config, db, bus, logger, definitions });
    let started = false;
    let reconciling = false;
    return {
      ctx,
      modules,
      reconciler,
      async start(opts) {
        await ctx.runner.start(opts);
        started = true;
        if (opts.work) {
          await reconciler.start();
          reconciling = true;
        }
        for (const m of modules) await m.start?.(ctx, opts);
      },
      async close(opts = {}) {
        for (const m of [...modules].reverse())
          await m.stop?.(ctx).catch((err: Error) => logger.warn({ err: err.message, module: m.name }, 'module stop failed'));
        if (reconciling) await reconciler.stop();
        if (started) await ctx.runner.stop(opts.deadline === undefined ? undefined : Math.max(1000, opts.deadline - Date.now()));
        await bus.close();
        await db.close();
      },
    };
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
}
