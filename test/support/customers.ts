import type { TestPuente } from './puente.ts';

/** The columns of a local customer a test usually cares about. */
export interface LocalUser {
  name: string;
  email: string | null;
  phone?: string | null;
  address?: string | null;
  city?: string | null;
  state?: string | null;
}

let n = 0;

/**
 * A local customer (a `users` row, as a Wispro sync leaves it) with a name, email, phone and address
 * of its own unless given: every call is a different customer. Returns its id.
 */
export async function addUser(p: Pick<TestPuente, 'ctx'>, u: Partial<LocalUser> = {}): Promise<number> {
  n++;
  const row = {
    name: `Cliente Prueba${n} Gómez`,
    email: `local${n}@puente.test`,
    phone: `+58414000${String(n).padStart(4, '0')}`,
    address: `Calle ${n}`,
    city: 'Caracas',
    state: 'Distrito Capital',
    ...u,
  };
  const [r] = await p.ctx.db.query<{ id: number }>(
    'INSERT INTO users (name, email, phone, address, city, state) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id',
    [row.name, row.email, row.phone, row.address, row.city, row.state],
  );
  return r!.id;
}

/** Puente's WHMCS link row for a local customer, or null when it has none. */
export async function whmcsMapOf(p: Pick<TestPuente, 'ctx'>, id: number): Promise<any> {
  return (await p.ctx.db.query<any>('SELECT * FROM whmcs_sync_map WHERE laravel_id = $1', [id]))[0] ?? null;
}
