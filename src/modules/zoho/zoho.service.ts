import type { RuntimeContext } from '../../platform/context.ts';
import { scheduleTimeZone } from '../../platform/config.ts';
import { safeEqual } from '../../platform/auth/passwords.ts';
import { ZohoClient, parseZohoTimestamp, type ItemsQuery, type ZohoItem } from './zoho.client.ts';
import { zohoRepository as repo, type ProductInput } from './zoho.repository.ts';

/** What the service uses. */
export type ZohoDeps = Pick<RuntimeContext, 'db' | 'bus' | 'logger' | 'config' | 'jobs' | 'secrets'>;

export type CodeSyncOutcome = 'initialized' | 'rotated' | 'unchanged' | 'no_records';
const OVERLAP_MS = 5 * 60_000;
const CODES_CACHE_MS = 1000;
type ActiveCodes = { id: number; zoho_code: string }[];
/** Unseen products the reconciliation checks one by one (each is one Zoho call). */
const MAX_UNSEEN_CHECKED = 500;
export const CODES_CHANGED = 'zoho:codes-changed';

/** The seed's ZohoCodeService and product sync, on Puente's database. */
export class ZohoService {
  readonly #ctx: ZohoDeps;
  readonly client: ZohoClient;
  #active: { codes: ActiveCodes; at: number } | null = null;
  /** The read of the active codes in flight, shared by the logins that need it meanwhile. */
  #reading: Promise<ActiveCodes> | null = null;
  /** Bumped when the codes are forgotten: a read started before then does not fill the cache. */
  #generation = 0;

  constructor(ctx: ZohoDeps) {
    this.#ctx = ctx;
    this.client = new ZohoClient(ctx);
  }

  /** Drops the cached active codes (every process hears of a rotation on the event bus). */
  forgetActiveCodes() {
    this.#active = null;
    this.#reading = null;
    this.#generation++;
  }

