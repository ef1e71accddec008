import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CODES } from '../src/platform/http/error-codes.ts';
import { AppError, UpstreamError, errorBody } from '../src/platform/http/errors.ts';

const root = join(import.meta.dirname, '..');
const codes = Object.keys(ERROR_CODES);
const GENERIC = ['validation_error', 'invalid_value', 'rate_limited', 'internal_error', 'upstream_error', 'upstream_timeout'];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') && !path.endsWith('error-codes.ts') ? [path] : [];
  });
}

test('codes are dotted lowercase `<area>.<reason>` (or one of the few generic ones) with an error status', () => {
  for (const code of codes) {
    assert.ok(GENERIC.includes(code) || /^[a-z]+\.[a-z_]+$/.test(code), code);
    const status = ERROR_CODES[code as keyof typeof ERROR_CODES].status;
    assert.ok(status >= 400 && status <= 599, `${code}: ${status}`);
  }
});

test('docs/errors.md lists every code with its status, and no code the table does not have', () => {
  const doc = readFileSync(join(root, 'docs/errors.md'), 'utf8');
  const rows = new Map([...doc.matchAll(/^\| `([a-z_.]+)` *\| (\d{3}) *\|/gm)].map((m) => [m[1]!, Number(m[2])]));
  for (const code of codes) assert.equal(rows.get(code), ERROR_CODES[code as keyof typeof ERROR_CODES].status, `docs/errors.md row for ${code}`);
  assert.deepEqual(
    [...rows.keys()].filter((c) => !codes.includes(c)),
    [],
    'rows for codes that no longer exist',
  );
});

test('every code in the table is answered somewhere in the code', () => {
  const text = sources(join(root, 'src'))
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n');
  const unused = codes.filter((c) => !text.includes(`'${c}'`));
  assert.deepEqual(unused, [], 'codes no route answers');
});

test('the dashboard translates only codes that exist', () => {
  const i18n = readFileSync(join(root, 'web/src/i18n.ts'), 'utf8');
  const keys = [...i18n.matchAll(/'?err_([a-z_.]+)'?:/g)].map((m) => m[1]!);
  assert.ok(keys.length >= 20, `found ${keys.length} err_ keys`);
  assert.deepEqual([...new Set(keys.filter((k) => !codes.includes(k)))], [], 'translations for unknown codes');
});

test('an AppError takes its status from the table and answers its fields beside message and code', () => {
  const e = new AppError('whmcs.already_linked', 'El cliente WHMCS 7 ya está vinculado al cliente local 3', { whmcs_id: 7, linked_to: 3 });
  assert.equal(e.httpStatus, 409);
  assert.deepEqual(errorBody('success', e.message, e.code, e.details, e.extra), {
    success: false,
    message: e.message,
    code: 'whmcs.already_linked',
    whmcs_id: 7,
    linked_to: 3,
  });
  const issues = [{ field: 'body.base_url', message: 'required' }];
  const v = new AppError('devices.base_url_required', 'base_url es obligatorio', { provider: 'waha' }, issues);
  assert.deepEqual(errorBody('status', v.message, v.code, v.details, v.extra), {
    status: 'error',
    message: v.message,
    code: 'devices.base_url_required',
    provider: 'waha',
    details: issues,
  });
  // A field can never overwrite the shape's own keys.
  const sneaky = errorBody('status', 'm', 'job.not_found', undefined, { status: 'success', code: 'x', message: 'y' });
  assert.deepEqual([sneaky.status, sneaky.code, sneaky.message], ['error', 'job.not_found', 'm']);
  const slow = new UpstreamError('WHMCS', 'sin respuesta', { timeout: true });
  assert.deepEqual([slow.code, slow.httpStatus, slow.extra?.service], ['upstream_timeout', 504, 'WHMCS']);
});
