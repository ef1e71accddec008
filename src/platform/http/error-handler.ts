import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import type { Logger } from '../logger.ts';
import { AppError, errorBody, type ReplyShape } from './errors.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The seed's error reply shape for this route (default `success`). */
    replyShape?: ReplyShape;
  }
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
    const status = error.statusCode ?? 500;
    if (status < 500) {
      return reply.status(status).send(errorBody(shape, error.message, error.code ?? 'bad_request'));
    }
    logger.error({ reqId: request.id, err: error }, 'unhandled error');
    return reply.status(500).send(errorBody(shape, `Error interno del servidor / Internal server error (request ${request.id})`, 'internal_error'));
  };
}
