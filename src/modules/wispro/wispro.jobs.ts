import { z } from 'zod';
import type { AppContext } from '../../platform/context.ts';
import type { Tx } from '../../platform/db/client.ts';
import { PermanentJobError, defineJob, type JobContext } from '../../platform/jobs/job-definition.ts';
import { WisproClient, type WisproPage } from './wispro.client.ts';
import { applyWisproPage, applyWisproPageIsolated, type RecordIssue, type SyncCounters } from './wispro.service.ts';

export const WISPRO_SYNC = 'wispro.sync';
const MAX_ISSUES_KEPT = 200;

export const wisproSyncPayload = z.object({ per_page: z.number().int().min(1).max(1000).optional() });
type Payload = z.infer<typeof wisproSyncPayload>;

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

const zero = (): SyncCounters => ({ created: 0, updated: 0, unchanged: 0, skipped: 0, errors: 0 });

export function summaryLine(c: SyncCounters) {
  return `Creados: ${c.created}, Actualizados: ${c.updated} (sin cambios: ${c.unchanged}), Omitidos: ${c.skipped}, Errores: ${c.errors}`;
}

/** The seed's SyncWisproClients job: page by page, a checkpoint per page, 3 tries, 900 s. */
export function wisproJobs(app: AppContext) {
  return [
    defineJob<Payload>({
      type: WISPRO_SYNC,
      payload: wisproSyncPayload,
      retryLimit: 2,
      retryDelaySeconds: 5,
      timeoutSeconds: 900,
      heartbeatSeconds: app.config.JOB_HEARTBEAT_SECONDS,
      singleton: true,
      // A retry resumes from the last saved page, with the counters so far.
      retry: {},
      // Progress is written a moment after each page; the checkpoint commits with the page itself.
      settleLost: async (_tx, job) => {
        const saved = job.checkpoint as Checkpoint | null;
        if (!saved) return {};
        const pages = saved.next_page - 1;
        const totalPages = Number(job.progress.total_pages ?? 0);
        const progress = { ...job.progress, ...saved.counters, pages, percentage: totalPages ? Math.round((pages / totalPages) * 1000) / 10 : 0 };
        return { progress, results: { ...progress, issues: saved.issues } };
      },
      // Nightly by default (the seed recommends 2–4 AM), whenever Wispro is configured.
      schedule: () => (app.config.WISPRO_API_TOKEN ? app.config.WISPRO_SYNC_CRON : null),
      startMessage: () => 'Iniciando sincronización de clientes de Wispro',
      handler: (ctx) => runWisproSync(app, ctx),
    }),
  ];
}

async function runWisproSync(app: AppContext, ctx: JobContext<Payload>) {
  const { config } = app;
  if (!config.WISPRO_API_TOKEN) throw new PermanentJobError('WISPRO_API_TOKEN no está configurado: Puente no puede leer clientes de Wispro');
  const client = new WisproClient({ baseUrl: config.WISPRO_API_URL, token: config.WISPRO_API_TOKEN, timeoutMs: config.WISPRO_TIMEOUT_MS, logger: ctx.logger });
  const perPage = ctx.data.per_page ?? config.WISPRO_PER_PAGE;
  const saved = ctx.checkpoint as Checkpoint | null;
  const state: Checkpoint = saved ?? { next_page: 1, counters: zero(), issues: [] };
  const log = ctx.logger;
  try {
    log.info(state.next_page === 1 ? '🚀 Iniciando sincronización de Wispro' : `🔁 Reanudando sincronización de Wispro desde la página ${state.next_page}`);
    let current: WisproPage = await client.listClients(state.next_page, perPage, ctx.signal);
    const total = { pages: current.totalPages, records: current.totalRecords };
    log.info(`📊 Total a procesar: ${total.pages} páginas (${total.records} registros)`);
    const report = () => {
      const pages = state.next_page - 1;
      const progress: WisproSyncProgress = {
        ...state.counters, pages, total_pages: total.pages, total_records: total.records,
        percentage: total.pages ? Math.round((pages / total.pages) * 1000) / 10 : 100,
      };
      ctx.progress(progress as unknown as Record<string, unknown>);
      return progress;
    };
    report();

    while (state.next_page <= total.pages && current.clients.length) {
      ctx.throwIfStopped();
      const page = state.next_page;
      // Fetch the next page while this one is written.
      const next = page < total.pages ? client.listClients(page + 1, perPage, ctx.signal) : null;
      next?.catch(() => {});
      // The page, each client's outcome and the checkpoint commit together. The batch runs without a
      // savepoint (two round trips fewer a page): if it fails, the whole page rolls back and is done
      // again one client at a time, each in its own savepoint, so one bad record costs only itself.
      const apply = (isolated: boolean) => ctx.transaction(async (tx, saveCheckpoint) => {
        const outcome = isolated
          ? await applyWisproPageIsolated(app.services.users, tx as Tx, current.clients, config.WISPRO_ZONE_FIELD)
          : await applyWisproPage(app.services.users, tx, current.clients, config.WISPRO_ZONE_FIELD);
        const after: Checkpoint = {
          next_page: page + 1,
          counters: { ...state.counters },
          issues: [...state.issues, ...outcome.issues].slice(0, MAX_ISSUES_KEPT),
        };
        for (const k of ['created', 'updated', 'unchanged', 'skipped', 'errors'] as const) after.counters[k] += outcome[k];
        // Each client's outcome commits with the page, so a retried page replaces, never doubles, it.
        await app.jobs.recordItems(tx, ctx.job.id, outcome.records.map((r, i) => ({
          key: r.wispro_id ?? `p${page}-${i}`, status: r.status, reasonCode: r.reason_code, reason: r.reason, label: r.name,
          data: { wispro_id: r.wispro_id, id_number: r.id_number },
        })));
        await saveCheckpoint(after);
        return after;
      });
      // State moves on only once the page has committed.
      Object.assign(state, await apply(false).catch((err: unknown) => {
        if (ctx.signal.aborted) throw err;
        return apply(true);
      }));
      report();
      if (page % 10 === 0) log.info(`📄 Progreso: ${page}/${total.pages} páginas - ${summaryLine(state.counters)}`);
      if (!next) break;
      current = await next;
    }
    const final = report();
    log.info(`✅ Sincronización completada - ${summaryLine(state.counters)}`);
    return { ...final, issues: state.issues };
  } finally {
    await client.close();
  }
}
