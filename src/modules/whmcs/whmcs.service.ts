import { randomBytes } from 'node:crypto';
import type { RuntimeContext } from '../../platform/context.ts';
import type { Executor } from '../../platform/db/client.ts';
import { AppError, UpstreamError } from '../../platform/http/errors.ts';
import type { UsersService, UserRow } from '../users/users.service.ts';
import { WhmcsApiError, WhmcsClient, isDuplicateEmail, isFieldError, type CallSink, type WhmcsClientDetails } from './whmcs.client.ts';
import { fromWhmcs, loadMapping, toWhmcs, userColumns, type ClientMapping } from './whmcs.mapper.ts';
import { whmcsRepository, type MapUpdate, type SyncLogInput, type SyncMapRow } from './whmcs.repository.ts';

/** What the service uses. */
export type WhmcsDeps = Pick<RuntimeContext, 'db' | 'bus' | 'logger' | 'config'> & { users: UsersService };

export const CACHE_INVALIDATE = 'whmcs:cache-invalidate';
const CLIENT = 'client';

/** What happened to one user in a push (single or bulk). */
export type PushOutcome =
  | { user_id: number; outcome: 'created'; whmcs_id: number; sync_map_id: number }
  | { user_id: number; outcome: 'updated'; whmcs_id: number; sync_map_id: number }
  | { user_id: number; outcome: 'conflict'; whmcs_id: number; message: string; linked_to?: number }
  | { user_id: number; outcome: 'invalid'; missing: string[]; message: string }
  | { user_id: number; outcome: 'skipped'; reason: 'no_email'; message: string }
  | { user_id: number; outcome: 'error'; error: UpstreamError | AppError; message: string };

export interface PushOptions {
  forceCreate?: boolean;
  jobId?: string | null;
  signal?: AbortSignal;
  /** Waits for a slot before each WHMCS call (bulk pushes are paced). */
  pace?: () => Promise<void>;
  concurrency?: number;
}

/** One `pushMany`: what it was asked, the map rows it read, and what it has decided so far. */
interface PushRun {
  audit: Audit;
  opts: PushOptions;
  maps: Map<number, SyncMapRow>;
  outcomes: Map<number, PushOutcome>;
  /** Map rows written when the batch ends, with the audit log, in one transaction. */
  finals: MapUpdate[];
  toCreate: { user: UserRow; fields: Record<string, string>; map: SyncMapRow | undefined }[];
}

/** 'YYYY-MM-DD HH:MM:SS' (UTC), the seed's format for `last_synced_at`. */
export const seedTime = (d: Date | null) => (d ? d.toISOString().slice(0, 19).replace('T', ' ') : null);

class TtlCache {
  readonly #entries = new Map<string, { value: unknown; expires: number }>();
  readonly #ttlMs: number;
  constructor(ttlMs: number) {
    this.#ttlMs = ttlMs;
  }
  get<T>(key: string): T | undefined {
    const e = this.#entries.get(key);
    if (!e) return undefined;
    if (e.expires < Date.now()) return void this.#entries.delete(key);
    return e.value as T;
  }
  set(key: string, value: unknown) {
    if (this.#entries.size > 10_000) this.#entries.clear();
    this.#entries.set(key, { value, expires: Date.now() + this.#ttlMs });
  }
  clear() {
    this.#entries.clear();
  }
}

/** Collects a user's WHMCS calls as log rows; written with the map rows, in one transaction. */
class Audit {
  readonly entries: SyncLogInput[] = [];
  readonly #ctx: Pick<RuntimeContext, 'config'>;
  readonly #jobId: string | null;
  constructor(ctx: Pick<RuntimeContext, 'config'>, jobId: string | null = null) {
    this.#ctx = ctx;
    this.#jobId = jobId;
  }
  sink(operation: string, laravelId: number | null, whmcsId: number | null = null): CallSink {
    const c = this.#ctx.config;
    return (call) => {
      if (!c.WHMCS_LOG_ENABLED) return;
      // AddClient/UpdateClient answer `clientid`; GetClientsDetails `client.id` (and `userid` on old installs).
      const reply = call.response as { clientid?: unknown; userid?: unknown; client?: { id?: unknown } } | null;
      const replyId = Number(reply?.clientid ?? reply?.client?.id ?? reply?.userid);
      this.entries.push({
        entity_type: CLIENT,
        laravel_id: laravelId,
        whmcs_id: whmcsId ?? (Number.isInteger(replyId) ? replyId : null),
        operation,
        action: call.action,
        status: call.status,
        request_data: c.WHMCS_LOG_REQUESTS ? call.request : null,
        response_data: c.WHMCS_LOG_RESPONSES ? call.response : null,
        error_message: call.error,
        duration_ms: Math.round(call.durationMs * 100) / 100,
        job_id: this.#jobId,
      });
    };
  }
  async write(tx: Executor) {
    await whmcsRepository.insertLogs(tx, this.entries.splice(0));
  }
}

/** The WHMCS link: push, update, pull, link, check and unlink clients, with a map and an audit log. */
export class WhmcsService {
  readonly client: WhmcsClient;
  readonly mapping: ClientMapping;
  readonly #ctx: WhmcsDeps;
  readonly #cache: TtlCache;

