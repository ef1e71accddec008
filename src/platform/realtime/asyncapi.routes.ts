import { z } from 'zod';
import type { App, PuenteModule } from '../context.ts';
import { errorResponses } from '../http/contract.ts';
import { asyncApiDocument, jobSocketChannel } from './asyncapi.ts';

const PACKAGE_VERSION = '0.1.0';

/** The socket endpoints of the platform and of every module, in the order the document lists them. */
export const socketChannels = (modules: PuenteModule[]) => [jobSocketChannel, ...modules.flatMap((m) => m.sockets ?? [])];

/** GET /docs/asyncapi.json: the AsyncAPI 3 document of the sockets (`/ws/job/{jobId}`, `/sync`), built from their schemas. */
export function asyncApiRoutes(app: App, modules: PuenteModule[]) {
  app.get(
    '/docs/asyncapi.json',
    {
      schema: {
        tags: ['system'],
        operationId: 'getAsyncApiDocument',
        security: [],
        summary: "The AsyncAPI 3 document of Puente's sockets (job progress and the orders change feed)",
        description: 'Generated from the zod schemas the server emits and reads with; docs/realtime.md is its readable form.',
        response: { 200: z.looseObject({ asyncapi: z.literal('3.1.0') }).describe('An AsyncAPI 3.1.0 document'), ...errorResponses() },
      },
    },
    async (req) => asyncApiDocument(socketChannels(modules), { version: PACKAGE_VERSION, host: req.host }),
  );
}
