import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import rateLimit from '@fastify/rate-limit';
import multipart from '@fastify/multipart';
import fastifyStatic from '@fastify/static';
import helmet from '@fastify/helmet';
import { Redis } from 'ioredis';
import type { App, RuntimeContext, PuenteModule } from './platform/context.ts';
import { errorHandler } from './platform/http/error-handler.ts';
import { installResponseCheck } from './platform/http/response-check.ts';
import { openapiOptions } from './platform/http/openapi.ts';
import { fastifyTrustProxy } from './platform/http/client-address.ts';
import { errorBody } from './platform/http/errors.ts';
import { errorResponses, statusErrorResponses } from './platform/http/contract.ts';
import { tooManyAttempts } from './platform/auth/throttle.ts';
import { httpDuration } from './platform/metrics.ts';
import { systemRoutes } from './platform/http/system.routes.ts';
import { jobsRoutes } from './platform/jobs/jobs.routes.ts';
import { asyncApiRoutes } from './platform/realtime/asyncapi.routes.ts';
import { dashboardCsp, docsCsp, rejectNulBytes } from './platform/http/hostile-input.ts';
import { nonBlockingRedisOptions } from './platform/events/bus.ts';
import { redisOrLocalStore } from './platform/http/rate-limit-store.ts';

const webDist = join(dirname(fileURLToPath(import.meta.url)), '..', 'web', 'dist');

/** Builds the HTTP app: shared plugins, the platform's routes, then each module's routes. */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export async function buildApp(ctx: RuntimeContext, modules: PuenteModule[]): Promise<App> {
  const app = Fastify({
    loggerInstance: ctx.logger,
    genReqId: (req) =>
      typeof req.headers['x-request-id'] === 'string' && req.headers['x-request-id'].length <= 128 ? req.headers['x-request-id'] : randomUUID(),
    // Off unless TRUST_PROXY names the proxies: otherwise X-Forwarded-For would let a client pick its address.
    trustProxy: fastifyTrustProxy(ctx.config.TRUST_PROXY),
    bodyLimit: 2 * 1024 * 1024,
    // A client that trickles its headers, its body or nothing at all does not hold a connection forever.
    requestTimeout: ctx.config.HTTP_REQUEST_TIMEOUT_MS,
    connectionTimeout: ctx.config.HTTP_CONNECTION_TIMEOUT_MS,
    keepAliveTimeout: ctx.config.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    http: {
      headersTimeout: Math.min(ctx.config.HTTP_HEADERS_TIMEOUT_MS, ctx.config.HTTP_REQUEST_TIMEOUT_MS),
      connectionsCheckingInterval: Math.max(
        100,
        Math.min(30_000, Math.floor(Math.min(ctx.config.HTTP_HEADERS_TIMEOUT_MS, ctx.config.HTTP_REQUEST_TIMEOUT_MS) / 4)),
      ),
    },
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  installResponseCheck(app, { mode: ctx.config.CONTRACT_CHECK, logger: ctx.logger });
  app.setErrorHandler(errorHandler(ctx.logger));
  app.setNotFoundHandler((request, reply) => {
    reply
      .status(404)
      .send(
        errorBody(
          request.url.startsWith('/messages') ? 'status' : 'success',
          `Ruta no encontrada / Route not found: ${request.method} ${request.url.split('?')[0]}`,
          'http.not_found',
          undefined,
          { method: request.method, path: request.url.split('?')[0] },
        ),
      );
  });
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('preValidation', rejectNulBytes);
  // Any request that may carry a body can be refused before its route runs: too large (413), or of a
  // media type no parser reads (415). Every such route declares both, in its own error shape.
  app.addHook('onRoute', (route) => {
    const response = route.schema?.response as Record<string, unknown> | undefined;
    if (!response || ![route.method].flat().some((m) => BODY_METHODS.has(m))) return;
    const refusals = route.config?.replyShape === 'status' ? statusErrorResponses(413, 415) : errorResponses(413, 415);
    for (const status of [413, 415] as const) response[status] ??= refusals[status];
  });
  // An empty body sent as JSON is no body: routes whose body is optional take it (fastify's own parser refuses it).
  const jsonParser = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) =>
    body === '' ? done(null, undefined) : jsonParser(request, body as string, done),
  );
  await app.register(helmet, {
    contentSecurityPolicy: { useDefaults: false, directives: dashboardCsp },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    // Puente is often served over plain HTTP on a LAN: HSTS and upgrades would lock such sites out.
    strictTransportSecurity: false,
  });
  app.addHook('onResponse', async (request, reply) => {
    httpDuration.observe({ method: request.method, route: request.routeOptions.url ?? 'unknown', status: reply.statusCode }, reply.elapsedTime / 1000);
  });

  await app.register(swagger, openapiOptions('0.1.0'));
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: docsCsp });
  const limiterRedis = ctx.redisUrl ? new Redis(ctx.redisUrl, nonBlockingRedisOptions({ commandTimeout: 500 })) : null;
  limiterRedis?.on('error', () => {}); // reported by the store when it falls back to counting per process
  if (limiterRedis)
    app.addHook(
      'onClose',
      async () => void (limiterRedis.status === 'ready' ? await limiterRedis.quit().catch(() => limiterRedis.disconnect()) : limiterRedis.disconnect()),
    );
  await app.register(rateLimit, {
    global: false,
    ...(limiterRedis ? { store: redisOrLocalStore(limiterRedis, `${ctx.config.REDIS_PREFIX}:rl:`, ctx.logger) } : {}),
    errorResponseBuilder: (_req, context) => tooManyAttempts(Math.ceil(context.ttl / 1000)),
  });
  await app.register(multipart, {
    limits: { fileSize: ctx.config.MESSAGING_MAX_FILE_BYTES, files: 1, fields: 10, fieldSize: 64 * 1024 },
  });

  await app.register(async (scope: App) => systemRoutes(scope, ctx));
  await app.register(async (scope: App) => jobsRoutes(scope, ctx));
  await app.register(async (scope: App) => asyncApiRoutes(scope, modules));
  for (const m of modules) {
    if (m.routes) await app.register(async (scope: App) => m.routes!(scope, ctx));
  }
  if (existsSync(join(webDist, 'index.html'))) {
    await app.register(fastifyStatic, { root: webDist, prefix: '/', wildcard: false, index: ['index.html'] });
  }
  return app;
}
