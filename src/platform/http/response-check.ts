import type { FastifyReply, FastifyRequest } from 'fastify';
import { $ZodType, safeEncode } from 'zod/v4/core';
import type { App } from '../context.ts';
import type { Logger } from '../logger.ts';

/**
 * Keeps replies and the OpenAPI document in step. Every JSON reply is serialized through its
 * route's response schema for its status (fields the schema does not declare are not sent), and:
 *
 * - `strict` (the test suite): a reply that does not match, a field the schema drops, or a status
 *   the route does not declare is recorded in
 *   `app.contractViolations` (and logged); the test support fails the test when any was recorded.
 * - `warn` (default): a reply that does not match is still sent (as the handler built it) and
 *   logged once per route and status; the user never gets a 500 for it.
 * - `off`: no checks; replies are still serialized through their schema when it matches.
 */
export type ContractCheckMode = 'off' | 'warn' | 'strict';

export interface ContractViolation {
  method: string;
  url: string;
  status: number;
  problem: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Replies that disagreed with the route's declared schema (recorded in `strict` mode only). */
    contractViolations: ContractViolation[];
  }
}

interface SerializerInput {
  schema: unknown;
  method: string;
  url: string;
  httpStatus?: string;
}

function zodOf(maybe: unknown): $ZodType | null {
  if (maybe instanceof $ZodType) return maybe;
  const props = (maybe as { properties?: unknown } | null)?.properties;
  return props instanceof $ZodType ? props : null;
}

/** Paths present in what the handler built but absent after serialization (undeclared fields). */
function droppedPaths(input: unknown, output: unknown, path = '', out: string[] = []): string[] {
  if (out.length >= 5 || input === null || typeof input !== 'object' || output === null || typeof output !== 'object') return out;
  if (Array.isArray(input)) {
    if (!Array.isArray(output)) return out;
    for (const [i, v] of input.entries()) droppedPaths(v, output[i], `${path}[${i}]`, out);
    return out;
  }
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined) continue;
    const at = path ? `${path}.${key}` : key;
    if (!(key in output)) out.push(at);
    else droppedPaths(value, (output as Record<string, unknown>)[key], at, out);
  }
  return out;
}

function statusDeclared(response: Record<string, unknown>, status: number): boolean {
  return String(status) in response || `${String(status)[0]}XX` in response || `${String(status)[0]}xx` in response || 'default' in response;
}

export function installResponseCheck(app: App, opts: { mode: ContractCheckMode; logger: Logger }) {
  const { mode, logger } = opts;
  const violations: ContractViolation[] = [];
  app.decorate('contractViolations', violations);
  const warned = new Set<string>();

  const report = (v: ContractViolation) => {
    if (mode === 'strict') {
      violations.push(v);
      logger.error(v, 'reply does not match the API contract');
    } else if (mode === 'warn') {
      const key = `${v.method} ${v.url} ${v.status}`;
      if (warned.has(key)) return;
      warned.add(key);
      logger.warn(v, 'reply does not match the API contract');
    }
  };

  app.setSerializerCompiler(({ schema: maybe, method, url, httpStatus }: SerializerInput) => {
    const schema = zodOf(maybe);
    const status = Number(httpStatus) || 0;
    return (data: unknown) => {
      // What goes over the wire: dates become ISO strings, undefined fields disappear.
      const json = JSON.stringify(data);
      if (!schema || json === undefined) return json;
      const wire = JSON.parse(json);
      const result = safeEncode(schema, wire);
      if (result.error) {
        const problem = result.error.issues
          .slice(0, 5)
          .map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`)
          .join('; ');
        report({ method, url, status, problem });
        return json;
      }
      if (mode === 'strict') {
        const dropped = droppedPaths(wire, result.data);
        if (dropped.length) report({ method, url, status, problem: `fields not in the schema: ${dropped.join(', ')}` });
      }
      return JSON.stringify(result.data);
    };
  });

  if (mode === 'off') return;
  app.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload) => {
    const route = request.routeOptions;
    // Unmatched URLs (the not-found handler) and routes kept out of the document (static files, the docs UI).
    if (!route.url || (route.schema as { hide?: boolean } | undefined)?.hide) return payload;
    const response = route.schema?.response as Record<string, unknown> | undefined;
    const base = { method: request.method, url: route.url, status: reply.statusCode };
    // A route without any response schema is caught by the OpenAPI document test (test/contract.test.ts).
    if (response && !statusDeclared(response, reply.statusCode)) report({ ...base, problem: `status ${reply.statusCode} is not declared` });
    return payload;
  });
}
