import { test } from 'node:test';
import assert from 'node:assert/strict';
import { csvCell, readableError } from './recipients.csv.ts';

test('a cell a spreadsheet would run as a formula is neutralised with a quote and quoted', () => {
  for (const [raw, want] of [
    ['=HYPERLINK("http://x","clic")', `"'=HYPERLINK(""http://x"",""clic"")"`],
    ['+51987654321', `"'+51987654321"`],
    ['-2+3', `"'-2+3"`],
    ['@SUM(A1)', `"'@SUM(A1)"`],
    ['\tcmd', `"'\tcmd"`],
    ['\rcmd', `"'\rcmd"`],
  ] as const)
    assert.equal(csvCell(raw), want, JSON.stringify(raw));
});

test('numbers and dates are written as they are, even negative ones', () => {
  assert.equal(csvCell(-5), '-5');
  assert.equal(csvCell(3.5), '3.5');
  assert.equal(csvCell(12n), '12');
  assert.equal(csvCell(new Date('2026-01-02T03:04:05.000Z')), '2026-01-02T03:04:05.000Z');
});

test('plain text stays bare; commas, semicolons, quotes and line breaks are quoted', () => {
  assert.equal(csvCell('Ana Pérez'), 'Ana Pérez');
  assert.equal(csvCell('a mid-word = sign'), 'a mid-word = sign', 'only the first character makes a formula');
  assert.equal(csvCell('Pérez, Ana'), '"Pérez, Ana"');
  assert.equal(csvCell('uno;dos'), '"uno;dos"');
  assert.equal(csvCell('dice "hola"'), '"dice ""hola"""');
  assert.equal(csvCell('dos\nlíneas'), '"dos\nlíneas"');
  assert.equal(csvCell(null), '');
  assert.equal(csvCell(undefined), '');
  assert.equal(csvCell(false), 'false');
});

test('a provider error with a JSON body reads as words; other errors are kept as they are', () => {
  assert.equal(readableError('HTTP 400 [{"exists":false,"number":"58412"}]'), 'HTTP 400 exists: false, number: 58412');
  assert.equal(readableError('rechazado (HTTP 400 {"error":{"message":"bad","code":131026}})'), 'rechazado (HTTP 400 error: message: bad, code: 131026)');
  assert.equal(readableError('HTTP 500 {not json'), 'HTTP 500 {not json');
  assert.equal(readableError('timeout'), 'timeout');
  assert.equal(readableError(null), null);
  assert.equal(readableError(''), '');
});
