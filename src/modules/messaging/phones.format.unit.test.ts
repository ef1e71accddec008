import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forProvider, forgetPhoneShapes, normalisePhone } from './phones.format.ts';

test('numbers in every usual form become E.164', () => {
  const cases: [string, string, string | null][] = [
    ['+51 987 654 321', 'PE', '+51987654321'],
    ['987654321', 'PE', '+51987654321'],
    ['0051987654321', 'PE', '+51987654321'],
    ['51987654321', 'PE', '+51987654321'],
    ['(0414) 123-4567', 'VE', '+584141234567'],
    ['+52 1 55 1234 5678', 'MX', '+525512345678'],
    ['+5491123456789', 'AR', '+5491123456789'],
    ['030 1234567', 'DE', '+49301234567'],
    ['12', 'PE', null],
    ['no-es-un-numero', 'PE', null],
    ['', 'PE', null],
  ];
  for (const [raw, country, want] of cases) {
    const r = normalisePhone(raw, country);
    assert.equal(r.ok ? r.e164 : null, want, `${raw} (${country})`);
  }
});

test('a remembered shape gives the same answer as a full parse, for numbers of many countries and forms', () => {
  const inputs: [string, string][] = [];
  let x = 12345;
  const rnd = (n: number) => (x = (x * 1103515245 + 12345) % 2 ** 31) % n;
  const digits = (n: number) => Array.from({ length: n }, () => rnd(10)).join('');
  for (let i = 0; i < 3000; i++) {
    const country = ['PE', 'VE', 'MX', 'AR', 'CO', 'ES', 'US', 'DE'][rnd(8)]!;
    const forms = [
      `+${digits(8 + rnd(6))}`,
      digits(7 + rnd(6)),
      `0${digits(9 + rnd(3))}`,
      `00${digits(10 + rnd(3))}`,
      `+521${digits(10)}`,
      `+549${digits(10)}`,
      `0${digits(2)}15${digits(8)}`,
    ];
    inputs.push([forms[rnd(forms.length)]!, country]);
  }
  forgetPhoneShapes();
  const remembered = inputs.map(([raw, c]) => normalisePhone(raw, c));
  const fresh = inputs.map(([raw, c]) => {
    forgetPhoneShapes();
    return normalisePhone(raw, c);
  });
  assert.deepEqual(remembered, fresh);
  assert.ok(fresh.filter((r) => r.ok).length > 500, 'the sample holds valid numbers');
  assert.ok(fresh.filter((r) => !r.ok).length > 100, 'and invalid ones');
});

test('each engine gets the form it expects', () => {
  assert.equal(forProvider('+525512345678', 'evolution'), '5215512345678');
  assert.equal(forProvider('+525512345678', 'cloud'), '+525512345678');
  assert.equal(forProvider('+51987654321', 'waha'), '51987654321');
});
