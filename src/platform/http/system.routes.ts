import { z } from 'zod';
import type { App, AppContext } from '../context.ts';
import { registry } from '../metrics.ts';
import { errorResponses, noAuth } from './contract.ts';
import { healthReply, readyReply } from './system.contract.ts';

export function systemRoutes(app: App, ctx: AppContext) {
  app.get('/health', {
    schema: {
      operationId: 'getHealth', tags: ['system'], security: noAuth, summary: 'Liveness: the process answers',
      response: { 200: healthReply, ...errorResponses() },
    },
  }, async () => ({ status: 'ok' as const, uptime_s: Math.round(process.uptime()) }));

  app.get('/ready', {
    schema: {
      operationId: 'getReadiness', tags: ['system'], security: noAuth, summary: 'Readiness: database and event bus reachable',
      response: { 200: readyReply.describe('Ready'), 503: readyReply.describe('The database cannot be reached'), ...errorResponses() },
    },
  }, async (_req, reply) => {
    let database: string;
    try {
      await ctx.db.query('SELECT 1');
      database = 'ok';
    } catch (err) {
      database = (err as Error).message;
    }
    const checks = { database, event_bus: ctx.bus.kind, mode: ctx.db.kind === 'pglite' ? 'embedded' as const : 'scaled-out' as const };
    const ok = database === 'ok';
    return reply.status(ok ? 200 : 503).send({ status: ok ? 'ready' : 'unavailable', checks });
  });

  app.get('/metrics', {
    schema: {
      operationId: 'getMetrics', tags: ['system'], security: noAuth, summary: 'Prometheus metrics (text exposition format)',
      response: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: z.string() } } }, ...errorResponses() },
    },
  }, async (_req, reply) => {
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
}
