import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../platform/config.ts';
import { DEFAULT_MAPPING, fromWhmcs, loadMapping, splitName, toWhmcs, userColumns } from './whmcs.mapper.ts';

const user = (o: Partial<Parameters<typeof toWhmcs>[0]> = {}) => ({
  name: 'María José Pérez Rondón',
  email: 'maria@puente.test',
  phone: '+584141234567',
  address: 'Av. Bolívar 12',
  zone: 'Centro',
  id_number: 'V-12345678',
  code: '12345678',
  city: 'Caracas',
  state: 'Distrito Capital',
  postcode: '1010',
  country: 've',
  ...o,
});
const seedMapping = { fields: { ...DEFAULT_MAPPING }, defaults: {} as Record<string, string> };

test('a name splits in two halves, the longer half last; one word is a first name only', () => {
  assert.deepEqual(splitName('María José Pérez Rondón'), ['María José', 'Pérez Rondón']);
  assert.deepEqual(splitName('Ana Pérez'), ['Ana', 'Pérez']);
  assert.deepEqual(splitName('Juan Carlos Pérez'), ['Juan', 'Carlos Pérez']);
  assert.deepEqual(splitName('  Ana   de   Vargas '), ['Ana', 'de Vargas']);
  assert.deepEqual(splitName('Cher'), ['Cher', '']);
  assert.deepEqual(splitName('   '), ['', '']);
});

test('a user becomes WHMCS fields through the seed mapping; the country is upper-cased', () => {
  const { fields, missing } = toWhmcs(user(), seedMapping);
  assert.deepEqual(fields, {
    firstname: 'María José',
    lastname: 'Pérez Rondón',
    email: 'maria@puente.test',
    phonenumber: '+584141234567',
    address1: 'Av. Bolívar 12',
    city: 'Caracas',
    state: 'Distrito Capital',
    postcode: '1010',
    country: 'VE',
  });
  assert.deepEqual(missing, []);
});

test('defaults fill only what the user lacks; what neither has is listed as missing', () => {
  const mapping = { fields: { ...DEFAULT_MAPPING }, defaults: { city: 'Lima', postcode: '15001', country: 'pe' } };
  const { fields, missing } = toWhmcs(user({ city: null, postcode: '  ', address: null, phone: null, country: null }), mapping);
  assert.equal(fields.city, 'Lima', 'default used for a missing city');
  assert.equal(fields.postcode, '15001', 'a blank value counts as missing');
  assert.equal(fields.state, 'Distrito Capital', "the user's own value wins");
  assert.equal(fields.country, 'PE');
  assert.deepEqual(missing, ['address1', 'phonenumber']);
  assert.deepEqual(toWhmcs(user({ name: 'Cher' }), mapping).missing, ['lastname']);
});

test('a WHMCS client reads back to local data and user columns; blanks are dropped', () => {
  const local = fromWhmcs(
    { firstname: ' Ana ', lastname: 'Pérez', email: 'ana@x.test', phonenumber: '', address1: null, city: 'Quito', country: 'EC', extra: 'ignored' },
    seedMapping,
  );
  assert.deepEqual(local, { client_name: 'Ana', client_lastname: 'Pérez', email: 'ana@x.test', city: 'Quito', country: 'EC' });
  assert.deepEqual(userColumns(local), { name: 'Ana Pérez', email: 'ana@x.test', city: 'Quito', country: 'EC' });
  assert.deepEqual(userColumns({ client_name: 'Solo' }), { name: 'Solo' });
  assert.deepEqual(userColumns({}), {});
});

test('the mapping can be overridden by WHMCS_FIELD_MAPPING and WHMCS_DEFAULT_*; a bad one names the problem', () => {
  const config = loadConfig({
    NODE_ENV: 'test',
    DEFAULT_COUNTRY: 'PE',
    WHMCS_DEFAULT_CITY: 'Arequipa',
    WHMCS_FIELD_MAPPING: JSON.stringify({ client: { address1: 'zone' }, defaults: { state: 'Lima', city: 'Cusco' } }),
  });
  const m = loadMapping(config);
  assert.equal(m.fields.address1, 'zone');
  assert.equal(m.fields.firstname, 'client_name', "fields not named keep the seed's");
  assert.deepEqual(m.defaults, { country: 'PE', state: 'Lima', city: 'Arequipa' }, 'WHMCS_DEFAULT_CITY beats the JSON default');
  assert.equal(toWhmcs(user({ address: null }), m).fields.address1, 'Centro');
  const bad = loadConfig({ NODE_ENV: 'test', WHMCS_FIELD_MAPPING: JSON.stringify({ client: { firstname: 'nickname' } }) });
  assert.throws(() => loadMapping(bad), /Invalid WHMCS field mapping in WHMCS_FIELD_MAPPING: client\.firstname/);
  assert.throws(() => loadMapping(loadConfig({ NODE_ENV: 'test', WHMCS_FIELD_MAPPING: '{not json' })), /Invalid WHMCS field mapping in WHMCS_FIELD_MAPPING/);
});
