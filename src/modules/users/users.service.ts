import { randomBytes } from 'node:crypto';
import type { RuntimeContext } from '../../platform/context.ts';
import type { Executor, Tx } from '../../platform/db/client.ts';
import { hashPassword, needsRehash, safeEqual, verifyPassword } from '../../platform/auth/passwords.ts';
import type { Role } from '../../platform/auth/jwt.ts';
import { AppError } from '../../platform/http/errors.ts';
import { usersRepository, type NewUserFromWispro, type ProfileColumns, type UserRow, type WisproUpdate } from './users.repository.ts';

/** What the service uses. */
export type UsersDeps = Pick<RuntimeContext, 'db' | 'sessions'>;

export type { MatchRow, NewUserFromWispro, ProfileColumns, UserRow, WisproUpdate } from './users.repository.ts';
export { wisproProfileHash } from './users.repository.ts';

export const ROLE = { customer: 0, admin: 1, operator: 2 } as const;
export const roleName = (role: number): Role => (role === ROLE.admin ? 'admin' : role === ROLE.operator ? 'operator' : 'customer');

/** The public shape of a user: never the password hash. */
export function userReply(u: UserRow) {
  return {
    id: u.id,
    name: u.name,
    email: u.email,
    phone: u.phone,
    address: u.address,
    zone: u.zone,
    code: u.code,
    id_number: u.id_number,
    id_wispro: u.id_wispro,
    plan_id: u.plan_id,
    city: u.city,
    state: u.state,
    postcode: u.postcode,
    country: u.country,
    status: u.status,
    role: u.role,
    must_change_password: u.must_change_password,
    created_at: u.created_at,
    updated_at: u.updated_at,
  };
}

export class UsersService {
  readonly #ctx: UsersDeps;
  /** Verified against when no account has a hash to check, so an unknown email costs the same time as a known one. */
  #dummyHash: Promise<string> | null = null;
  constructor(ctx: UsersDeps) {
    this.#ctx = ctx;
  }

  get #db() {
    return this.#ctx.db.orm;
  }

  get(id: number, tx: Executor = this.#db) {
    return usersRepository.findById(tx, id);
  }

  /** The users with these ids, by id. */
  async getMany(ids: number[], tx: Executor = this.#db) {
    return (await usersRepository.findByIds(tx, ids)).sort((a, b) => a.id - b.id);
  }

  /** Customer ids after `afterId`, in id order (for jobs that walk every customer). */
  customerIdsAfter(afterId: number, limit: number, tx: Executor = this.#db) {
    return usersRepository.customerIdsAfter(tx, afterId, limit);
  }

  /** How many customers there are; with `ids`, how many of those ids are customers. */
  countCustomers(ids?: number[], tx: Executor = this.#db) {
    return usersRepository.countCustomers(tx, ids);
  }

  /** Sets the given profile columns (a record pulled from another system); the others keep their values. */
  updateProfile(tx: Executor, id: number, cols: ProfileColumns) {
    return usersRepository.updateProfile(tx, id, cols);
  }

  /** A customer created from another system's record; no password until one is set. */
  insertCustomer(tx: Executor, cols: ProfileColumns & { name: string }) {
    return usersRepository.insertCustomer(tx, cols);
  }

  async require(id: number) {
    const user = await this.get(id);
    if (!user) throw new AppError('users.not_found', `Usuario ${id} no encontrado / User not found`, { user_id: id });
    return user;
  }

  list(f: { search?: string; role?: number; limit: number; offset: number }) {
    return usersRepository.list(this.#db, f);
  }

  /** Creates a staff account, or reports that the email is taken. */
  async createStaff(u: { name: string; email: string; password: string; role: 'admin' | 'operator' }) {
    if (u.password.length < 8)
      throw new AppError('users.password_too_short', 'La contraseña debe tener al menos 8 caracteres / Password must have at least 8 characters', {
        min_length: 8,
      });
    const existing = await usersRepository.findByEmail(this.#db, u.email);
    if (existing.some((e) => e.role !== ROLE.customer))
      throw new AppError('users.email_taken', `Ya existe una cuenta con el email ${u.email} / An account with this email already exists`, { email: u.email });
    return usersRepository.insertStaff(this.#db, { name: u.name, email: u.email, role: ROLE[u.role], passwordHash: await hashPassword(u.password) });
  }

  /** The ADMIN_EMAIL account exists after start-up; an existing one keeps the password it has. */
  async ensureAdmin(email: string, password: string) {
    const existing = await usersRepository.findByEmail(this.#db, email);
    if (existing.some((e) => e.role === ROLE.admin)) return null;
    return this.createStaff({ name: 'Administrador', email, password, role: 'admin' });
  }

  /**
   * Email and password. A customer created by the Wispro sync has no hash yet: until they choose a
   * password, their cédula (`code`) is the password, compared in constant time.
   */
  async authenticate(email: string, password: string): Promise<UserRow> {
    let hashed = false;
    for (const user of await usersRepository.findByEmail(this.#db, email)) {
      if (!user.status) continue;
      if (user.password_hash) {
        hashed = true;
        if (!(await verifyPassword(password, user.password_hash))) continue;
        if (needsRehash(user.password_hash)) await usersRepository.setPassword(this.#db, user.id, await hashPassword(password));
        return user;
      }
      if (user.must_change_password && user.code && safeEqual(password, user.code)) return user;
    }
    if (!hashed) await verifyPassword(password, await (this.#dummyHash ??= hashPassword(randomBytes(16).toString('hex'))));
    throw new AppError('auth.invalid_credentials', 'Credenciales inválidas / Invalid credentials');
  }

  /** The accounts an email may belong to (login throttling asks where the person has logged in from). */
  async idsByEmail(email: string) {
    return (await usersRepository.findByEmail(this.#db, email)).map((u) => u.id);
  }

  async changePassword(id: number, current: string, next: string) {
    const user = await this.require(id);
    const ok = user.password_hash ? await verifyPassword(current, user.password_hash) : !!user.code && safeEqual(current, user.code);
    if (!ok) throw new AppError('auth.wrong_password', 'La contraseña actual no coincide / Current password does not match');
    if (next.length < 8)
      throw new AppError('users.password_too_short', 'La contraseña nueva debe tener al menos 8 caracteres / New password must have at least 8 characters', {
        min_length: 8,
      });
    await usersRepository.setPassword(this.#db, id, await hashPassword(next));
  }

  /** Sets a password without asking for the current one (admin tooling and the demo). */
  async resetPassword(id: number, password: string) {
    await usersRepository.setPassword(this.#db, id, await hashPassword(password));
    await this.#ctx.sessions.revokeUser(id, 'password reset');
  }

  matchForWispro(tx: Executor, keys: { w: string; d?: string }[]) {
    return usersRepository.matchForWispro(tx, keys);
  }

  insertFromWispro(tx: Executor, users: NewUserFromWispro[]) {
    return usersRepository.insertFromWispro(tx, users);
  }

  updateFromWispro(tx: Executor, updates: WisproUpdate[]) {
    return usersRepository.updateFromWispro(tx, updates);
  }

  /** See `usersRepository.copyFromWispro`: new users with one COPY in a sync batch's transaction. */
  copyFromWispro(tx: Tx, users: NewUserFromWispro[]) {
    return usersRepository.copyFromWispro(tx, users);
  }
}
