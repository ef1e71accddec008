import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';

/**
 * The OpenAPI document served at `/docs/json`: each route's zod schemas (request and every response),
 * shared schemas with an id (see contract.ts) as components, and the two security schemes.
 */
export function openapiOptions(version: string): FastifyDynamicSwaggerOptions {
  return {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Puente API',
        version,
        description: 'Wispro, WHMCS, Zoho and WhatsApp, kept in step. Error replies carry a stable `code` (see docs/errors.md).',
        license: { name: 'MIT', identifier: 'MIT' },
      },
      servers: [{ url: '/', description: 'This Puente server' }],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token from `POST /auth/login` (or an access-code session).' },
          syncApiKey: {
            type: 'http',
            scheme: 'bearer',
            description: "A sync client's API key (`/sync/*`, `/orders`), sent as `Authorization: Bearer <api key>`.",
          },
        },
      },
    },
    transform: jsonSchemaTransform,
    transformObject: (doc) =>
      optionalBodies(withoutUnusedSchemas(jsonSchemaTransformObject(doc) as Record<string, unknown>)) as ReturnType<typeof jsonSchemaTransformObject>,
  };
}

/** Shared schemas are generated for requests and replies alike; keep those an operation (or another kept schema) refers to. */
function withoutUnusedSchemas(doc: Record<string, unknown>) {
  const components = doc.components as { schemas?: Record<string, unknown> } | undefined;
  const schemas = components?.schemas;
  if (!schemas) return doc;
  const { components: _c, ...rest } = doc;
  const kept = new Set<string>();
  let text = JSON.stringify(rest);
  for (let grew = true; grew; ) {
    grew = false;
    for (const name of Object.keys(schemas)) {
      if (!kept.has(name) && text.includes(`"#/components/schemas/${name}"`)) {
        kept.add(name);
        text += JSON.stringify(schemas[name]);
        grew = true;
      }
    }
  }
  return { ...doc, components: { ...components, schemas: Object.fromEntries(Object.entries(schemas).filter(([name]) => kept.has(name))) } };
}

type Operation = { requestBody?: { required?: boolean; content?: Record<string, { schema?: { anyOf?: unknown[] } }> } };

/**
 * A body schema that accepts nothing (`.nullish()`) is an optional body: the request may come without
 * one (or with an empty JSON body). @fastify/swagger marks every body required; this says it as it is.
 */
function optionalBodies(doc: Record<string, unknown>) {
  for (const methods of Object.values((doc.paths ?? {}) as Record<string, Record<string, Operation>>)) {
    for (const op of Object.values(methods)) {
      const media = op.requestBody?.content?.['application/json'];
      const branches = media?.schema?.anyOf;
      if (!media || !branches?.some((b) => (b as { type?: string }).type === 'null')) continue;
      const rest = branches.filter((b) => (b as { type?: string }).type !== 'null');
      media.schema = rest.length === 1 ? (rest[0] as { anyOf?: unknown[] }) : { anyOf: rest };
      op.requestBody!.required = false;
    }
  }
  return doc;
}
