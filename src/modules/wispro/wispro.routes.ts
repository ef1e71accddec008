import type { App, RuntimeContext } from '../../platform/context.ts';
import { requireRole } from '../../platform/auth/guards.ts';
import { AppError } from '../../platform/http/errors.ts';
import { scheduleTimeZone } from '../../platform/config.ts';
import { jobReply } from '../../platform/jobs/jobs.service.ts';
import { bearerAuth, errorResponses, GUARDED } from '../../platform/http/contract.ts';
import { WISPRO_SYNC } from './wispro.jobs.ts';
import { wisproSyncStarted, wisproSyncStatus } from './wispro.contract.ts';

export function wisproRoutes(app: App, ctx: RuntimeContext) {
  app.post(
    '/api/users/sync-wispro-all',
    {
      onRequest: requireRole(ctx.tokens, 'admin', 'operator'),
      schema: {
        operationId: 'startWisproSync',
        tags: ['wispro'],
        security: bearerAuth,
        response: { 200: wisproSyncStarted, ...errorResponses(...GUARDED, 503) },
        summary: 'Start the background sync of every Wispro client into users (seed 000). Follow it on /ws/job/{job_id}.',
        description: 'While a sync is pending or running, another request starts nothing and answers with the running job (already_running: true).',
      },
    },
    async (req) => {
      if (!ctx.config.WISPRO_API_TOKEN) {
        throw new AppError('wispro.not_configured', 'La sincronización con Wispro no está configurada: falta WISPRO_API_TOKEN / Wispro is not configured');
      }
      const { job, created } = await ctx.jobs.start(WISPRO_SYNC, {}, { createdBy: req.principal!.sub });
      return {
        success: true as const,
        message: created
          ? 'Sincronización iniciada en segundo plano. Revisa los logs para ver el progreso.'
          : 'Ya hay una sincronización en curso; sigue su progreso con el job existente.',
        already_running: !created,
        job_id: job.id,
        job: jobReply(job),
      };
    },
  );

  app.get(
    '/api/users/sync-wispro-status',
    {
      onRequest: requireRole(ctx.tokens, 'admin', 'operator'),
      schema: {
        operationId: 'getWisproSyncStatus',
        tags: ['wispro'],
        security: bearerAuth,
        response: { 200: wisproSyncStatus, ...errorResponses(...GUARDED) },
        summary: 'The nightly sync schedule (WISPRO_SYNC_CRON in TZ) with its next run, and the last sync',
      },
    },
    async () => {
      const {
        items: [last],
      } = await ctx.jobs.list({ type: WISPRO_SYNC, limit: 1, offset: 0 });
      return {
        success: true as const,
        configured: Boolean(ctx.config.WISPRO_API_TOKEN),
        schedule: ctx.jobs.scheduleOf(WISPRO_SYNC, scheduleTimeZone(ctx.config)),
        last_sync: last
          ? {
              job_id: last.id,
              status: last.status,
              trigger: (last.params as { trigger?: string }).trigger ?? 'manual',
              started_at: last.started_at,
              finished_at: last.finished_at,
              error: last.error,
              progress: last.progress,
            }
          : null,
      };
    },
  );
}
