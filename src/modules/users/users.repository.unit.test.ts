import { test } from 'node:test';
import assert from 'node:assert/strict';
import { wisproProfileHash } from './users.repository.ts';

const base = { name: 'Ana Peña', email: 'ana@correo.com', address: 'Calle 1', zone: null, city: 'Maracaibo', state: 'Zulia' };

test('the profile digest changes with any field a sync overwrites, and tells apart null, empty and moved text', () => {
  const h = wisproProfileHash(base);
  assert.match(h, /^[0-9a-f]{32}$/);
  assert.equal(wisproProfileHash({ ...base }), h);
  for (const field of ['name', 'email', 'address', 'zone', 'city', 'state'] as const) {
    assert.notEqual(wisproProfileHash({ ...base, [field]: 'otro' }), h, field);
  }
  assert.notEqual(wisproProfileHash({ ...base, zone: '' }), h, 'empty is not null');
  assert.notEqual(wisproProfileHash({ ...base, name: 'Ana', email: ' Peña' }), wisproProfileHash({ ...base, name: 'Ana ', email: 'Peña' }));
  assert.notEqual(wisproProfileHash({ ...base, city: '1:a', state: null }), wisproProfileHash({ ...base, city: null, state: '1:a' }));
});
