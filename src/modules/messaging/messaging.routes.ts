import { Readable } from 'node:stream';
import { z } from 'zod';
import type { App, RuntimeContext } from '../../platform/context.ts';
import { requireRole } from '../../platform/auth/guards.ts';
import { bearerAuth, GUARDED, statusErrorResponses } from '../../platform/http/contract.ts';
import { AppError } from '../../platform/http/errors.ts';
import { jobReply } from '../../platform/jobs/jobs.service.ts';
import type { ItemRow } from './recipients.repository.ts';
import { CSV_KEYS, CSV_WORDS, csvCell, readableError } from './recipients.csv.ts';
import type { ParsedRow, ParseStats } from './bulk-file.parser.ts';
import { readUpload, streamedForm } from './bulk-file.upload.ts';
import { duplicateOf } from './messaging.service.ts';
import { bulkPreviewForm, bulkPreviewReply, bulkSendForm, bulkSendReply } from './messaging.contract.ts';
import { compileTemplate, MAX_RENDERED, renderedLength, renderTemplate, splitValues, variablesUsed } from './template.renderer.ts';

const MAX_MESSAGE = 4096;

/**
 * What would make the send go wrong although the file was read: another separator than `|`
 * (`messaging.wrong_separator`, with `separator`), or an `@valorN` the file has no column for
 * (`messaging.missing_column`, with `placeholder` and `columns`), which would be sent as `---`.
 */
function previewWarnings(stats: ParseStats, message: string) {
  const warnings: { code: string; message: string; [k: string]: unknown }[] = [];
  if (stats.suspectedSeparator) {
    const sep = stats.suspectedSeparator;
    warnings.push({
      code: 'messaging.wrong_separator',
      separator: sep,
      message: `El archivo parece separado por «${sep}»: Puente espera «|» entre el teléfono y cada valor (p. ej. 04141234567|Ana|1001). Cambie el separador y vuelva a elegir el archivo / The file looks ${sep}-separated; use | between the phone and each value`,
    });
  }
  const used = variablesUsed(message);
  for (let n = stats.maxValues + 1; n <= used; n++) {
    if (!new RegExp(`@valor${n}(?!\\d)`).test(message)) continue;
    warnings.push({
      code: 'messaging.missing_column',
      placeholder: `@valor${n}`,
      columns: stats.maxValues,
      message: `El mensaje usa @valor${n} pero el archivo solo tiene ${stats.maxValues} columna(s) después del teléfono: se enviaría «---» / @valor${n} has no column in the file`,
    });
  }
  return warnings;
}

/**
 * Which rows' messages would exceed WhatsApp's 4,096 characters. The message usually comes before
 * the file (the dashboard sends it so) and rows are measured as they stream; when it comes after,
 * rows' values are kept up to a memory budget and measured at the end (the rest are `unchecked`).
 */
class TooLongRows {
  static readonly LISTED = 20;
  static readonly BUDGET = 32 * 1024 * 1024;
  #template: ReturnType<typeof compileTemplate> | null = null;
  #kept: { line: number; vals: string }[] = [];
  #keptSize = 0;
  #unchecked = 0;
  count = 0;
  rows: { line: number; length: number }[] = [];

