import { z } from 'zod';
import type { App, AppContext } from '../context.ts';
import { registry } from '../metrics.ts';

export function systemRoutes(app: App, ctx: AppContext) {
  app.get('/health', {
    schema: { tags: ['system'], summary: 'Liveness: the process answers', response: { 200: z.object({ status: z.literal('ok'), uptime_s: z.number() }) } },
  }, async () => ({ status: 'ok' as const, uptime_s: Math.round(process.uptime()) }));

  app.get('/ready', {
    schema: { tags: ['system'], summary: 'Readiness: database and event bus reachable' },
  }, async (_req, reply) => {
    const checks: Record<string, string> = {};
    try {
      await ctx.db.query('SELECT 1');
      checks.database = 'ok';
    } catch (err) {
      checks.database = (err as Error).message;
    }
    checks.event_bus = ctx.bus.kind;
    checks.mode = ctx.db.kind === 'pglite' ? 'embedded' : 'scaled-out';
    const ok = checks.database === 'ok';
    return reply.status(ok ? 200 : 503).send({ status: ok ? 'ready' : 'unavailable', checks });
  });

  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
}
