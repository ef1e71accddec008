import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { copyInTransaction, copyText, json, rows, type Executor, type Tx } from '../../platform/db/client.ts';

export interface UserRow {
  id: number;
  name: string;
  email: string | null;
  phone: string | null;
  address: string | null;
  zone: string | null;
  code: string | null;
  id_number: string | null;
  cedula_digits: string | null;
  id_wispro: string | null;
  plan_id: number | null;
  city: string | null;
  state: string | null;
  postcode: string | null;
  country: string | null;
  status: boolean;
  role: number;
  password_hash: string | null;
  must_change_password: boolean;
  created_at: Date;
  updated_at: Date;
}

/** The columns a user from Wispro is inserted into, in the order both ways of inserting send them. */
const WISPRO_USER_COLUMNS =
  'users (name, email, phone, address, zone, city, state, postcode, country, code, id_number, cedula_digits, id_wispro, must_change_password)';

/** The fields a Wispro client maps to; see wispro.mapper.ts. */
export interface NewUserFromWispro {
  name: string;
  email: string | null;
  phone: string | null;
  address: string | null;
  zone: string | null;
  city: string | null;
  state: string | null;
  postcode: string | null;
  country: string | null;
  code: string | null;
  id_number: string | null;
  cedula_digits: string | null;
  id_wispro: string;
}
export interface WisproUpdate {
  id: number;
  name: string;
  email: string | null;
  address: string | null;
  zone: string | null;
  city: string | null;
  state: string | null;
  postcode: string | null;
  country: string | null;
  id_wispro: string;
}
/**
 * A user a Wispro client may be: `profile` is `wisproProfileHash` of the user's name, email,
 * address, zone, city and state as stored (the fields a sync overwrites), so that a page's read
 * returns a short digest instead of the fields themselves.
 */
export type MatchRow = Pick<UserRow, 'id' | 'id_wispro' | 'cedula_digits' | 'postcode' | 'country'> & { profile: string };

/** The fields `wisproProfileHash` covers, in order. */
const PROFILE_FIELDS = ['name', 'email', 'address', 'zone', 'city', 'state'] as const;

/**
 * MD5 of the profile a sync overwrites: each field as its UTF-8 length, a colon and the text, or `-`
 * when null (unambiguous whatever the text holds). `profileHashSql` computes the same in the database.
 */
export function wisproProfileHash(u: Pick<UserRow, (typeof PROFILE_FIELDS)[number]>) {
  const hash = createHash('md5');
  for (const f of PROFILE_FIELDS) {
    const v = u[f];
    hash.update(v === null ? '-' : `${Buffer.byteLength(v)}:${v}`);
  }
  return hash.digest('hex');
}

const profileHashSql = sql.raw(`md5(${PROFILE_FIELDS.map((f) => `COALESCE(octet_length(u.${f}) || ':' || u.${f}, '-')`).join(' || ')})`);