  constructor(ctx: WhmcsDeps) {
    this.#ctx = ctx;
    const c = ctx.config;
    this.mapping = loadMapping(c);
    this.#cache = new TtlCache(c.WHMCS_CACHE_TTL_SECONDS * 1000);
    this.client = new WhmcsClient({
      baseUrl: c.WHMCS_API_URL,
      identifier: c.WHMCS_API_IDENTIFIER,
      secret: c.WHMCS_API_SECRET,
      accessKey: c.WHMCS_API_ACCESS_KEY,
      timeoutMs: c.WHMCS_API_TIMEOUT * 1000,
      logger: ctx.logger,
    });
  }

  get #db() {
    return this.#ctx.db.orm;
  }

  get #users() {
    return this.#ctx.users;
  }

  /**
   * Up to `limit` customers after `afterId` (by id) with no WHMCS link yet, or whose last push failed.
   * Customers come from the users module; which of them are linked, from the map.
   */
  async unlinkedCustomers(afterId: number, limit: number): Promise<number[]> {
    const found: number[] = [];
    for (let cursor = afterId; ; ) {
      const ids = await this.#users.customerIdsAfter(cursor, limit);
      if (!ids.length) return found;
      const linked = await whmcsRepository.linkedAmong(this.#db, CLIENT, ids);
      for (const id of ids) {
        if (linked.has(id)) continue;
        found.push(id);
        if (found.length === limit) return found;
      }
      cursor = ids[ids.length - 1]!;
    }
  }

  async countUnlinkedCustomers() {
    return (await this.#users.countCustomers()) - (await this.#users.countCustomers(await whmcsRepository.linkedIds(this.#db, CLIENT)));
  }

  /** 503 unless the link is enabled and configured. */
  ensureAvailable() {
    if (!this.#ctx.config.WHMCS_ENABLED)
      throw new AppError('whmcs.disabled', 'La integración con WHMCS está desactivada (WHMCS_ENABLED=false) / The WHMCS link is disabled');
    if (!this.client.configured)
      throw new AppError('whmcs.not_configured', 'WHMCS no está configurado (WHMCS_API_URL, WHMCS_API_IDENTIFIER, WHMCS_API_SECRET) / WHMCS is not configured');
  }

  forgetCache() {
    this.#cache.clear();
  }

  async #invalidate() {
    this.#cache.clear();
    await this.#ctx.bus.publish(CACHE_INVALIDATE, {}).catch(() => {});
  }

  #cached<T>(key: string): T | undefined {
    return this.#ctx.config.WHMCS_CACHE_ENABLED ? this.#cache.get<T>(key) : undefined;
  }

  #remember(key: string, value: unknown) {
    if (this.#ctx.config.WHMCS_CACHE_ENABLED) this.#cache.set(key, value);
  }

  async #writeLogs(audit: Audit) {
    if (audit.entries.length) await this.#db.transaction((tx) => audit.write(tx));
  }

  /** A log row for a change made only in Puente (a link, an unlink, a pulled record stored): no WHMCS call. */
  async #logLocal(
    tx: Executor,
    e: Pick<SyncLogInput, 'laravel_id' | 'whmcs_id' | 'operation' | 'action'> & Partial<Pick<SyncLogInput, 'entity_type' | 'response_data'>>,
  ) {
    if (!this.#ctx.config.WHMCS_LOG_ENABLED) return;
    await whmcsRepository.insertLogs(tx, [
      {
        entity_type: CLIENT,
        response_data: null,
        ...e,
        status: 'success',
        request_data: null,
        error_message: null,
        duration_ms: 0,
        job_id: null,
      },
    ]);
  }

  /** A local client links to one WHMCS client and a WHMCS client to one local client: 409 otherwise. */
  async #ensureLinkable(tx: Executor, localId: number, whmcsId: number) {
    const own = await whmcsRepository.find(tx, CLIENT, localId);
    if (own?.whmcs_id && own.whmcs_id !== whmcsId)
      throw new AppError(
        'whmcs.local_already_linked',
        `El cliente local ${localId} ya está vinculado al cliente WHMCS ${own.whmcs_id}; desvincúlelo primero / The local client is already linked to another WHMCS client; unlink it first`,
        { local_id: localId, whmcs_id: own.whmcs_id },
      );
    const other = await whmcsRepository.findByWhmcsId(tx, CLIENT, whmcsId);
    if (other && other.laravel_id !== localId)
      throw new AppError(
        'whmcs.already_linked',
        `El cliente WHMCS ${whmcsId} ya está vinculado al cliente local ${other.laravel_id} / The WHMCS client is already linked to another local client`,
        { whmcs_id: whmcsId, linked_to: other.laravel_id },
      );
  }

  async testConnection() {
    const audit = new Audit(this.#ctx);
    const started = performance.now();
    try {
      const whmcs = await this.client.details(audit.sink('test', null));
      return { version: whmcs.version, canonical: whmcs.canonicalversion, ms: Math.round(performance.now() - started) };
    } finally {
      await this.#writeLogs(audit);
    }
  }

  async #requireUser(id: number) {
    const user = await this.#users.get(id);
    if (!user) throw new AppError('whmcs.customer_not_found', `Cliente local ${id} no encontrado / Local client ${id} not found`, { local_id: id });
    return user;
  }

  /** `POST /clients/push/{id}`: one user through the same path as the bulk job. */
  async pushOne(localId: number, forceCreate: boolean) {
    const user = await this.#requireUser(localId);
    const [result] = await this.pushMany([user], { forceCreate });
    const r = result!;
    if (r.outcome === 'created' || r.outcome === 'updated') return r;
    throw outcomeError(r, localId, user.email);
  }

  /**
   * Pushes users to WHMCS. Linked users are updated (unless `forceCreate`). For the others the checks
   * run in this order: a customer with no email is skipped (WHMCS keys clients by email, and there is
   * nothing to look up); then the email is looked up, so a client WHMCS already has is reported (409)
   * before anything else — an operator links it instead of completing fields for a record that will
   * not be created; then missing required fields (422); then AddClient. Before AddClient the map row
   * is marked `pending/creating` and committed: if the process dies before the answer is recorded, the
   * next push finds the email in WHMCS, sees the mark, and links the record it created.
   */
  async pushMany(users: UserRow[], opts: PushOptions = {}): Promise<PushOutcome[]> {
    const maps = new Map(
      (
        await whmcsRepository.findMany(
          this.#db,
          CLIENT,
          users.map((u) => u.id),
        )
      ).map((m) => [m.laravel_id, m]),
    );
    const run: PushRun = { audit: new Audit(this.#ctx, opts.jobId ?? null), opts, maps, outcomes: new Map(), finals: [], toCreate: [] };
    await pool(users, opts.concurrency ?? 1, (user) => this.#examine(run, user));
    if (run.toCreate.length) await this.#createAll(run);
    if (run.outcomes.size && [...run.outcomes.values()].some((o) => o.outcome === 'updated')) await this.#invalidate();
    const written = await this.#db.transaction(async (tx) => {
      await this.#keepLinksOneToOne(tx, run.finals, run.outcomes);
      const rowsWritten = await whmcsRepository.upsert(tx, CLIENT, run.finals);
      await run.audit.write(tx);
      return rowsWritten;
    });
    const mapIds = new Map(written.map((r) => [r.laravel_id, r.id]));
    return users.map((u) => {
      const o = run.outcomes.get(u.id)!;
      return o.outcome === 'created' || o.outcome === 'updated' ? { ...o, sync_map_id: mapIds.get(u.id) ?? 0 } : o;
    });
  }

  /** A WHMCS call of a push, after its pacing slot. */
  async #paced<T>(run: PushRun, fn: () => Promise<T>) {
    await run.opts.pace?.();
    return fn();
  }

  #failed(run: PushRun, user: UserRow, err: unknown, map: SyncMapRow | undefined, keepPending: boolean): PushOutcome {
    const error = err instanceof AppError ? err : new UpstreamError('WHMCS', (err as Error).message);
    run.finals.push({
      laravel_id: user.id,
      whmcs_id: null,
      sync_status: 'error',
      pending_action: keepPending ? 'creating' : (map?.pending_action ?? null),
      last_error: error.message,
    });
    return { user_id: user.id, outcome: 'error', error, message: error.message };
  }

  /** A linked user is updated; any other is skipped, reported or queued for AddClient (see `pushMany`). */
  async #examine(run: PushRun, user: UserRow) {
    const { opts, outcomes, finals } = run;
    opts.signal?.throwIfAborted();
    const map = run.maps.get(user.id);
    const { fields, missing } = toWhmcs(user, this.mapping);
    if (map?.whmcs_id && !opts.forceCreate) {
      try {
        const id = await this.#paced(run, () => this.client.updateClient(map.whmcs_id!, fields, run.audit.sink('update', user.id, map.whmcs_id)));
        finals.push({ laravel_id: user.id, whmcs_id: id, sync_status: 'synced', pending_action: null, last_error: null });
        outcomes.set(user.id, { user_id: user.id, outcome: 'updated', whmcs_id: id, sync_map_id: 0 });
      } catch (err) {
        outcomes.set(user.id, this.#failed(run, user, this.#updateError(err, map.whmcs_id), map, false));
      }
      return;
    }
    if (!fields.email) return void outcomes.set(user.id, withoutEmail(user));
    try {
      const existing = await this.#paced(run, () => this.client.getClient({ email: fields.email }, run.audit.sink('push', user.id), opts.signal));
      if (existing && map?.pending_action === 'creating') {
        // Created by an earlier attempt whose answer was lost: link it, do not report a duplicate.
        finals.push({ laravel_id: user.id, whmcs_id: existing.id, sync_status: 'synced', pending_action: null, last_error: null });
        outcomes.set(user.id, { user_id: user.id, outcome: 'created', whmcs_id: existing.id, sync_map_id: 0 });
      } else if (existing) {
        outcomes.set(user.id, duplicate(user.id, fields.email, existing.id));
      } else if (missing.length) {
        const message = `Faltan campos que WHMCS exige: ${missing.join(', ')} — complételos en el cliente o configure WHMCS_DEFAULT_* / Missing fields WHMCS requires`;
        outcomes.set(user.id, { user_id: user.id, outcome: 'invalid', missing, message });
      } else {
        run.toCreate.push({ user, fields, map });
      }
    } catch (err) {
      outcomes.set(user.id, this.#failed(run, user, err, map, false));
    }
  }

  /** AddClient for each queued user, after marking them all `pending/creating` (committed first). */
  async #createAll(run: PushRun) {
    const { opts, outcomes, finals } = run;
    await whmcsRepository.upsert(
      this.#db,
      CLIENT,
      run.toCreate.map(({ user }) => ({ laravel_id: user.id, whmcs_id: null, sync_status: 'pending', pending_action: 'creating', last_error: null })),
    );
    let created = false;
    await pool(run.toCreate, opts.concurrency ?? 1, async ({ user, fields, map }) => {
      try {
        const password2 = randomBytes(18).toString('base64url');
        const id = await this.#paced(run, () =>
          this.client.addClient({ ...fields, password2 }, run.audit.sink('push', user.id), opts.signal, {
            welcomeEmail: this.#ctx.config.WHMCS_SEND_WELCOME_EMAIL,
          }),
        );
        created = true;
        finals.push({ laravel_id: user.id, whmcs_id: id, sync_status: 'synced', pending_action: null, last_error: null });
        outcomes.set(user.id, { user_id: user.id, outcome: 'created', whmcs_id: id, sync_map_id: 0 });
      } catch (err) {
        if (err instanceof WhmcsApiError && isDuplicateEmail(err.message)) {
          // Someone created it between our lookup and AddClient: the same 409 as a lookup hit.
          const existing = await this.client.getClient({ email: fields.email }, run.audit.sink('push', user.id)).catch(() => null);
          finals.push({ laravel_id: user.id, whmcs_id: null, sync_status: 'error', pending_action: null, last_error: err.message });
          outcomes.set(user.id, duplicate(user.id, fields.email!, existing?.id ?? 0));
        } else if (err instanceof WhmcsApiError && isFieldError(err.message)) {
          finals.push({ laravel_id: user.id, whmcs_id: null, sync_status: 'error', pending_action: null, last_error: err.message });
          outcomes.set(user.id, { user_id: user.id, outcome: 'invalid', missing: [], message: `WHMCS rechazó los datos: ${err.message}` });
        } else {
          // Unknown outcome (timeout, reset): the mark stays, so a retry links instead of duplicating.
          outcomes.set(user.id, this.#failed(run, user, err, map, true));
        }
      }
    });
    if (created) await this.#invalidate();
  }

  /**
   * A WHMCS client already linked to another local customer (an earlier attempt's mark that resolves
   * to someone else's client, two customers sharing an email): the link is refused as a 409 outcome
   * and the row keeps no WHMCS id, instead of the unique index failing the whole batch with a 500.
   */
  async #keepLinksOneToOne(tx: Executor, finals: MapUpdate[], outcomes: Map<number, PushOutcome>) {
    const ids = finals.flatMap((f) => (f.whmcs_id ? [f.whmcs_id] : []));
    if (!ids.length) return;
    const owner = new Map((await whmcsRepository.linkedLocalIds(tx, CLIENT, ids)).map((l) => [l.whmcs_id, l.laravel_id]));
    for (const f of finals) {
      if (!f.whmcs_id) continue;
      const other = owner.get(f.whmcs_id);
      if (other === undefined) owner.set(f.whmcs_id, f.laravel_id);
      else if (other !== f.laravel_id) {
        const message = `El cliente WHMCS ${f.whmcs_id} ya está vinculado al cliente local ${other}; no se vinculó también al ${f.laravel_id} / The WHMCS client is already linked to another local client`;
        outcomes.set(f.laravel_id, { user_id: f.laravel_id, outcome: 'conflict', whmcs_id: f.whmcs_id, linked_to: other, message });
        Object.assign(f, { whmcs_id: null, sync_status: 'error', pending_action: null, last_error: message });
      }
    }
  }

  #updateError(err: unknown, whmcsId: number) {
    if (err instanceof WhmcsApiError && /client id not found|client not found/i.test(err.message)) {
      return new AppError(
        'whmcs.client_gone',
        `El cliente WHMCS ${whmcsId} ya no existe (${err.message}); desvincúlelo y vuelva a enviarlo / The WHMCS client no longer exists`,
        { whmcs_id: whmcsId },
      );
    }
    if (err instanceof WhmcsApiError && isDuplicateEmail(err.message))
      return new AppError(
        'whmcs.email_in_use',
        `WHMCS: ${err.message} — otro cliente de WHMCS ya usa ese email / another WHMCS client already uses that email`,
        { whmcs_id: whmcsId },
      );
    if (err instanceof WhmcsApiError)
      return new AppError('whmcs.rejected', `WHMCS rechazó la actualización: ${err.message} / WHMCS refused the update`, { whmcs_id: whmcsId });
    return err;
  }

  /** `POST /clients/update/{id}`: sends the user's current data to the linked WHMCS client. */
  async updateOne(localId: number) {
    const user = await this.#requireUser(localId);
    const map = await whmcsRepository.find(this.#db, CLIENT, localId);
    if (!map?.whmcs_id)
      throw new AppError('whmcs.not_linked', `El cliente ${localId} no está vinculado con WHMCS; envíelo primero (push) / Not linked to WHMCS yet`, {
        local_id: localId,
      });
    const [r] = await this.pushMany([user]);
    if (r!.outcome === 'updated' || r!.outcome === 'created') return r!;
    throw outcomeError(r!, localId, user.email);
  }

  /** A WHMCS client by id, from the cache when fresh; 404 on `Client Not Found`. */
  async #fetchClient(whmcsId: number, audit: Audit, laravelId: number | null): Promise<WhmcsClientDetails> {
    const key = `client:${whmcsId}`;
    const hit = this.#cached<WhmcsClientDetails>(key);
    if (hit) return hit;
    const client = await this.client.getClient({ clientid: whmcsId }, audit.sink('pull', laravelId, whmcsId));
    if (!client) throw whmcsClientNotFound(whmcsId);
    this.#remember(key, client);
    return client;
  }

  /**
   * `POST /clients/pull/{whmcs_id}`: brings a WHMCS client into the local user `localId`, into the
   * user already linked to it, or into a new local customer; and links the two.
   */
  async pull(whmcsId: number, localId: number | undefined) {
    const audit = new Audit(this.#ctx);
    let client: WhmcsClientDetails;
    try {
      client = await this.#fetchClient(whmcsId, audit, localId ?? null);
    } finally {
      await this.#writeLogs(audit);
    }
    const data = fromWhmcs(client, this.mapping);
    const cols = userColumns(data);
    const result = await this.#db.transaction(async (tx) => {
      let user: UserRow | null;
      let operation: 'created' | 'updated';
      const byWhmcs = localId === undefined ? await whmcsRepository.findByWhmcsId(tx, CLIENT, whmcsId) : null;
      if (localId !== undefined) {
        if (!(await this.#users.get(localId, tx)))
          throw new AppError('whmcs.customer_not_found', `Cliente local ${localId} no encontrado / Local client not found`, { local_id: localId });
        await this.#ensureLinkable(tx, localId, whmcsId);
        user = await this.#users.updateProfile(tx, localId, cols);
        operation = 'updated';
      } else if (byWhmcs) {
        user = await this.#users.updateProfile(tx, byWhmcs.laravel_id, cols);
        operation = 'updated';
      } else {
        user = await this.#users.insertCustomer(tx, { ...cols, name: cols.name || client.email || `WHMCS ${whmcsId}` });
        operation = 'created';
      }
      const [map] = await whmcsRepository.upsert(tx, CLIENT, [
        { laravel_id: user!.id, whmcs_id: whmcsId, sync_status: 'synced', pending_action: null, last_error: null },
      ]);
      await this.#logLocal(tx, {
        laravel_id: user!.id,
        whmcs_id: whmcsId,
        operation: 'pull',
        action: operation === 'created' ? 'local.create' : 'local.update',
        response_data: { laravel_data: data },
      });
      return { user: user!, map: map!, operation };
    });
    return { client, data, ...result };
  }

  async list(q: { offset: number; limit: number; search?: string }) {
    const key = `list:${q.offset}:${q.limit}:${q.search ?? ''}`;
    let page = this.#cached<{ total: number; clients: Record<string, unknown>[] }>(key);
    const cached = page !== undefined;
    if (!page) {
      const audit = new Audit(this.#ctx);
      try {
        page = await this.client.getClients(q, audit.sink('list', null));
      } finally {
        await this.#writeLogs(audit);
      }
      this.#remember(key, page);
    }
    const links = new Map(
      (
        await whmcsRepository.linkedLocalIds(
          this.#db,
          CLIENT,
          page.clients.map((c) => Number(c.id)),
        )
      ).map((l) => [l.whmcs_id, l.laravel_id]),
    );
    return { total: page.total, cached, clients: page.clients.map((c) => ({ ...c, id: c.id as number | string, local_id: links.get(Number(c.id)) ?? null })) };
  }

  /** The map rows of these local clients (local data only: answers while WHMCS is down or disabled). */
  links(localIds: number[]) {
    return whmcsRepository.findMany(this.#db, CLIENT, localIds);
  }

  /** The map row, and when linked whether WHMCS still has the client (a missing one marks the row). */
  async check(localId: number) {
    await this.#requireUser(localId);
    let map = await whmcsRepository.find(this.#db, CLIENT, localId);
    let exists: boolean | null = null;
    let remoteError: string | null = null;
    if (map?.whmcs_id && this.#ctx.config.WHMCS_ENABLED && this.client.configured) {
      const audit = new Audit(this.#ctx);
      try {
        exists = (await this.client.getClient({ clientid: map.whmcs_id }, audit.sink('check', localId, map.whmcs_id))) !== null;
        if (!exists) {
          const [marked] = await whmcsRepository.upsert(this.#db, CLIENT, [
            {
              laravel_id: localId,
              whmcs_id: map.whmcs_id,
              sync_status: 'error',
              pending_action: null,
              last_error: `Client Not Found: el cliente WHMCS ${map.whmcs_id} ya no existe`,
            },
          ]);
          map = marked ?? map;
        }
      } catch (err) {
        remoteError = (err as Error).message;
      } finally {
        await this.#writeLogs(audit);
      }
    }
    return { map: map ?? null, exists, remoteError };
  }

  /** Links a local user with an existing WHMCS client on purpose (after a 409 on push). */
  async link(localId: number, whmcsId: number) {
    await this.#requireUser(localId);
    const audit = new Audit(this.#ctx);
    let client: WhmcsClientDetails | null;
    try {
      client = await this.client.getClient({ clientid: whmcsId }, audit.sink('link', localId, whmcsId));
    } finally {
      await this.#writeLogs(audit);
    }
    if (!client) throw whmcsClientNotFound(whmcsId);
    return this.#db.transaction(async (tx) => {
      await this.#ensureLinkable(tx, localId, whmcsId);
      const [map] = await whmcsRepository.upsert(tx, CLIENT, [
        { laravel_id: localId, whmcs_id: whmcsId, sync_status: 'synced', pending_action: null, last_error: null },
      ]);
      await this.#logLocal(tx, { laravel_id: localId, whmcs_id: whmcsId, operation: 'link', action: 'map.link' });
      return { map: map!, client: client! };
    });
  }

  async unlink(entityType: string, localId: number) {
    return this.#db.transaction(async (tx) => {
      const removed = await whmcsRepository.remove(tx, entityType, localId);
      if (!removed)
        throw new AppError('whmcs.link_not_found', `El ${entityType} ${localId} no está vinculado con WHMCS / Not linked`, {
          entity_type: entityType,
          local_id: localId,
        });
      await this.#logLocal(tx, { entity_type: entityType, laravel_id: localId, whmcs_id: removed.whmcs_id, operation: 'unlink', action: 'map.unlink' });
      return removed;
    });
  }

  logs(f: Parameters<typeof whmcsRepository.logs>[1]) {
    return whmcsRepository.logs(this.#db, f);
  }

  stats() {
    return whmcsRepository.stats(this.#db);
  }

  mapFor(localIds: number[]) {
    return whmcsRepository.findMany(this.#db, CLIENT, localIds);
  }
}

/** Said in terms of the customer: the operator fixes the customer, not a WHMCS field. */
function withoutEmail(user: UserRow): PushOutcome {
  return {
    user_id: user.id,
    outcome: 'skipped',
    reason: 'no_email',
    message: `El cliente ${user.id} (${user.name}) no tiene email y WHMCS exige uno para crear el cliente; agréguelo en Wispro o en Puente y vuelva a enviarlo / Customer ${user.id} has no email, which WHMCS requires`,
  };
}

function duplicate(userId: number, email: string, whmcsId: number): PushOutcome {
  return {
    user_id: userId,
    outcome: 'conflict',
    whmcs_id: whmcsId,
    message: `Ya existe un cliente en WHMCS con el email ${email} (id ${whmcsId}); no se creó un duplicado. Vincúlelos con POST /api/whmcs/sync/link / Client already exists`,
  };
}

/** Runs `fn` over `items` with at most `concurrency` at a time. */
async function pool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

const whmcsClientNotFound = (whmcsId: number) =>
  new AppError('whmcs.client_not_found', `Cliente WHMCS ${whmcsId} no encontrado (Client Not Found) / WHMCS client not found`, { whmcs_id: whmcsId });

/** The error a push or an update answers for an outcome that did not reach WHMCS (or that WHMCS refused). */
function outcomeError(r: Exclude<PushOutcome, { outcome: 'created' | 'updated' }>, localId: number, email: string | null): AppError {
  switch (r.outcome) {
    case 'conflict':
      return r.linked_to !== undefined
        ? new AppError('whmcs.already_linked', r.message, { whmcs_id: r.whmcs_id, linked_to: r.linked_to })
        : new AppError('whmcs.email_exists', r.message, {
            whmcs_id: r.whmcs_id,
            email,
            link_with: { method: 'POST', path: '/api/whmcs/sync/link', body: { entity_type: CLIENT, laravel_id: localId, whmcs_id: r.whmcs_id } },
          });
    case 'skipped':
      return new AppError('whmcs.customer_without_email', r.message, { local_id: localId, missing_fields: ['email'] }, { missing: ['email'] });
    case 'invalid':
      return new AppError('whmcs.missing_fields', r.message, { local_id: localId, missing_fields: r.missing }, { missing: r.missing });
    case 'error':
      return r.error;
  }
}