  setMessage(message: string) {
    if (this.#template) return;
    this.#template = compileTemplate(message);
    for (const r of this.#kept.splice(0)) this.#measure(r.line, r.vals);
  }

  row(r: ParsedRow) {
    if (this.#template) return this.#measure(r.line, r.vals);
    if (this.#keptSize + r.vals.length + 64 > TooLongRows.BUDGET) return void this.#unchecked++;
    this.#keptSize += r.vals.length + 64;
    this.#kept.push({ line: r.line, vals: r.vals });
  }

  #measure(line: number, vals: string) {
    const length = renderedLength(this.#template!, splitValues(vals));
    if (length <= MAX_RENDERED) return;
    this.count++;
    if (this.rows.length < TooLongRows.LISTED) this.rows.push({ line, length });
  }

  reply() {
    return { max_length: MAX_RENDERED, count: this.count, rows: this.rows, unchecked: this.#unchecked };
  }
}

export function messagingRoutes(app: App, ctx: RuntimeContext) {
  const staff = requireRole(ctx.tokens, 'admin', 'operator');
  const config = { replyShape: 'status' as const };
  const bulk = ctx.services.bulkSend;
  const limits = {
    defaultCountry: ctx.config.DEFAULT_COUNTRY,
    maxBytes: ctx.config.MESSAGING_MAX_FILE_BYTES,
    maxRecipients: ctx.config.MESSAGING_MAX_RECIPIENTS,
    maxLineBytes: ctx.config.MESSAGING_MAX_LINE_BYTES,
  };

  function readFields(fields: Record<string, string>) {
    const message = fields.message ?? '';
    if (!message.trim()) throw new AppError('messaging.message_required', 'El campo message es obligatorio / message is required');
    if (message.length > MAX_MESSAGE)
      throw new AppError('messaging.message_too_long', `El mensaje supera ${MAX_MESSAGE} caracteres / message too long`, { max_length: MAX_MESSAGE });
    const limitText = fields.devices_limit?.trim() || '5';
    const devicesLimit = Number(limitText);
    if (!Number.isInteger(devicesLimit) || devicesLimit < 1 || devicesLimit > 100)
      throw new AppError('messaging.invalid_devices_limit', 'devices_limit debe ser un entero entre 1 y 100 / devices_limit must be an integer 1–100', {
        min: 1,
        max: 100,
      });
    const template = fields.template?.trim()
      ? {
          name: fields.template.trim(),
          language: fields.template_language?.trim() || 'es',
          params: fields.template_params?.trim() ? fields.template_params.split('|').map((p) => p.trim()) : [],
        }
      : null;
    const confirmDuplicate = ['true', '1', 'yes', 'on'].includes(fields.confirm_duplicate?.trim().toLowerCase() ?? '');
    return { message, devicesLimit, template, confirmDuplicate };
  }

  // The seed names the endpoint /messages/send-bulk-file and, in its frontend steps, /send-bulk-file: both work.
  for (const url of ['/messages/send-bulk-file', '/send-bulk-file'])
    app.post(
      url,
      {
        onRequest: staff,
        config,
        ...streamedForm,
        schema: {
          tags: ['messaging'],
          security: bearerAuth,
          consumes: ['multipart/form-data'],
          hide: url === '/send-bulk-file',
          operationId: 'sendBulkFile',
          body: bulkSendForm,
          response: { 200: bulkSendReply, ...statusErrorResponses(400, 401, 403, 409, 413, 415) },
          summary:
            'Bulk WhatsApp from a |-separated file (multipart: file, message, devices_limit; optional template, template_language, template_params, confirm_duplicate). Answers as soon as the file is read; follow /ws/job/{job.id}. The same file with the same message within MESSAGING_DUPLICATE_WINDOW_MINUTES is refused with 409 (code messaging.duplicate_send, job_id of the earlier send) unless confirm_duplicate=true. Also at /send-bulk-file.',
        },
      },
      async (req) => {
        const { job, total, fileName } = await bulk.create(async (stage) => {
          const upload = await readUpload(req, limits, stage);
          return { ...upload, ...readFields(upload.fields), createdBy: req.principal?.sub ?? null };
        });
        return {
          status: 'success' as const,
          message: `Job creado y en proceso. Procesando ${total} mensajes desde archivo '${fileName}'.`,
          job: jobReply(job),
        };
      },
    );

  app.post(
    '/messages/preview',
    {
      onRequest: staff,
      config,
      ...streamedForm,
      schema: {
        tags: ['messaging'],
        security: bearerAuth,
        consumes: ['multipart/form-data'],
        operationId: 'previewBulkFile',
        body: bulkPreviewForm,
        response: { 200: bulkPreviewReply, ...statusErrorResponses(400, 401, 403, 413, 415) },
        summary: 'What a bulk send would do with this file and message (counts and the first rendered messages); nothing is stored or sent',
      },
    },
    async (req) => {
      const samples: ParsedRow[] = [];
      const invalid: ParsedRow[] = [];
      const tooLong = new TooLongRows();
      const suppressedSamples: string[] = [];
      let suppressed = 0;
      const upload = await readUpload(
        req,
        limits,
        async (rows) => {
          const off = await ctx.services.suppressions.among(rows.flatMap((r) => (r.phone ? [r.phone] : [])));
          suppressed += off.size;
          for (const r of rows) {
            if (r.phone && off.has(r.phone)) {
              if (suppressedSamples.length < 5) suppressedSamples.push(r.phone);
              continue;
            }
            if (r.phone && samples.length < 5) samples.push(r);
            if (!r.phone && invalid.length < 5) invalid.push(r);
            if (r.phone) tooLong.row(r);
          }
        },
        (name, value) => name === 'message' && tooLong.setMessage(value),
      );
      const message = upload.fields.message ?? '';
      tooLong.setMessage(message);
      const stats = upload.stats;
      const earlier = message ? await bulk.findDuplicate(stats.sha256, message) : null;
      return {
        status: 'success' as const,
        file_name: upload.fileName,
        total_numbers: stats.recipients,
        valid: stats.valid,
        invalid_numbers: stats.invalid,
        duplicates: stats.duplicates,
        header_skipped: stats.headerSkipped,
        suppressed,
        suppressed_samples: suppressedSamples,
        samples: samples.map((s) => {
          const values = splitValues(s.vals);
          const length = renderedLength(compileTemplate(message), values);
          // Samples are rows with a valid number (see above).
          return length > MAX_RENDERED ? { phone: s.phone!, text: null, length, too_long: true } : { phone: s.phone!, text: renderTemplate(message, values) };
        }),
        invalid_samples: invalid.map((s) => ({ raw_phone: s.raw_phone, error: s.error })),
        too_long: tooLong.reply(),
        columns: stats.maxValues,
        warnings: previewWarnings(stats, message),
        duplicate_of: earlier ? duplicateOf(earlier) : null,
      };
    },
  );

  app.get(
    '/jobs/:job_id/results.csv',
    {
      onRequest: staff,
      config,
      schema: {
        operationId: 'downloadJobResults',
        tags: ['jobs'],
        security: bearerAuth,
        params: z.object({ job_id: z.string().max(64) }),
        querystring: z.object({ lang: z.enum(['es', 'en']).optional() }),
        response: {
          200: { description: 'CSV (UTF-8 with BOM), one row per recipient', content: { 'text/csv': { schema: z.string() } } },
          ...statusErrorResponses(400, ...GUARDED, 404),
        },
        summary:
          "Each recipient's outcome of a bulk send, as CSV: the file's values, the device by name and the reason in words. With lang=es|en the headers and outcomes are in that language; without it the column names are the stable English keys.",
      },
    },
    async (req, reply) => {
      const pages = bulk.results(req.params.job_id);
      const first = await pages.next(); // an unknown job is a 404 before anything is streamed
      const words = req.query.lang ? CSV_WORDS[req.query.lang] : null;
      const csv = csvCell;
      const status = (s: string) => (s === 'queued' ? 'not_sent' : s);
      // Receipt columns come last, so readers of the earlier ones keep working.
      const format = (page: ItemRow[]) =>
        page
          .map((r) =>
            [
              r.seq,
              r.phone,
              r.raw_phone,
              words ? (words.status[status(r.status)] ?? status(r.status)) : status(r.status),
              r.device_id,
              r.provider_message_id,
              readableError(r.error),
              r.attempts,
              r.updated_at,
              r.device_name,
              splitValues(r.vals).join(' | '),
              r.reason_code ? ((words ?? CSV_WORDS.es).reason[r.reason_code] ?? r.reason_code) : '',
              r.failed_after_send ? 'true' : 'false',
              r.delivered_at,
              r.read_at,
            ]
              .map(csv)
              .join(','),
          )
          .join('\n') + '\n';
      async function* lines() {
        yield '\uFEFF' + (words ? words.header : CSV_KEYS).join(',') + '\n';
        if (first.done) return;
        yield format(first.value);
        for await (const page of pages) yield format(page);
      }
      reply.header('content-type', 'text/csv; charset=utf-8');
      reply.header('content-disposition', `attachment; filename="job-${req.params.job_id}-results.csv"`);
      // Streamed a page at a time; the contract describes the text it adds up to.
      return reply.send(Readable.from(lines()) as unknown as string);
    },
  );
}