  get #db() {
    return this.#ctx.db.orm;
  }

  /**
   * Used by `POST /auth/login {code}`: never calls Zoho; compares in constant time. The active codes
   * are read at most once a second, and forgotten at once when a sync changes them, so a login does
   * not wait behind the database and a rotated code stops working immediately.
   */
  async validateCode(code: string): Promise<{ id: number } | null> {
    let found: { id: number } | null = null;
    for (const row of await this.#activeCodes()) if (safeEqual(row.zoho_code, code)) found = { id: row.id };
    return found;
  }

  /** Whether the code a session was opened with is still active: checked on every use of the session. */
  async isCodeActive(id: number): Promise<boolean> {
    return (await this.#activeCodes()).some((c) => c.id === id);
  }

  async #activeCodes(): Promise<ActiveCodes> {
    if (this.#active && Date.now() - this.#active.at <= CODES_CACHE_MS) return this.#active.codes;
    if (!this.#reading) {
      const generation = this.#generation;
      const reading = repo.getActiveCodes(this.#db).then(
        (codes) => {
          if (generation === this.#generation) this.#active = { codes, at: Date.now() };
          if (this.#reading === reading) this.#reading = null;
          return codes;
        },
        (err: unknown) => {
          if (this.#reading === reading) this.#reading = null;
          throw err;
        },
      );
      this.#reading = reading;
    }
    return this.#reading;
  }

  getCurrentActiveCode() {
    return repo.getActiveCode(this.#db);
  }

  getCodeHistory(limit: number) {
    return repo.getCodeHistory(this.#db, limit);
  }

  /** Expires the active code and makes `code` active, in one transaction; nothing when it is already active. */
  async updateCode(code: string): Promise<CodeSyncOutcome> {
    const outcome = await this.#db.transaction(async (tx): Promise<CodeSyncOutcome> => {
      await repo.lockCodes(tx);
      const active = await repo.getActiveCode(tx);
      if (active && active.zoho_code === code) {
        await repo.expireAllExcept(tx, code);
        return 'unchanged';
      }
      await repo.expireAllActiveCodes(tx);
      await repo.createZohoCode(tx, code);
      return active ? 'rotated' : 'initialized';
    });
    if (outcome !== 'unchanged') {
      this.forgetActiveCodes();
      await this.#ctx.bus.publish(CODES_CHANGED, { outcome });
    }
    return outcome;
  }

  async syncCodeFromZoho(): Promise<CodeSyncOutcome> {
    const code = await this.client.currentAccessCode();
    if (code === null) {
      this.#ctx.logger.warn('Zoho no devolvió registros para el código de acceso (3100); se mantiene el código actual');
      return 'no_records';
    }
    return this.updateCode(code);
  }

  async getStats() {
    const [counts, active, lastCodeSync, lastProductSync, lastReconcile] = await Promise.all([
      repo.countCodes(this.#db),
      repo.getActiveCode(this.#db),
      this.#ctx.jobs.list({ type: 'zoho.code-sync', limit: 1, offset: 0 }),
      this.#ctx.jobs.list({ type: 'zoho.product-sync', limit: 1, offset: 0 }),
      this.#ctx.jobs.list({ type: 'zoho.product-reconcile', limit: 1, offset: 0 }),
    ]);
    const last = (j: (typeof lastCodeSync)['items'][number] | undefined) =>
      j ? { job_id: j.id, status: j.status, started_at: j.started_at, finished_at: j.finished_at, error: j.error, results: j.results } : null;
    return {
      total_codes: counts.total,
      expired_codes: counts.expired,
      active_code: active ? { id: active.id, created_at: active.created_at, age_seconds: Math.round((Date.now() - active.created_at.getTime()) / 1000) } : null,
      code_sync_interval_minutes: this.#ctx.config.ZOHO_CODE_SYNC_INTERVAL_MINUTES,
      product_sync_interval_minutes: this.#ctx.config.ZOHO_SYNC_INTERVAL_MINUTES,
      last_code_sync: last(lastCodeSync.items[0]),
      last_product_sync: last(lastProductSync.items[0]),
      product_reconcile_schedule: this.#ctx.jobs.scheduleOf('zoho.product-reconcile', scheduleTimeZone(this.#ctx.config)),
      last_product_reconcile: last(lastReconcile.items[0]),
    };
  }

  /**
   * Items modified since the newest one we hold (minus a few minutes of overlap, for clocks and
   * same-second edits), newest first (see ItemsQuery for why), or every item when `full`. Upserted by
   * item_id; inactive items are kept, inactive. An item read twice (it moved while paging) is simply
   * upserted twice.
   */
  async syncProducts(full: boolean, onPage: (p: { page: number; upserted: number }) => void, signal?: AbortSignal) {
    const newest = full ? null : await repo.maxModified(this.#db);
    const since = newest ? new Date(newest.getTime() - OVERLAP_MS) : null;
    const pass = await this.#readAll(since ? { kind: 'changed', since } : { kind: 'all' }, onPage, signal);
    return {
      mode: full || !since ? 'full' : 'incremental',
      since: since?.toISOString() ?? null,
      pages: pass.pages,
      upserted: pass.upserted,
      inactive: pass.inactive,
      invalid: pass.invalid,
    };
  }

  /**
   * The nightly full pass: re-reads every item, then asks Zoho about each product it did not see
   * (paging can miss one when an item is deleted mid-pass): one Zoho still has is upserted, one it
   * no longer has is marked `deleted` and inactive. When more than half of the catalogue went unseen,
   * something is wrong with the pass itself, and nothing is deactivated.
   */
  async reconcileProducts(onPage: (p: { page: number; upserted: number }) => void, signal?: AbortSignal) {
    const startedAt = await repo.dbNow(this.#db);
    const pass = await this.#readAll({ kind: 'all' }, onPage, signal);
    const unseen = await repo.notSyncedSince(this.#db, startedAt);
    const known = await repo.countLive(this.#db);
    const report = {
      mode: 'reconcile',
      pages: pass.pages,
      upserted: pass.upserted,
      inactive: pass.inactive,
      invalid: pass.invalid,
      unseen: unseen.length,
      still_in_zoho: 0,
      deleted: 0,
      deleted_item_ids: [] as string[],
      checked: true,
    };
    if (unseen.length > Math.max(MAX_UNSEEN_CHECKED, known / 2)) {
      this.#ctx.logger.warn({ unseen: unseen.length, known }, 'Zoho reconciliation: too many products unseen; none deactivated');
      return { ...report, checked: false };
    }
    const deleted: string[] = [];
    for (const itemId of unseen) {
      signal?.throwIfAborted();
      const item = await this.client.item(itemId, signal);
      if (item) {
        await repo.upsertProducts(this.#db, [toProduct(item)]);
        report.still_in_zoho++;
      } else deleted.push(itemId);
    }
    await repo.markDeleted(this.#db, deleted);
    return { ...report, deleted: deleted.length, deleted_item_ids: deleted.slice(0, 200) };
  }

  async #readAll(query: ItemsQuery, onPage: (p: { page: number; upserted: number }) => void, signal?: AbortSignal) {
    let page = 1,
      upserted = 0,
      invalid = 0,
      inactive = 0;
    for (;;) {
      const { items, invalid: bad, hasMore } = await this.client.items(page, query, signal);
      invalid += bad;
      const rows = items.map(toProduct);
      inactive += rows.filter((r) => !r.active).length;
      upserted += await repo.upsertProducts(this.#db, rows);
      onPage({ page, upserted });
      if (!hasMore || !items.length) break;
      page++;
    }
    return { pages: page, upserted, inactive, invalid };
  }

  listProducts(f: { search?: string; active?: boolean; limit: number; offset: number }) {
    return repo.listProducts(this.#db, f);
  }
}

function toProduct(i: ZohoItem): ProductInput {
  return {
    item_id: i.item_id,
    name: i.name,
    sku: i.sku ?? null,
    rate: i.rate ?? null,
    status: i.status,
    active: i.status === 'active',
    stock_on_hand: i.stock_on_hand ?? null,
    unit: i.unit ?? null,
    description: i.description ?? null,
    last_modified_time: parseZohoTimestamp(i.last_modified_time)?.toISOString() ?? null,
  };
}
