import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mapWisproClient, parseCedula, readZone } from './wispro.mapper.ts';

test('every form of a cédula parses to the same digits', () => {
  for (const form of ['12345678', 'V-12345678', 'V12345678', 'v 12345678', '12.345.678', 'V-12.345.678', ' 012345678 ']) {
    assert.equal(parseCedula(form)?.digits, '12345678', form);
  }
  assert.equal(parseCedula('E-12345678')?.idNumber, 'E-12345678');
  assert.equal(parseCedula('12.345.678')?.idNumber, 'V-12345678');
});

test('unusable cédulas parse to nothing', () => {
  for (const bad of [null, '', 'N/A', 'pendiente', '123', 'V-', '12-34-56', '12345678901']) assert.equal(parseCedula(bad), null, String(bad));
});

test('a client maps to a user; no cédula and no id is a skip; no name is an error', () => {
  const ok = mapWisproClient(
    {
      id: 'u-1',
      name: ' Ana Peña ',
      email: 'ANA@Correo.com',
      national_identification_number: 'E-8.765.432',
      zone_name: 'Nodo Centro',
      phone: '',
      phone_mobile: '+584141234567',
    },
    'zone_name',
  );
  assert.deepEqual(ok, {
    kind: 'user',
    user: {
      name: 'Ana Peña',
      email: 'ana@correo.com',
      phone: '+584141234567',
      address: null,
      city: null,
      state: null,
      postcode: null,
      country: null,
      zone: 'Nodo Centro',
      code: '8765432',
      id_number: 'E-8765432',
      cedula_digits: '8765432',
      id_wispro: 'u-1',
    },
  });
  assert.equal(mapWisproClient({ name: 'X', national_identification_number: 'N/A' }, 'zone_name').kind, 'skip');
  assert.equal(mapWisproClient({ id: 'u-2', name: '', national_identification_number: '1234567' }, 'zone_name').kind, 'error');
  assert.equal(mapWisproClient('garbage', 'zone_name').kind, 'error');
  const badEmail = mapWisproClient({ id: 'u-3', name: 'B', email: 'not-an-email' }, 'zone_name');
  assert.equal(badEmail.kind === 'user' && badEmail.user.email, null);
});

test('the address WHMCS needs is kept: city and state, and a postcode or country when Wispro sends them', () => {
  const mapped = mapWisproClient(
    { id: 'u-9', name: 'Rosa Peña', city: ' Maracaibo ', state: 'Zulia', zip_code: '4001', country: 've', address: 'Calle 72' },
    'zone_name',
  );
  assert.equal(mapped.kind, 'user');
  if (mapped.kind !== 'user') return;
  assert.deepEqual([mapped.user.city, mapped.user.state, mapped.user.postcode, mapped.user.country], ['Maracaibo', 'Zulia', '4001', 'VE']);
  const named = mapWisproClient({ id: 'u-10', name: 'X', country: 'Venezuela' }, 'zone_name');
  assert.equal(named.kind === 'user' && named.user.country, null, 'a country name is not an ISO code');
});

test('the zone is read from the configured field, through nested objects, or is absent', () => {
  assert.equal(readZone({ zone_name: 'Nodo Centro' }, 'zone_name'), 'Nodo Centro');
  assert.equal(readZone({ zone: { id: 3, name: 'Torre Norte' } }, 'zone_name'), 'Torre Norte', 'a nested zone object gives its name');
  assert.equal(readZone({ node: { zone: { name: 'Sector Sur' } } }, 'node.zone'), 'Sector Sur', 'a dotted path reaches nested objects');
  assert.equal(readZone({ node: { zone: 'Nodo Este' } }, 'node.zone.name'), null, 'a path that does not fit reads nothing');
  assert.equal(readZone({ custom_zone: 7 }, 'custom_zone'), '7');
  assert.equal(readZone({ id: 'x', name: 'No zone' }, 'zone_name'), null, 'absent, as in the recorded payloads');
  assert.equal(readZone({ zone: { id: 3 } }, 'zone_name'), null, 'an object without a name is no zone');
  assert.equal(readZone({ zone_name: '   ' }, 'zone_name'), null);
});

test('numbers are read as text, and a field of another type makes the record unreadable, whichever way it is read', () => {
  const numeric = mapWisproClient({ id: 4711, name: 'Luis', national_identification_number: 12345678, city: '  ' }, 'zone_name');
  assert.equal(numeric.kind, 'user');
  if (numeric.kind !== 'user') return;
  assert.deepEqual([numeric.user.id_wispro, numeric.user.code, numeric.user.city], ['4711', '12345678', null]);
  for (const bad of [{ id: 'u-5', name: { first: 'Ana' } }, { id: 'u-6', name: 'Ana', email: ['a@b.co'] }, { id: 'u-7', name: 'Ana', phone: true }, [1, 2]]) {
    const mapped = mapWisproClient(bad, 'zone_name');
    assert.equal(mapped.kind, 'error', JSON.stringify(bad));
    assert.match(mapped.kind === 'error' ? mapped.reason : '', /^registro ilegible: .+/);
  }
});
