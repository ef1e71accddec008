import pg from 'pg';

/** The server's maintenance database, where benchmarks create and drop their own. */
const ADMIN_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** One statement on its own connection (CREATE/DROP DATABASE cannot run in a pool's transaction). */
async function adminQuery(text: string) {
  const c = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
}

/**
 * A new, empty PostgreSQL database for one run when `mode` is `postgres` (`url` is null for the
 * embedded database); `drop()` removes it.
 */
export async function benchDatabase(mode: string, prefix: string) {
  const name = `${prefix}_${Date.now()}`;
  if (mode !== 'postgres') return { name, url: null, drop: async () => {} };
  await adminQuery(`CREATE DATABASE ${name}`);
  return {
    name,
    url: ADMIN_DATABASE_URL.replace(/\/postgres$/, `/${name}`),
    drop: () => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}
