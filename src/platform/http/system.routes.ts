import { z } from 'zod';
import type { App, RuntimeContext } from '../context.ts';
import { registry } from '../metrics.ts';
import { errorResponses, noAuth } from './contract.ts';
import { healthReply, readyReply } from './system.contract.ts';

const CHECK_TIMEOUT_MS = 2000;

/** `ok`, or why the dependency cannot be used now; never waits more than CHECK_TIMEOUT_MS. */
async function check(probe: () => Promise<unknown>): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`no answer in ${CHECK_TIMEOUT_MS} ms`), CHECK_TIMEOUT_MS)));
  try {
    return await Promise.race([
      probe().then(
        () => 'ok',
        (err: Error) => err.message || 'unavailable',
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export function systemRoutes(app: App, ctx: RuntimeContext) {
  app.get(
    '/health',
    {
      schema: {
        operationId: 'getHealth',
        tags: ['system'],
        security: noAuth,
        summary: 'Liveness: the process answers',
        response: { 200: healthReply, ...errorResponses() },
      },
    },
    async () => ({ status: 'ok' as const, uptime_s: Math.round(process.uptime()) }),
  );

  app.get(
    '/ready',
    {
      schema: {
        operationId: 'getReadiness',
        tags: ['system'],
        security: noAuth,
        summary: 'Readiness: each dependency (database, job queue, Redis when configured); 503 when one is down',
        response: { ...errorResponses(), 200: readyReply.describe('Ready'), 503: readyReply.describe('A dependency cannot be reached') },
      },
    },
    async (_req, reply) => {
      const [database, queue] = await Promise.all([check(() => ctx.db.query('SELECT 1')), check(() => ctx.runner.boss.getDb().executeSql('SELECT 1'))]);
      const redis = ctx.redisUrl ? ctx.bus.health() : undefined;
      const ok = database === 'ok' && queue === 'ok' && (redis === undefined || redis === 'ok');
      const checks = {
        database,
        queue,
        ...(redis === undefined ? {} : { redis }),
        event_bus: ctx.bus.kind,
        mode: ctx.db.kind === 'pglite' ? ('embedded' as const) : ('scaled-out' as const),
      };
      if (!ok) reply.header('retry-after', '5');
      return reply.status(ok ? 200 : 503).send({ status: ok ? 'ready' : 'unavailable', checks });
    },
  );

  app.get(
    '/metrics',
    {
      schema: {
        operationId: 'getMetrics',
        tags: ['system'],
        security: noAuth,
        summary: 'Prometheus metrics (text exposition format)',
        response: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: z.string() } } }, ...errorResponses() },
      },
    },
    async (_req, reply) => {
      reply.header('content-type', registry.contentType);
      return registry.metrics();
    },
  );
}
