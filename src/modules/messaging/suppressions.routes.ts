import { createInterface } from 'node:readline';
import { z } from 'zod';
import type { App, RuntimeContext } from '../../platform/context.ts';
import { requireRole } from '../../platform/auth/guards.ts';
import { bearerAuth, statusErrorResponses } from '../../platform/http/contract.ts';
import { AppError } from '../../platform/http/errors.ts';
import { pageMeta, paginationQuery } from '../../platform/http/pagination.ts';
import type { SuppressionRow } from './suppressions.repository.ts';
import { streamedForm } from './bulk-file.upload.ts';
import {
  suppressionBody,
  suppressionImportForm,
  suppressionImportReply,
  suppressionList,
  suppressionRemoved,
  suppressionReply,
  type Suppression,
} from './messaging.contract.ts';

const reply = (s: SuppressionRow): Suppression => ({
  phone: s.phone,
  source: s.source,
  reason: s.reason,
  device_id: s.device_id,
  created_at: new Date(s.created_at).toISOString(),
});

/** The suppression list (admins only): numbers that bulk sends skip. */
export function suppressionRoutes(app: App, ctx: RuntimeContext) {
  const admin = requireRole(ctx.tokens, 'admin');
  const config = { replyShape: 'status' as const };
  const service = ctx.services.suppressions;
  const tags = ['suppressions'],
    security = bearerAuth;

  app.get(
    '/suppressions',
    {
      onRequest: admin,
      config,
      schema: {
        tags,
        security,
        operationId: 'listSuppressions',
        querystring: paginationQuery,
        summary: 'Suppressed numbers, newest first',
        response: { 200: suppressionList, ...statusErrorResponses(400, 401, 403) },
      },
    },
    async (req) => {
      const { page, per_page } = req.query;
      const { items, total } = await service.list(per_page, (page - 1) * per_page);
      return { status: 'success' as const, suppressions: items.map(reply), meta: pageMeta(page, per_page, total) };
    },
  );

  app.post(
    '/suppressions',
    {
      onRequest: admin,
      config,
      schema: {
        tags,
        security,
        operationId: 'addSuppression',
        body: suppressionBody,
        summary: 'Suppress a number',
        response: { 201: suppressionReply, ...statusErrorResponses(400, 401, 403, 413, 415) },
      },
    },
    async (req, res) =>
      res.status(201).send({ status: 'success' as const, suppression: reply(await service.add(req.body.phone, 'manual', req.body.reason ?? null)) }),
  );

  app.delete(
    '/suppressions/:phone',
    {
      onRequest: admin,
      config,
      schema: {
        tags,
        security,
        operationId: 'removeSuppression',
        params: z.object({ phone: z.string().min(1).max(64) }),
        summary: 'Allow a number again',
        response: { 200: suppressionRemoved, ...statusErrorResponses(400, 401, 403, 404) },
      },
    },
    async (req) => ({
      status: 'success' as const,
      phone: await service.remove(req.params.phone),
      message: 'Número habilitado de nuevo / Number allowed again',
    }),
  );

  app.post(
    '/suppressions/import',
    {
      onRequest: admin,
      config,
      ...streamedForm,
      schema: {
        tags,
        security,
        operationId: 'importSuppressions',
        consumes: ['multipart/form-data'],
        summary: 'Import numbers to suppress from a CSV (field file; first column is the number)',
        body: suppressionImportForm,
        response: { 200: suppressionImportReply, ...statusErrorResponses(400, 401, 403, 413, 415) },
      },
    },
    async (req) => {
      if (!req.isMultipart()) throw new AppError('messaging.not_multipart', 'Formato inválido: envíe multipart/form-data con file / Send multipart/form-data');
      const file = await req.file();
      if (!file) throw new AppError('messaging.file_required', 'Falta el archivo (campo file) / The file field is required');
      const result = await service.import(createInterface({ input: file.file, crlfDelay: Infinity }), `import:${String(file.filename ?? '').slice(0, 100)}`);
      return { status: 'success' as const, ...result };
    },
  );
}
