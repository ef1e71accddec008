import { sql } from 'drizzle-orm';
import type { Config } from '../../platform/config.ts';
import { json, type Database, type Tx } from '../../platform/db/client.ts';
import { PermanentJobError, type JobContext } from '../../platform/jobs/job-definition.ts';
import type { JobRecord } from '../../platform/jobs/jobs.repository.ts';
import type { JobsService } from '../../platform/jobs/jobs.service.ts';
import type { UsersService } from '../users/users.service.ts';
import { WisproClient, type WisproPage } from './wispro.client.ts';
import type { WisproSyncPayload } from './wispro.jobs.ts';
import {
  applyWisproPageIsolated,
  planWisproPage,
  type PageOutcome,
  type PagePlan,
  type RecordIssue,
  type RecordOutcome,
  type SyncCounters,
} from './wispro.service.ts';

const MAX_ISSUES_KEPT = 200;
/** Clients fetched ahead of the writes at most (then the fetching waits). */
const MAX_CLIENTS_AHEAD = 2000;
/** Pages asked of Wispro at once: while one reply is awaited or written, the next ones are on their way. */
const MAX_PAGES_IN_FLIGHT = 4;
/** On the embedded database, the longest a fetched page waits for its window to fill before it is written. */
const MAX_WRITE_DELAY_MS = 1000;

interface Checkpoint {
  next_page: number;
  counters: SyncCounters;
  issues: RecordIssue[];
}

export interface WisproSyncProgress extends SyncCounters {
  pages: number;
  total_pages: number;
  total_records: number;
  percentage: number;
}

/** What a Wispro sync uses. */
export interface WisproSyncDeps {
  config: Config;
  db: Database;
  users: UsersService;
  jobs: JobsService;
}

const zero = (): SyncCounters => ({ created: 0, updated: 0, unchanged: 0, skipped: 0, errors: 0 });

export function summaryLine(c: SyncCounters) {
  return `Creados: ${c.created}, Actualizados: ${c.updated} (sin cambios: ${c.unchanged}), Omitidos: ${c.skipped}, Errores: ${c.errors}`;
}

/** Progress is written a moment after each page; the checkpoint commits with the page itself. */
export async function settleLostWisproSync(job: JobRecord) {
  const saved = job.checkpoint as Checkpoint | null;
  if (!saved) return {};
  const pages = saved.next_page - 1;
  const totalPages = Number(job.progress.total_pages ?? 0);
  const progress = { ...job.progress, ...saved.counters, pages, percentage: totalPages ? Math.round((pages / totalPages) * 1000) / 10 : 0 };
  return { progress, results: { ...progress, issues: saved.issues } };
}