export const usersRepository = {
  async findById(db: Executor, id: number) {
    const [row] = await rows<UserRow>(db, sql`SELECT * FROM users WHERE id = ${id}`);
    return row ?? null;
  },

  async findByEmail(db: Executor, email: string) {
    return rows<UserRow>(db, sql`SELECT * FROM users WHERE lower(email) = lower(${email}) ORDER BY role DESC, id LIMIT 5`);
  },

  async list(db: Executor, f: { search?: string; role?: number; limit: number; offset: number }) {
    const pattern = f.search ? `%${f.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null;
    const digits = f.search?.replace(/\D/g, '') || null;
    const where = sql`
      (${pattern}::text IS NULL OR name ILIKE ${pattern} OR email ILIKE ${pattern} OR id_number ILIKE ${pattern}
        OR zone ILIKE ${pattern} OR (${digits}::text IS NOT NULL AND cedula_digits = ${digits}))
      AND (${f.role ?? null}::int IS NULL OR role = ${f.role ?? null})`;
    const [items, [count]] = await Promise.all([
      rows<UserRow>(db, sql`SELECT * FROM users WHERE ${where} ORDER BY id LIMIT ${f.limit} OFFSET ${f.offset}`),
      rows<{ n: number }>(db, sql`SELECT count(*)::int AS n FROM users WHERE ${where}`),
    ]);
    return { items, total: count?.n ?? 0 };
  },

  async insertStaff(db: Executor, u: { name: string; email: string; role: number; passwordHash: string }) {
    const [row] = await rows<UserRow>(
      db,
      sql`
      INSERT INTO users (name, email, role, password_hash) VALUES (${u.name}, ${u.email.toLowerCase()}, ${u.role}, ${u.passwordHash})
      RETURNING *`,
    );
    return row!;
  },

  async setPassword(db: Executor, id: number, passwordHash: string) {
    await db.execute(sql`UPDATE users SET password_hash = ${passwordHash}, must_change_password = false, updated_at = now() WHERE id = ${id}`);
  },

  /**
   * Users that a page of Wispro clients may already be: by Wispro id, or, for a client whose Wispro id
   * is not yet known, by cédula digits (`d`, absent when the client has none).
   */
  async matchForWispro(db: Executor, keys: { w: string; d?: string }[]) {
    // The ids first, then each user's row once: the profile's hash is computed once per user, and a
    // re-sync (every client known by its Wispro id) probes no cédula at all. Each lookup joins the keys
    // as a set (index probes on a large table, a hash join on a small one); `= ANY` of an array built
    // by a subquery compares every row with every key when the planner scans the table, as it does on
    // a table that grew since it was last analysed (the first sync's own inserts). An OR across both
    // columns would scan the whole table per page.
    return rows<MatchRow>(
      db,
      sql`
      WITH k AS (SELECT r.w, r.d FROM jsonb_to_recordset(${json(keys)}) AS r(w text, d text)),
      ids AS (
        SELECT u.id FROM users u JOIN k ON u.id_wispro = k.w
        UNION
        SELECT u.id FROM k JOIN users u ON u.cedula_digits = k.d
        WHERE NOT EXISTS (SELECT 1 FROM users x WHERE x.id_wispro = k.w)
      )
      SELECT u.id, u.id_wispro, u.cedula_digits, u.postcode, u.country, ${profileHashSql} AS profile
      FROM users u JOIN ids ON u.id = ids.id`,
    );
  },

  /**
   * Creates users from Wispro in one statement, RETURNING id, id_wispro; a Wispro id another process
   * inserted meanwhile is left out (ON CONFLICT DO NOTHING). The cédula is their first password (see
   * the docs). A sync's batches use `copyFromWispro`; this is for its one-client-at-a-time path.
   */
  async insertFromWispro(db: Executor, users: NewUserFromWispro[]) {
    if (!users.length) return [];
    return rows<{ id: number; id_wispro: string }>(
      db,
      sql`
      INSERT INTO ${sql.raw(WISPRO_USER_COLUMNS)}
      SELECT name, email, phone, address, zone, city, state, postcode, country, code, id_number, cedula_digits, id_wispro, code IS NOT NULL
      FROM jsonb_to_recordset(${json(users)}) AS r(name text, email text, phone text, address text, zone text, city text, state text,
        postcode text, country text, code text, id_number text, cedula_digits text, id_wispro text)
      ON CONFLICT (id_wispro) WHERE id_wispro IS NOT NULL DO NOTHING
      RETURNING id, id_wispro`,
    );
  },

  /**
   * Inserts new users from Wispro with one COPY inside `tx` (see `copyInTransaction`), as
   * `insertFromWispro` would insert them, but with no conflict handling: a Wispro id that another
   * process inserted meanwhile (23505), or a value the database cannot hold, fails `tx`.
   */
  async copyFromWispro(tx: Tx, users: NewUserFromWispro[]) {
    if (!users.length) return;
    let text = '';
    for (const u of users) {
      text += `${copyText(u.name)}\t${copyText(u.email)}\t${copyText(u.phone)}\t${copyText(u.address)}\t${copyText(u.zone)}\t${copyText(u.city)}\t${copyText(u.state)}\t${copyText(u.postcode)}\t${copyText(u.country)}\t${copyText(u.code)}\t${copyText(u.id_number)}\t${copyText(u.cedula_digits)}\t${copyText(u.id_wispro)}\t${u.code === null ? 'f' : 't'}\n`;
    }
    await copyInTransaction(tx, WISPRO_USER_COLUMNS, text);
  },

  /**
   * Updates only the profile Wispro owns: name, email, the address (street, city, state) and zone; a
   * postcode or country is taken only when Wispro sends one, so a value kept locally (or pulled from
   * WHMCS) is not erased by a payload that has none. Links a Wispro id to a local user that had none.
   */
  async updateFromWispro(db: Executor, updates: WisproUpdate[]) {
    if (!updates.length) return 0;
    const updated = await rows<{ id: number }>(
      db,
      sql`
      UPDATE users u SET name = r.name, email = r.email, address = r.address, zone = r.zone, city = r.city, state = r.state,
        postcode = COALESCE(r.postcode, u.postcode), country = COALESCE(r.country, u.country),
        id_wispro = COALESCE(u.id_wispro, r.id_wispro), updated_at = now()
      FROM jsonb_to_recordset(${json(updates)}) AS r(id int, name text, email text, address text, zone text, city text, state text,
        postcode text, country text, id_wispro text)
      WHERE u.id = r.id
      RETURNING u.id`,
    );
    return updated.length;
  },

  async findByIds(db: Executor, ids: number[]) {
    if (!ids.length) return [];
    return rows<UserRow>(db, sql`SELECT * FROM users WHERE id = ANY(ARRAY(SELECT jsonb_array_elements_text(${json(ids)})::int))`);
  },

  /** Customer ids after `afterId`, in id order. */
  async customerIdsAfter(db: Executor, afterId: number, limit: number) {
    const found = await rows<{ id: number }>(db, sql`SELECT id FROM users WHERE role = 0 AND id > ${afterId} ORDER BY id LIMIT ${limit}`);
    return found.map((r) => r.id);
  },

  /** How many customers there are; with `ids`, how many of those ids are customers. */
  async countCustomers(db: Executor, ids?: number[]) {
    const [row] = ids
      ? await rows<{ n: number }>(
          db,
          sql`SELECT count(*)::int AS n FROM users WHERE role = 0 AND id = ANY(ARRAY(SELECT jsonb_array_elements_text(${json(ids)})::int))`,
        )
      : await rows<{ n: number }>(db, sql`SELECT count(*)::int AS n FROM users WHERE role = 0`);
    return row?.n ?? 0;
  },

  /** Sets the given profile columns (a pull from WHMCS); the others keep their values. */
  async updateProfile(db: Executor, id: number, cols: ProfileColumns) {
    const [row] = await rows<UserRow>(
      db,
      sql`
      UPDATE users u SET name = COALESCE(r.name, u.name), email = COALESCE(r.email, u.email), phone = COALESCE(r.phone, u.phone),
        address = COALESCE(r.address, u.address), zone = COALESCE(r.zone, u.zone), city = COALESCE(r.city, u.city),
        state = COALESCE(r.state, u.state), postcode = COALESCE(r.postcode, u.postcode), country = COALESCE(r.country, u.country),
        id_number = COALESCE(r.id_number, u.id_number), updated_at = now()
      FROM jsonb_to_record(${json(cols)}) AS r(name text, email text, phone text, address text, zone text, city text, state text,
        postcode text, country text, id_number text)
      WHERE u.id = ${id}
      RETURNING u.*`,
    );
    return row ?? null;
  },

  /** A customer created from another system's record (a pull from WHMCS); no password until one is set. */
  async insertCustomer(db: Executor, cols: ProfileColumns & { name: string }) {
    const [row] = await rows<UserRow>(
      db,
      sql`
      INSERT INTO users (name, email, phone, address, zone, city, state, postcode, country, id_number)
      SELECT r.name, r.email, r.phone, r.address, r.zone, r.city, r.state, r.postcode, r.country, r.id_number
      FROM jsonb_to_record(${json(cols)}) AS r(name text, email text, phone text, address text, zone text, city text, state text,
        postcode text, country text, id_number text)
      RETURNING *`,
    );
    return row!;
  },
};

export type ProfileColumns = Partial<Record<'name' | 'email' | 'phone' | 'address' | 'zone' | 'city' | 'state' | 'postcode' | 'country' | 'id_number', string>>;
