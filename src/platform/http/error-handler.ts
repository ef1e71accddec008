import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import type { Logger } from '../logger.ts';
import { AppError, errorBody, type ErrorCode, type ReplyShape } from './errors.ts';
import { loggableError, sqlState } from './hostile-input.ts';
import { isDatabaseUnavailable } from '../db/unavailable.ts';

/** What a client is told to wait before retrying a request the database could not serve. */
const DATABASE_RETRY_AFTER_SECONDS = 5;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The seed's error reply shape for this route (default `success`). */
    replyShape?: ReplyShape;
  }
}

/** The code of an error the framework raised before a route ran (unreadable body, too large, wrong content type). */
function frameworkCode(status: number, code: string | undefined): ErrorCode {
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE' || status === 413) return 'http.body_too_large';
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || status === 415) return 'http.unsupported_media_type';
  if (status === 404) return 'http.not_found';
  if (status === 429) return 'rate_limited';
  return 'http.bad_request';
}

const shapeOf = (request: FastifyRequest): ReplyShape => request.routeOptions.config?.replyShape ?? 'success';

export function errorHandler(logger: Logger) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const shape = shapeOf(request);
    if (error instanceof AppError) {
      if (error.httpStatus >= 500) logger.warn({ reqId: request.id, code: error.code, err: error.message }, 'upstream or service error');
      return reply.status(error.httpStatus).send(errorBody(shape, error.message, error.code, error.details, error.extra));
    }
    if (hasZodFastifySchemaValidationErrors(error)) {
      const issues = error.validation.map((v) => ({
        field: `${error.validationContext ?? 'body'}${v.instancePath ? v.instancePath.replaceAll('/', '.') : ''}`,
        message: v.message ?? 'inválido',
      }));
      const summary = issues.map((i) => `${i.field}: ${i.message}`).join('; ');
      return reply.status(400).send(errorBody(shape, `Datos inválidos / Invalid input — ${summary}`, 'validation_error', issues));
    }
    const state = sqlState(error);
    // Class 22 is a value the database cannot take (a NUL, a bad escape, out of range): the caller's input.
    if (state?.startsWith('22')) {
      logger.info({ reqId: request.id, err: loggableError(error) }, 'input refused by the database');
      return reply
        .status(400)
        .send(errorBody(shape, 'Datos inválidos: un valor no puede guardarse / Invalid input: a value cannot be stored', 'invalid_value'));
    }
    const status = state ? 500 : (error.statusCode ?? 500);
    if (status < 500) {
      return reply.status(status).send(errorBody(shape, error.message, frameworkCode(status, error.code)));
    }
    if (isDatabaseUnavailable(error)) {
      logger.warn({ reqId: request.id, err: loggableError(error) }, 'database unreachable');
      reply.header('retry-after', String(DATABASE_RETRY_AFTER_SECONDS));
      return reply
        .status(503)
        .send(
          errorBody(
            shape,
            'Base de datos no disponible por el momento; intente de nuevo en unos segundos / Database unavailable, retry shortly',
            'database.unavailable',
          ),
        );
    }
    logger.error({ reqId: request.id, err: loggableError(error) }, 'unhandled error');
    return reply.status(500).send(errorBody(shape, `Error interno del servidor / Internal server error (request ${request.id})`, 'internal_error'));
  };
}