export async function runWisproSync({ config, db, users, jobs }: WisproSyncDeps, ctx: JobContext<WisproSyncPayload>) {
  if (!config.WISPRO_API_TOKEN) throw new PermanentJobError('WISPRO_API_TOKEN no está configurado: Puente no puede leer clientes de Wispro');
  const client = new WisproClient({ baseUrl: config.WISPRO_API_URL, token: config.WISPRO_API_TOKEN, timeoutMs: config.WISPRO_TIMEOUT_MS, logger: ctx.logger });
  const perPage = ctx.data.per_page ?? config.WISPRO_PER_PAGE;
  const saved = ctx.checkpoint as Checkpoint | null;
  const state: Checkpoint = saved ?? { next_page: 1, counters: zero(), issues: [] };
  const log = ctx.logger;
  try {
    log.info(state.next_page === 1 ? '🚀 Iniciando sincronización de Wispro' : `🔁 Reanudando sincronización de Wispro desde la página ${state.next_page}`);
    const current: WisproPage = await client.listClients(state.next_page, perPage, ctx.signal);
    const total = { pages: current.totalPages, records: current.totalRecords };
    log.info(`📊 Total a procesar: ${total.pages} páginas (${total.records} registros)`);
    const progressOf = (c: Checkpoint): WisproSyncProgress => {
      const pages = c.next_page - 1;
      return {
        ...c.counters,
        pages,
        total_pages: total.pages,
        total_records: total.records,
        percentage: total.pages ? Math.round((pages / total.pages) * 1000) / 10 : 100,
      };
    };
    const report = () => {
      const progress = progressOf(state);
      ctx.progress(progress as unknown as Record<string, unknown>);
      return progress;
    };
    report();
    const advance = (outcome: PageOutcome, page: number): Checkpoint => {
      const after: Checkpoint = {
        next_page: page + 1,
        counters: { ...state.counters },
        issues: [...state.issues, ...outcome.issues].slice(0, MAX_ISSUES_KEPT),
      };
      for (const k of ['created', 'updated', 'unchanged', 'skipped', 'errors'] as const) after.counters[k] += outcome[k];
      return after;
    };
    /** A run of fetched pages written together: their clients in order, and where each page starts. */
    interface Batch {
      first: number;
      last: number;
      clients: unknown[];
      starts: number[];
    }
    /** An outcome as a job item (as `JobsService.recordItems` takes it). */
    const itemInput = (b: Batch, r: RecordOutcome) => {
      // A record without a Wispro id is keyed by its page and position there, whatever the batch.
      let k = b.starts.length - 1;
      while (k > 0 && b.starts[k]! > r.at) k--;
      return {
        key: r.wispro_id ?? `p${b.first + k}-${r.at - b.starts[k]!}`,
        status: r.status,
        reasonCode: r.reason_code,
        reason: r.reason,
        label: r.name,
        data: { wispro_id: r.wispro_id, id_number: r.id_number },
      };
    };

    /**
     * A batch of pages in one transaction, the job's, fenced by its lease (see `JobContext.transaction`):
     * a write from an attempt whose job was taken over commits nothing, and the attempt that took it
     * reads the checkpoint of every batch written before. In it, the new users and every client's
     * outcome go with one COPY each (no statement text to build and parse), the updates with one
     * statement, and the checkpoint and progress with the last. Anything the database refuses (a user
     * another process created between the batch's read and this write, a record it cannot hold, an
     * outcome already recorded for a client seen on an earlier page) fails the whole batch, whose pages
     * are then written one client at a time (`commitIsolated`), where each costs only itself.
     *
     * The write commits without waiting for its WAL flush (`synchronous_commit` off for that
     * transaction only): a database crash can lose the last batches' commits, but their checkpoint is
     * lost with them, so the sync redoes those pages; the job's completion commits synchronously after
     * them all. Only on PostgreSQL: the embedded database lives in this process, so a killed process
     * is a crashed database, and its WAL is flushed only by a later synchronous commit; there each
     * batch commits synchronously, so a retry resumes from the last batch written.
     */
    const asyncCommit = db.kind === 'pglite' ? 'on' : 'off';
    const planBatch = (b: Batch) => planWisproPage(users, db.orm, b.clients, config.WISPRO_ZONE_FIELD);
    const writeBatch = async (b: Batch, plan: PagePlan): Promise<Checkpoint> => {
      const after = advance({ ...plan.out, created: plan.inserts.length }, b.last);
      const items = plan.out.records.map((r) => itemInput(b, r));
      for (const u of plan.inserts) {
        items.push({
          key: u.id_wispro,
          status: 'created',
          reasonCode: null,
          reason: null,
          label: u.name,
          data: { wispro_id: u.id_wispro, id_number: u.id_number },
        });
      }
      await ctx.transaction(async (tx) => {
        await users.copyFromWispro(tx as Tx, plan.inserts);
        if (plan.updates.length) await users.updateFromWispro(tx, plan.updates);
        await jobs.copyNewItems(tx as Tx, ctx.job.id, items);
        await tx.execute(sql`
          WITH job AS (${ctx.checkpointStatement(json(after), json(progressOf(after)))})
          SELECT (SELECT count(*) FROM job) AS jobs, set_config('synchronous_commit', ${asyncCommit}, true) AS sync`);
      });
      return after;
    };

    /**
     * One page one client at a time, each in its own savepoint, in one transaction with the
     * checkpoint: when a batch's write fails, one bad record then costs only itself.
     */
    const commitIsolated = (page: number, clients: unknown[]) =>
      ctx.transaction(async (tx, saveCheckpoint) => {
        const outcome = await applyWisproPageIsolated(users, tx as Tx, clients, config.WISPRO_ZONE_FIELD);
        const after = advance(outcome, page);
        const b: Batch = { first: page, last: page, clients, starts: [0] };
        await jobs.recordItems(
          tx,
          ctx.job.id,
          outcome.records.map((r) => itemInput(b, r)),
        );
        await saveCheckpoint(after);
        return after;
      });

    // Pages are fetched a few at a time, up to a bounded number ahead of the writes (memory stays
    // flat at any size), and handed to the writer in page order; each write takes every page fetched
    // meanwhile, so a slow statement is paid once for several pages instead of once per page.
    const maxAhead = Math.max(2, Math.ceil(MAX_CLIENTS_AHEAD / Math.max(1, current.clients.length)));
    // The embedded database runs its statements on this thread, so no page is read while one runs:
    // writing whatever was fetched would write one page at a time, paying a statement's fixed cost
    // per page. There the writer waits for a full window of pages (or the last of them) instead, but
    // no page waits longer than MAX_WRITE_DELAY_MS: against a slow Wispro, progress and the resume
    // checkpoint still move every second.
    const minBatch = db.kind === 'pglite' ? maxAhead : 1;
    let oldestUnwritten = performance.now();
    const fetched: WisproPage[] = current.clients.length ? [current] : [];
    /** The last page handed to the writer, and the next one to ask for. */
    let lastFetched = state.next_page;
    let nextPage = lastFetched + 1;
    let fetching = current.clients.length > 0 && lastFetched < total.pages;
    let fetchError: unknown = null;
    const wake: { writer: (() => void) | null; fetcher: (() => void) | null } = { writer: null, fetcher: null };
    let stopped = false;
    /** Replies (or failures) that came back before an earlier page's: they wait for it, in page order. */
    const arrived = new Map<number, { page: WisproPage } | { error: unknown }>();
    const inFlight = new Set<Promise<void>>();
    const deliver = () => {
      for (let r = arrived.get(lastFetched + 1); r && fetching; r = arrived.get(lastFetched + 1)) {
        arrived.delete(lastFetched + 1);
        if ('error' in r) {
          // As if the pages had been read one by one: those before the failed one are still written.
          fetchError = r.error;
          fetching = false;
          break;
        }
        lastFetched++;
        if (r.page.clients.length) {
          if (!fetched.length) oldestUnwritten = performance.now();
          fetched.push(r.page);
        }
        if (lastFetched >= total.pages || !r.page.clients.length) fetching = false;
      }
      wake.writer?.();
      wake.fetcher?.();
    };
    const fetcher = (async () => {
      while (fetching && !stopped) {
        if (fetched.length + arrived.size + inFlight.size >= maxAhead || inFlight.size >= MAX_PAGES_IN_FLIGHT || nextPage > total.pages) {
          await new Promise<void>((r) => (wake.fetcher = r));
          continue;
        }
        const page = nextPage++;
        const request: Promise<void> = client.listClients(page, perPage, ctx.signal).then(
          (p) => {
            arrived.set(page, { page: p });
          },
          (error: unknown) => void arrived.set(page, { error }),
        );
        inFlight.add(request);
        void request.finally(() => {
          inFlight.delete(request);
          deliver();
        });
      }
      await Promise.all(inFlight);
    })();

    /**
     * The fetched pages from `first` on, up to a page that repeats a client already in the batch (or
     * in `after`, the batch before it): Wispro's pages moved while being read, and that page must
     * see the first as an existing user, as it would alone. Null when no page can be taken.
     */
    const takeBatch = (first: number, after?: Batch): Batch | null => {
      const b: Batch = { first, last: first - 1, clients: [], starts: [] };
      const ids = new Set<unknown>();
      const idsOf = (clients: unknown[]) => clients.map((c) => (c as { id?: unknown } | null)?.id).filter((id) => id != null);
      if (after) for (const id of idsOf(after.clients)) ids.add(id);
      while (fetched.length) {
        const pageIds = idsOf(fetched[0]!.clients);
        if ((b.starts.length || after) && pageIds.some((id) => ids.has(id))) break;
        for (const id of pageIds) ids.add(id);
        b.starts.push(b.clients.length);
        b.clients.push(...fetched.shift()!.clients);
        b.last++;
      }
      wake.fetcher?.();
      wake.fetcher = null;
      return b.starts.length ? b : null;
    };
    /**
     * The next batch, read while the one before it is written. Only after a batch that creates no user
     * and links no Wispro id (a re-sync's): its write then changes nothing the next read looks up, so
     * the next batch is decided as it would be after that write (a client in both is never read ahead,
     * see `takeBatch`). On the embedded database the two would only queue on the same thread.
     */
    type Planned = { b: Batch; plan: Promise<PagePlan> | null };
    let ahead = null as Planned | null;
    const readsAhead = (plan: PagePlan) => db.kind !== 'pglite' && plan.inserts.length === 0 && plan.links === 0;

    try {
      for (;;) {
        ctx.throwIfStopped();
        let cur: Planned | null = ahead;
        ahead = null;
        if (!cur) {
          const waited = fetched.length ? performance.now() - oldestUnwritten : 0;
          if (fetched.length < minBatch && fetching && !fetchError && waited < MAX_WRITE_DELAY_MS) {
            let timer: NodeJS.Timeout | undefined;
            await new Promise<void>((r) => {
              wake.writer = r;
              if (fetched.length) timer = setTimeout(r, MAX_WRITE_DELAY_MS - waited);
            });
            clearTimeout(timer);
            wake.writer = null;
            continue;
          }
          if (!fetched.length) {
            if (fetchError) throw fetchError;
            if (!fetching) break;
            await new Promise<void>((r) => (wake.writer = r));
            wake.writer = null;
            continue;
          }
          cur = { b: takeBatch(state.next_page)!, plan: null };
        }
        const b = cur.b;
        const pages: [number, unknown[]][] = b.starts.map((s, k) => [b.first + k, b.clients.slice(s, b.starts[k + 1] ?? b.clients.length)]);
        // State moves on only once the batch has committed.
        const after = await (cur.plan ?? planBatch(b))
          .then((plan) => {
            const written = writeBatch(b, plan);
            const next = readsAhead(plan) && fetched.length ? takeBatch(b.last + 1, b) : null;
            if (next) {
              ahead = { b: next, plan: planBatch(next) };
              ahead.plan!.catch(() => {}); // awaited (or dropped) on the next turn
            }
            return written;
          })
          .catch(async (err: unknown) => {
            if (ctx.signal.aborted) throw err;
            // The batch read ahead is read again after this one's clients are written one by one.
            if (ahead) ahead.plan = null;
            let last = state;
            for (const [page, clients] of pages) Object.assign(state, (last = await commitIsolated(page, clients)));
            return last;
          });
        Object.assign(state, after);
        report();
        for (const [page] of pages) if (page % 10 === 0) log.info(`📄 Progreso: ${page}/${total.pages} páginas - ${summaryLine(state.counters)}`);
      }
    } finally {
      stopped = true;
      fetching = false;
      wake.fetcher?.();
      await fetcher;
    }
    const final = report();
    log.info(`✅ Sincronización completada - ${summaryLine(state.counters)}`);
    return { ...final, issues: state.issues };
  } finally {
    await client.close();
  }
}
