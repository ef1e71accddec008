import assert from 'node:assert/strict';
import { test } from 'node:test';
import { maskPhone, maskPhones } from './phones.mask.ts';

test('a phone keeps its first three and last two characters', () => {
  assert.equal(maskPhone('+51987654321'), '+51*******21');
  assert.equal(maskPhone('12345'), '***');
});

test('numbers are masked under phone keys and wherever they are phone-shaped in text; ids and dates are not', () => {
  const id = '0b5e7a52-1c3d-4e5f-8a9b-0c1d2e3f4a5b';
  const event = {
    type: 'error',
    job_id: id,
    phone: '+51987654321',
    to: 51987654321,
    error: 'rechazado: 51 987-654 (321) no existe',
    at: '2026-12-01T06:00:00.000Z',
    rows: [{ raw_phone: '987654321' }, 'llamar al +51 987 654 321'],
  };
  assert.deepEqual(maskPhones(event), {
    type: 'error',
    job_id: id,
    phone: '+51*******21',
    to: '519******21',
    error: 'rechazado: 51 **********21) no existe',
    at: '2026-12-01T06:00:00.000Z',
    rows: [{ raw_phone: '987****21' }, 'llamar al +51**********21'],
  });
});
