import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTemplate, MAX_RENDERED, renderedLength, renderTemplate, splitValues, tooLongReason } from './template.renderer.ts';

test("@valorN takes the row's Nth value; @valor1 never eats the start of @valor10", () => {
  const values = Array.from({ length: 10 }, (_, i) => `v${i + 1}`);
  assert.equal(renderTemplate('Hola @valor1, su pedido @valor10 (@valor2)', values), 'Hola v1, su pedido v10 (v2)');
  assert.equal(renderTemplate('@valor1@valor1', ['x']), 'xx');
  assert.equal(renderTemplate('sin variables', ['x']), 'sin variables');
  assert.equal(renderTemplate('@valores y @valor', ['x']), '@valores y @valor', 'not a variable without its number');
});

test('a value the row does not have, or an empty one, renders as ---', () => {
  assert.equal(renderTemplate('Hola @valor1, factura @valor2, monto @valor3', ['Ana', '']), 'Hola Ana, factura ---, monto ---');
  assert.equal(renderTemplate('@valor0', ['Ana']), '---', 'there is no @valor0');
});

test('a value is inserted as it is: no second pass over what it contains', () => {
  assert.equal(renderTemplate('@valor1 / @valor2', ['@valor2', '$& $1']), '@valor2 / $& $1');
});

test('the measured length is the rendered length, without rendering', () => {
  let seed = 7;
  const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  for (let i = 0; i < 500; i++) {
    const template = Array.from({ length: rnd(6) }, () => ['texto ', `@valor${1 + rnd(12)}`, ' y ', '@valor1'][rnd(4)]).join('');
    const values = Array.from({ length: rnd(12) }, () => (rnd(4) === 0 ? '' : 'x'.repeat(rnd(30))));
    assert.equal(renderedLength(compileTemplate(template), values), renderTemplate(template, values).length, `${template} ${JSON.stringify(values)}`);
  }
  const huge = 'a'.repeat(64 * 1024);
  assert.equal(renderedLength(compileTemplate('@valor1 '.repeat(585)), [huge]), 585 * (huge.length + 1));
});

test("a row's stored values split on | and are trimmed; no values is an empty list", () => {
  assert.deepEqual(splitValues(' Ana | 1001 |'), ['Ana', '1001', '']);
  assert.deepEqual(splitValues(''), []);
  assert.deepEqual(splitValues('solo'), ['solo']);
});

test("the too-long reason names the length and WhatsApp's maximum in both languages", () => {
  assert.equal(MAX_RENDERED, 4096);
  const reason = tooLongReason(5000);
  assert.match(reason, /tendría 5000 caracteres, el máximo de WhatsApp es 4096/);
  assert.match(reason, /message too long: 5000 characters, WhatsApp's maximum is 4096/);
});
