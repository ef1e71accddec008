import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Server as SocketServer } from 'socket.io';
import type { Config } from './config.ts';
import type { Database } from './db/client.ts';
import type { EventBus } from './events/bus.ts';
import type { Logger } from './logger.ts';
import type { Tokens } from './auth/jwt.ts';
import type { Sessions } from './auth/sessions.ts';
import type { Throttle } from './auth/throttle.ts';
import type { SecretBox } from './auth/secrets.ts';
import type { JobDefinition } from './jobs/job-definition.ts';
import type { JobRunner } from './jobs/job-runner.ts';
import type { SocketChannelSpec } from './realtime/asyncapi.ts';
import type { JobsService } from './jobs/jobs.service.ts';

/** Services modules offer each other; each module adds its own entry by declaration merging. */
// biome-ignore lint/suspicious/noEmptyInterface: each module adds its entry by declaration merging
export interface Services {}

/**
 * What `createRuntime` opens and every module is given as `ctx`: configuration, database, bus, jobs and
 * the services modules offer each other. (The HTTP app, `App`, is only the Fastify instance.)
 */
export interface RuntimeContext {
  config: Config;
  logger: Logger;
  db: Database;
  bus: EventBus;
  tokens: Tokens;
  /** Login sessions behind access and refresh tokens. */
  sessions: Sessions;
  /** Failure counters for logins and API keys. */
  throttle: Throttle;
  /** Encrypts the secrets Puente stores (modules register theirs for re-encryption). */
  secrets: SecretBox;
  jobs: JobsService;
  runner: JobRunner;
  services: Services;
  /** The Socket.IO server, once the HTTP server is up (absent in worker-only processes). */
  io?: SocketServer;
  /** Where this process's HTTP server listens, once it does (outbound URLs must not point back at it). */
  listening?: { host: string; port: number };
  /** Redis connection URL when scaled out. */
  redisUrl: string | undefined;
}

/** The HTTP app: Fastify on Node's HTTP server, with zod schemas as route types. */
export type App = FastifyInstance<Server, IncomingMessage, ServerResponse, Logger, ZodTypeProvider>;

/**
 * One capability. `setup` runs first (register services, declare jobs); `routes` and `realtime`
 * attach to the HTTP server; `start` runs once everything is up (initial syncs and the like).
 */
export interface PuenteModule {
  name: string;
  setup?(ctx: RuntimeContext): JobDefinition[] | void;
  routes?(app: App, ctx: RuntimeContext): void | Promise<void>;
  realtime?(io: SocketServer, ctx: RuntimeContext): void | Promise<void>;
  /** The module's socket endpoints, as the AsyncAPI document (GET /docs/asyncapi.json) describes them. */
  sockets?: SocketChannelSpec[];
  /**
   * Hides what a job socket viewer without a staff token must not see in an event (each module's
   * hook applies in turn, whichever job the event belongs to). When no loaded module has one, the
   * platform hides every digit that could belong to personal data (`realtime/job-viewer.ts`).
   */
  forJobViewer?(event: unknown): unknown;
  start?(ctx: RuntimeContext, opts: { work: boolean }): Promise<void>;
  stop?(ctx: RuntimeContext): Promise<void>;
}
