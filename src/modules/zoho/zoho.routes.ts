import { z } from 'zod';
import type { App, AppContext } from '../../platform/context.ts';
import { requireRole } from '../../platform/auth/guards.ts';
import { AppError } from '../../platform/http/errors.ts';
import { pageMeta, paginationQuery } from '../../platform/http/pagination.ts';
import { jobReply } from '../../platform/jobs/jobs.service.ts';
import { ZOHO_CODE_SYNC, ZOHO_PRODUCT_RECONCILE, ZOHO_PRODUCT_SYNC } from './zoho.jobs.ts';

export function zohoRoutes(app: App, ctx: AppContext) {
  const zoho = ctx.services.zoho;
  const staff = requireRole(ctx.tokens, 'admin', 'operator');
  const tags = ['zoho'], security = [{ bearer: [] }];
  const codeMeta = (c: { id: number; created_at: Date; expired_at: Date | null; zoho_code: string }, reveal: boolean) => ({
    id: c.id, created_at: c.created_at, expired_at: c.expired_at, active: c.expired_at === null,
    age_seconds: Math.round((Date.now() - c.created_at.getTime()) / 1000), ...(reveal ? { zoho_code: c.zoho_code } : {}),
  });
  const mayReveal = (req: { principal?: { role: string } }, reveal: boolean) => {
    if (reveal && req.principal?.role !== 'admin') throw new AppError('zoho.reveal_forbidden', 'Solo un administrador puede ver el código / Only admins may see the code');
    return reveal;
  };
  const reveal = z.object({ reveal: z.enum(['true', 'false']).default('false').transform((v) => v === 'true') });

  app.get('/api/zoho/code', {
    onRequest: staff, schema: { tags, security, summary: 'The active access code\'s metadata (the code itself only with ?reveal=true, admins)', querystring: reveal },
  }, async (req) => {
    const active = await zoho.getCurrentActiveCode();
    return { success: true, data: active ? codeMeta(active, mayReveal(req, req.query.reveal)) : null };
  });

  app.get('/api/zoho/code/history', {
    onRequest: staff, schema: { tags, security, summary: 'Every code, newest first', querystring: reveal.extend({ limit: z.coerce.number().int().min(1).max(500).default(50) }) },
  }, async (req) => {
    const show = mayReveal(req, req.query.reveal);
    return { success: true, data: (await zoho.getCodeHistory(req.query.limit)).map((c) => codeMeta(c, show)) };
  });

  app.get('/api/zoho/code/stats', {
    onRequest: staff, schema: { tags, security, summary: 'Counts, the active code\'s age, and the last code and product syncs (with their errors)' },
  }, async () => ({ success: true, stats: await zoho.getStats() }));

  app.post('/api/zoho/code/sync', {
    onRequest: staff, schema: { tags, security, summary: 'Run the code sync now (a job; follow /ws/job/{job_id}); one waiting out a retry backoff runs at once (retried_now)' },
  }, async () => {
    if (!zoho.client.configured) throw zohoNotConfigured();
    const { job, created, retriedNow } = await ctx.jobs.startNow(ZOHO_CODE_SYNC, {});
    return { success: true, already_running: !created, retried_now: retriedNow, job_id: job.id, job: jobReply(job) };
  });

  app.get('/api/products', {
    onRequest: requireRole(ctx.tokens, 'admin', 'operator', 'code'),
    schema: { tags, security, summary: 'Products synced from Zoho Inventory', querystring: paginationQuery.extend({ search: z.string().trim().max(200).optional(), active: z.enum(['true', 'false']).optional() }) },
  }, async (req) => {
    const { page, per_page, search, active } = req.query;
    const { items, total } = await zoho.listProducts({ search: search || undefined, active: active === undefined ? undefined : active === 'true', limit: per_page, offset: (page - 1) * per_page });
    return { success: true, data: items, meta: pageMeta(page, per_page, total) };
  });

  app.post('/api/products/sync', {
    onRequest: staff, schema: { tags, security, summary: 'Sync products now; {"full": true} re-reads every item; one waiting out a retry backoff runs at once (retried_now)', body: z.object({ full: z.boolean().default(false) }).default({ full: false }) },
  }, async (req) => {
    if (!zoho.client.configured) throw zohoNotConfigured();
    const { job, created, retriedNow } = await ctx.jobs.startNow(ZOHO_PRODUCT_SYNC, { full: req.body.full });
    return { success: true, already_running: !created, retried_now: retriedNow, job_id: job.id, job: jobReply(job) };
  });

  app.post('/api/products/reconcile', {
    onRequest: staff, schema: { tags, security, summary: 'Run the nightly full reconciliation now: every item re-read, products deleted in Zoho marked deleted (results report them)' },
  }, async () => {
    if (!zoho.client.configured) throw zohoNotConfigured();
    const { job, created, retriedNow } = await ctx.jobs.startNow(ZOHO_PRODUCT_RECONCILE, {});
    return { success: true, already_running: !created, retried_now: retriedNow, job_id: job.id, job: jobReply(job) };
  });
}

const zohoNotConfigured = () =>
  new AppError('zoho.not_configured', 'Zoho no está configurado (ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET, ZOHO_REFRESH_TOKEN) / Zoho is not configured');
