import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Fastify from 'fastify';
import { validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import pino from 'pino';
import { installResponseCheck, type ContractCheckMode, type ContractViolation } from '../src/platform/http/response-check.ts';
import { errorResponses } from '../src/platform/http/contract.ts';
import type { App } from '../src/platform/context.ts';
import { freshStorage, startPuente, testEnv, type Storage, type TestPuente } from './support/puente.ts';

type Operation = {
  operationId?: string;
  tags?: string[];
  security?: Array<Record<string, string[]>>;
  parameters?: unknown[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: unknown }> };
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
};
type Doc = { paths: Record<string, Record<string, Operation>>; components: { securitySchemes: Record<string, unknown> } };

const METHODS = new Set(['get', 'post', 'put', 'patch', 'delete']);
const allOperations = (doc: Doc) =>
  Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods)
      .filter(([m]) => METHODS.has(m))
      .map(([method, op]) => ({ path, method, op, name: `${method.toUpperCase()} ${path}` })),
  );

describe('the OpenAPI document is the contract', () => {
  let storage: Storage;
  let p: TestPuente;
  let doc: Doc;

  before(async () => {
    storage = await freshStorage('embedded');
    p = await startPuente(testEnv(storage.env), { work: false });
    const res = await p.api('/docs/json');
    assert.equal(res.status, 200);
    doc = res.body;
  });
  after(async () => {
    await p?.close();
    await storage?.dispose();
  });

  test('every operation has a unique camelCase operationId, tags, and its security stated', () => {
    assert.ok(allOperations(doc).length >= 50, `only ${allOperations(doc).length} operations documented`);
    const ops = allOperations(doc);
    const problems: string[] = [];
    const seen = new Map<string, string>();
    for (const { name, op } of ops) {
      if (!op.operationId || !/^[a-z][a-zA-Z0-9]+$/.test(op.operationId)) problems.push(`${name}: operationId ${op.operationId ?? 'missing'}`);
      else if (seen.has(op.operationId)) problems.push(`${name}: operationId ${op.operationId} also used by ${seen.get(op.operationId)}`);
      else seen.set(op.operationId, name);
      if (!op.tags?.length) problems.push(`${name}: no tags`);
      if (!Array.isArray(op.security)) problems.push(`${name}: security not stated (use [] for a public route)`);
      for (const req of op.security ?? []) {
        for (const scheme of Object.keys(req)) if (!(scheme in doc.components.securitySchemes)) problems.push(`${name}: unknown security scheme ${scheme}`);
      }
    }
    assert.deepEqual(problems, []);
  });

  test('the sync feed takes the sync API key, not a staff token', () => {
    const sync = allOperations(doc).filter((o) => o.path.startsWith('/sync/'));
    assert.ok(sync.length > 0);
    for (const { name, op } of sync) assert.deepEqual(op.security, [{ syncApiKey: [] }], name);
  });

  test('every operation declares a body schema for a success and for each error it can answer', () => {
    const problems: string[] = [];
    for (const { name, op } of allOperations(doc)) {
      const statuses = Object.keys(op.responses);
      if (!statuses.some((s) => s.startsWith('2'))) problems.push(`${name}: no success response`);
      for (const [status, response] of Object.entries(op.responses)) {
        const media = Object.values(response.content ?? {});
        if (!media.length || media.some((m) => !m.schema)) problems.push(`${name}: ${status} has no body schema`);
      }
      const must = ['500'];
      if (op.security?.length) must.push('401');
      if (op.parameters?.length || op.requestBody) must.push('400');
      for (const s of must) if (!statuses.includes(s)) problems.push(`${name}: ${s} not declared`);
    }
    assert.deepEqual(problems, []);
  });

  test('a guarded operation answers 401 without credentials (and says so), as its security states', async () => {
    const fill = (path: string) => path.replace(/\{[^}]+\}/g, '1');
    const problems: string[] = [];
    for (const { name, path, method, op } of allOperations(doc)) {
      if (!op.security?.length) continue;
      const res = await p.api(fill(path), { method: method.toUpperCase(), token: null });
      if (res.status !== 401) problems.push(`${name}: ${res.status} without credentials`);
      else if (!/^auth\.(missing_token|invalid_token)$|^sync\./.test(String(res.body?.code))) problems.push(`${name}: 401 with code ${res.body?.code}`);
      // A staff token is not a sync API key.
      if (op.security.every((s) => 'syncApiKey' in s)) {
        const staff = await p.api(fill(path), { method: method.toUpperCase() });
        if (staff.status !== 401) problems.push(`${name}: ${staff.status} with a staff token`);
      }
    }
    assert.deepEqual(problems, []);
  });

  test('optional bodies are optional in the document', () => {
    const op = doc.paths['/api/products/sync']?.post;
    assert.ok(op?.requestBody, 'POST /api/products/sync documents its body');
    assert.equal(op.requestBody.required, false);
    assert.equal(doc.paths['/auth/login']?.post?.requestBody?.required, true, 'a required body stays required');
  });

  test('redocly lint (recommended rules) finds no errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'puente-openapi-'));
    try {
      const file = join(dir, 'openapi.json');
      writeFileSync(file, JSON.stringify(doc));
      const bin = join(import.meta.dirname, '..', 'node_modules', '@redocly', 'cli', 'bin', 'cli.js');
      // Offline: no telemetry, no update check.
      const env = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', CI: 'true' };
      const run = await promisify(execFile)(process.execPath, [bin, 'lint', '--extends', 'recommended', '--format', 'json', file], {
        env,
        maxBuffer: 32 * 1024 * 1024,
        cwd: dir,
      }).catch((err: { stdout?: string; stderr?: string }) => ({ stdout: err.stdout ?? '', stderr: err.stderr ?? '' }));
      const report = JSON.parse(run.stdout) as {
        totals: { errors: number; warnings: number };
        problems: Array<{ ruleId: string; severity: string; message: string; location: Array<{ pointer: string }> }>;
      };
      const errors = report.problems.filter((x) => x.severity === 'error').map((x) => `${x.ruleId} ${x.location[0]?.pointer}: ${x.message}`);
      assert.deepEqual(errors, []);
      assert.equal(report.totals.errors, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('replies are checked against their schema', () => {
  async function server(mode: ContractCheckMode) {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
    const app = Fastify({ loggerInstance: logger }).withTypeProvider<ZodTypeProvider>() as unknown as App;
    app.setValidatorCompiler(validatorCompiler);
    installResponseCheck(app, { mode, logger });
    const reply = z.object({ id: z.number(), at: z.string() });
    app.get('/good', { schema: { response: { 200: reply, ...errorResponses(404) } } }, async () => ({ id: 1, at: new Date(0) }) as never);
    app.get('/wrong', { schema: { response: { 200: reply } } }, async () => ({ id: 'one', at: 'x' }) as never);
    app.get('/extra', { schema: { response: { 200: reply } } }, async () => ({ id: 1, at: 'x', secret: 's' }) as never);
    app.get('/undeclared', { schema: { response: { 200: reply } } }, async (_req, r) =>
      (r.status as (n: number) => typeof r)(409).send({ success: false, message: 'no', code: 'conflict' } as never),
    );
    app.get('/missing', { schema: { response: { 200: reply, ...errorResponses(404) } } }, async (_req, r) =>
      r.status(404).send({ success: false, message: 'no', code: 'not_found' } as never),
    );
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as { port: number };
    const get = async (path: string) => {
      const res = await fetch(`http://127.0.0.1:${port}${path}`);
      return { status: res.status, body: await res.json() };
    };
    return { app, get, lines };
  }

  test('strict: a reply that disagrees is recorded, and still sent as built (never a 500)', async () => {
    const { app, get } = await server('strict');
    try {
      assert.deepEqual(await get('/good'), { status: 200, body: { id: 1, at: '1970-01-01T00:00:00.000Z' } });
      assert.deepEqual(await get('/missing'), { status: 404, body: { success: false, message: 'no', code: 'not_found' } });
      assert.deepEqual(app.contractViolations, [], 'replies that match record nothing');
      assert.deepEqual(await get('/wrong'), { status: 200, body: { id: 'one', at: 'x' } });
      assert.deepEqual(await get('/extra'), { status: 200, body: { id: 1, at: 'x' } }, 'an undeclared field is not sent');
      assert.equal((await get('/undeclared')).status, 409);
      const found = app.contractViolations.map((v: ContractViolation) => `${v.url} ${v.status}: ${v.problem}`);
      assert.equal(found.length, 3, found.join('\n'));
      assert.match(found[0]!, /^\/wrong 200: id: /);
      assert.match(found[1]!, /^\/extra 200: fields not in the schema: secret$/);
      assert.match(found[2]!, /^\/undeclared 409: status 409 is not declared$/);
    } finally {
      await app.close();
    }
  });

  test('warn (production): a reply that disagrees is sent and logged once, nothing recorded', async () => {
    const { app, get, lines } = await server('warn');
    try {
      for (let i = 0; i < 3; i++) assert.deepEqual(await get('/wrong'), { status: 200, body: { id: 'one', at: 'x' } });
      assert.deepEqual(app.contractViolations, []);
      const warned = lines.filter((l) => l.includes('does not match the API contract'));
      assert.equal(warned.length, 1, 'logged once per route and status');
      assert.match(warned[0]!, /"url":"\/wrong"/);
    } finally {
      await app.close();
    }
  });
});
