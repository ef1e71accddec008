import type { MultipartFile } from '@fastify/multipart';
import type { FastifyRequest, FastifySchema, FastifySchemaCompiler } from 'fastify';
import { validatorCompiler } from 'fastify-type-provider-zod';
import { AppError } from '../../platform/http/errors.ts';
import { hasNul, nulByte, sqlState } from '../../platform/http/hostile-input.ts';
import { parseBulkFile, type ParsedRow, type ParseStats } from './bulk-file.parser.ts';

const NOT_MULTIPART = 'Formato inválido: envíe multipart/form-data con file, message y devices_limit / Send multipart/form-data';
const ONE_FILE = 'Envíe un solo archivo (campo file) / Send one file';

/**
 * Route option for a multipart route whose form is read as a stream (readUpload, `req.file()`): its
 * `body` schema documents the form in OpenAPI, and is not run against the (absent) parsed body; the
 * query and path are validated as usual.
 */
export const streamedForm: { validatorCompiler: FastifySchemaCompiler<FastifySchema> } = {
  validatorCompiler: (route) => (route.httpPart === 'body' ? (data: unknown) => ({ value: data }) : validatorCompiler(route as never)),
};

export interface Upload {
  stats: ParseStats;
  fileName: string;
  fields: Record<string, string>;
}

export interface UploadLimits {
  defaultCountry: string;
  maxBytes: number;
  maxRecipients: number;
  maxLineBytes: number;
}

const tooLarge = (max: number) =>
  new AppError('messaging.file_too_large', `El archivo supera el tamaño máximo de ${Math.round(max / 1024 / 1024)} MB / File too large`, {
    max_mb: Math.round(max / 1024 / 1024),
  });

/** Multipart errors from @fastify/multipart, in the seed's words. */
function uploadError(err: unknown, maxBytes: number, fromStorage: boolean): unknown {
  const code = (err as { code?: string }).code;
  if (code === 'FST_REQ_FILE_TOO_LARGE') return tooLarge(maxBytes);
  if (code === 'FST_FILES_LIMIT') return new AppError('messaging.one_file', ONE_FILE);
  if (code === 'FST_INVALID_MULTIPART_CONTENT_TYPE') return new AppError('messaging.not_multipart', NOT_MULTIPART);
  if (code === 'FST_PARTS_LIMIT' || code === 'FST_FIELDS_LIMIT')
    return new AppError('messaging.too_many_fields', 'Demasiados campos en el formulario / Too many form fields');
  // Anything else the form reader throws (a cut body, a bad boundary, broken part headers) is the
  // client's malformed form; failures while storing rows are not.
  if (err instanceof AppError || fromStorage || sqlState(err)) return err;
  return new AppError(
    'messaging.malformed_multipart',
    `Formulario multipart mal formado / Malformed multipart form: ${String((err as Error).message ?? err).slice(0, 200)}`,
  );
}

/** Reads what is left of a file part, so that the error reply reaches a client still uploading. */
async function drain(file: MultipartFile | null) {
  if (!file || file.file.readableEnded) return;
  try {
    for await (const _ of file.file);
  } catch {
    // the size limit or a broken connection: nothing more to read
  }
}

/** Streams the multipart body: the file is parsed as it arrives, fields are collected. */
export async function readUpload(
  req: FastifyRequest,
  limits: UploadLimits,
  onBatch: (rows: ParsedRow[]) => Promise<void>,
  onField?: (name: string, value: string) => void,
): Promise<Upload> {
  if (!req.isMultipart()) throw new AppError('messaging.not_multipart', NOT_MULTIPART);
  const fields: Record<string, string> = {};
  let stats: ParseStats | null = null;
  let fileName = '';
  let current: MultipartFile | null = null;
  let storageFailure: unknown = null;
  const store = async (rows: ParsedRow[]) => {
    try {
      await onBatch(rows);
    } catch (err) {
      storageFailure = err;
      throw err;
    }
  };
  try {
    for await (const part of req.parts()) {
      if (part.type !== 'file') {
        fields[part.fieldname] = String(part.value ?? '');
        if (hasNul(part.fieldname) || hasNul(fields[part.fieldname])) throw nulByte({ field: part.fieldname.replaceAll('\0', '') });
        onField?.(part.fieldname, fields[part.fieldname]!);
        continue;
      }
      current = part as MultipartFile;
      if (part.fieldname !== 'file' || stats) {
        await drain(current);
        throw stats
          ? new AppError('messaging.one_file', ONE_FILE)
          : new AppError(
              'messaging.unexpected_field',
              `Campo de archivo inesperado «${part.fieldname}»: use «file» / Unexpected file field «${part.fieldname}»: use «file»`,
              { field: part.fieldname },
            );
      }
      fileName = String(part.filename ?? '').slice(0, 255);
      if (!/\.(csv|txt)$/i.test(fileName)) {
        await drain(current);
        throw new AppError('messaging.bad_file_type', `Formato inválido: «${fileName || 'sin nombre'}» debe ser .csv o .txt / The file must be .csv or .txt`, {
          file_name: fileName,
        });
      }
      stats = await parseBulkFile(part.file, {
        defaultCountry: limits.defaultCountry,
        maxRecipients: limits.maxRecipients,
        maxLineBytes: limits.maxLineBytes,
        onBatch: store,
      });
      if (part.file.truncated) throw tooLarge(limits.maxBytes);
      current = null;
    }
  } catch (err) {
    await drain(current);
    throw uploadError(err, limits.maxBytes, err === storageFailure);
  }
  if (!stats) throw new AppError('messaging.file_required', 'Falta el archivo (campo file) / The file field is required');
  if (stats.recipients === 0) throw new AppError('messaging.empty_file', 'Archivo vacío: no hay recipients / Empty file: no recipients');
  return { stats, fileName, fields };
}
