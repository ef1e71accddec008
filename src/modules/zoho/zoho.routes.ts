import type { App, RuntimeContext } from '../../platform/context.ts';
import { requireRole } from '../../platform/auth/guards.ts';
import { AppError } from '../../platform/http/errors.ts';
import { pageMeta } from '../../platform/http/pagination.ts';
import { bearerAuth, errorResponses, GUARDED, WITH_BODY } from '../../platform/http/contract.ts';
import {
  codeHistoryReply,
  codeReply,
  historyQuery,
  productSyncBody,
  productsQuery,
  productsReply,
  revealQuery,
  statsReply,
  zohoJobStarted,
} from './zoho.contract.ts';
import { jobReply } from '../../platform/jobs/jobs.service.ts';
import { ZOHO_CODE_SYNC, ZOHO_PRODUCT_RECONCILE, ZOHO_PRODUCT_SYNC } from './zoho.jobs.ts';

export function zohoRoutes(app: App, ctx: RuntimeContext) {
  const zoho = ctx.services.zoho;
  const staff = requireRole(ctx.tokens, 'admin', 'operator');
  const tags = ['zoho'],
    security = bearerAuth;
  const codeMeta = (c: { id: number; created_at: Date; expired_at: Date | null; zoho_code: string }, reveal: boolean) => ({
    id: c.id,
    created_at: c.created_at,
    expired_at: c.expired_at,
    active: c.expired_at === null,
    age_seconds: Math.round((Date.now() - c.created_at.getTime()) / 1000),
    ...(reveal ? { zoho_code: c.zoho_code } : {}),
  });
  const mayReveal = (req: { principal?: { role: string } }, reveal: boolean) => {
    if (reveal && req.principal?.role !== 'admin')
      throw new AppError('zoho.reveal_forbidden', 'Solo un administrador puede ver el código / Only admins may see the code');
    return reveal;
  };

  app.get(
    '/api/zoho/code',
    {
      onRequest: staff,
      schema: {
        operationId: 'getZohoCode',
        tags,
        security,
        summary: "The active access code's metadata (the code itself only with ?reveal=true, admins)",
        querystring: revealQuery,
        response: { 200: codeReply, ...errorResponses(400, ...GUARDED) },
      },
    },
    async (req) => {
      const active = await zoho.getCurrentActiveCode();
      return { success: true as const, data: active ? codeMeta(active, mayReveal(req, req.query.reveal)) : null };
    },
  );

  app.get(
    '/api/zoho/code/history',
    {
      onRequest: staff,
      schema: {
        operationId: 'listZohoCodes',
        tags,
        security,
        summary: 'Every code, newest first',
        querystring: historyQuery,
        response: { 200: codeHistoryReply, ...errorResponses(400, ...GUARDED) },
      },
    },
    async (req) => {
      const show = mayReveal(req, req.query.reveal);
      return { success: true as const, data: (await zoho.getCodeHistory(req.query.limit)).map((c) => codeMeta(c, show)) };
    },
  );

  app.get(
    '/api/zoho/code/stats',
    {
      onRequest: staff,
      schema: {
        operationId: 'getZohoStats',
        tags,
        security,
        summary: "Counts, the active code's age, and the last code and product syncs (with their errors)",
        response: { 200: statsReply, ...errorResponses(...GUARDED) },
      },
    },
    async () => ({ success: true as const, stats: await zoho.getStats() }),
  );

  app.post(
    '/api/zoho/code/sync',
    {
      onRequest: staff,
      schema: {
        operationId: 'syncZohoCode',
        tags,
        security,
        summary: 'Run the code sync now (a job; follow /ws/job/{job_id}); one waiting out a retry backoff runs at once (retried_now)',
        response: { 200: zohoJobStarted, ...errorResponses(...GUARDED, 503) },
      },
    },
    async () => {
      if (!zoho.client.configured) throw zohoNotConfigured();
      const { job, created, retriedNow } = await ctx.jobs.startNow(ZOHO_CODE_SYNC, {});
      return { success: true as const, already_running: !created, retried_now: retriedNow, job_id: job.id, job: jobReply(job) };
    },
  );

  app.get(
    '/api/products',
    {
      onRequest: requireRole(ctx.tokens, 'admin', 'operator', 'code'),
      schema: {
        operationId: 'listProducts',
        tags,
        security,
        summary: 'Products synced from Zoho Inventory',
        querystring: productsQuery,
        response: { 200: productsReply, ...errorResponses(400, ...GUARDED) },
      },
    },
    async (req) => {
      const { page, per_page, search, active } = req.query;
      const { items, total } = await zoho.listProducts({
        search: search || undefined,
        active: active === undefined ? undefined : active === 'true',
        limit: per_page,
        offset: (page - 1) * per_page,
      });
      return { success: true as const, data: items, meta: pageMeta(page, per_page, total) };
    },
  );

  app.post(
    '/api/products/sync',
    {
      onRequest: staff,
      schema: {
        operationId: 'syncProducts',
        tags,
        security,
        summary: 'Sync products now; {"full": true} re-reads every item; one waiting out a retry backoff runs at once (retried_now). The body is optional.',
        body: productSyncBody,
        response: { 200: zohoJobStarted, ...errorResponses(...WITH_BODY, ...GUARDED, 503) },
      },
    },
    async (req) => {
      if (!zoho.client.configured) throw zohoNotConfigured();
      const { job, created, retriedNow } = await ctx.jobs.startNow(ZOHO_PRODUCT_SYNC, { full: req.body?.full ?? false });
      return { success: true as const, already_running: !created, retried_now: retriedNow, job_id: job.id, job: jobReply(job) };
    },
  );

  app.post(
    '/api/products/reconcile',
    {
      onRequest: staff,
      schema: {
        operationId: 'reconcileProducts',
        tags,
        security,
        summary: 'Run the nightly full reconciliation now: every item re-read, products deleted in Zoho marked deleted (results report them)',
        response: { 200: zohoJobStarted, ...errorResponses(...GUARDED, 503) },
      },
    },
    async () => {
      if (!zoho.client.configured) throw zohoNotConfigured();
      const { job, created, retriedNow } = await ctx.jobs.startNow(ZOHO_PRODUCT_RECONCILE, {});
      return { success: true as const, already_running: !created, retried_now: retriedNow, job_id: job.id, job: jobReply(job) };
    },
  );
}

const zohoNotConfigured = () =>
  new AppError('zoho.not_configured', 'Zoho no está configurado (ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET, ZOHO_REFRESH_TOKEN) / Zoho is not configured');
