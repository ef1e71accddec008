import type { RuntimeContext } from './platform/context.ts';
import { jobOutcome } from './platform/jobs/jobs.service.ts';

const NAMES: Record<string, string> = {
  'wispro.sync': 'Sincronización de Wispro',
  'messaging.bulk-send': 'Envío masivo de WhatsApp',
  'whmcs.push-all': 'Envío de clientes a WHMCS',
  'zoho.code-sync': 'Código de Zoho',
  'zoho.product-sync': 'Productos de Zoho',
  'platform.jobs-cleanup': 'Limpieza de trabajos',
};

/** A job's counters as a person reads them. */
function figures(p: Record<string, unknown>): string {
  if ('sent' in p) return `${p.sent} enviados, ${p.failed} fallidos${p.uncertain ? `, ${p.uncertain} en duda` : ''} de ${p.total}`;
  if ('total_records' in p)
    return `${p.created} creados, ${p.updated} actualizados, ${p.unchanged ?? 0} sin cambios, ${p.skipped} omitidos, ${p.errors} con error`;
  if ('processed' in p) return `${p.processed} de ${p.total}: ${p.created} creados, ${p.updated} actualizados, ${p.errors} con error`;
  return '';
}

const FINAL: Record<string, string> = { ok: '✅ completado', with_errors: '⚠️  completado con errores', failed: '❌ falló', cancelled: '⏹  cancelado' };

const TERMINAL = ['completed', 'failed', 'cancelled'];

/**
 * For `puente demo`'s terminal: one line when a job starts, every quarter of the way, and when it
 * ends with its figures in words (the request log goes to a file). Returns a stop function.
 * Jobs already finished when it first looks are old news; a job that starts and ends between two
 * looks still gets its start line and its end line.
 */
export function printJobProgress(ctx: RuntimeContext, write: (line: string) => void, everyMs = 1000): () => void {
  const seen = new Map<string, { status: string; quarter: number }>();
  let busy = false;
  let first = true;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      const { items } = await ctx.jobs.list({ scheduled: false, limit: 20, offset: 0 });
      for (const j of items.reverse()) {
        const before = seen.get(j.id);
        const name = `${NAMES[j.type] ?? j.type}${(j.params as { file_name?: string }).file_name ? ` «${(j.params as { file_name?: string }).file_name}»` : ''}`;
        const p = j.progress;
        const quarter = Math.floor(Number(p.percentage ?? 0) / 25);
        const finished = TERMINAL.includes(j.status);
        if (!before) {
          if (finished && first) {
            seen.set(j.id, { status: j.status, quarter });
            continue; // finished before the demo started watching: not news
          }
          write(`▶  ${name}: en marcha`);
        }
        if (finished && before?.status !== j.status) {
          write(`${FINAL[jobOutcome(j) ?? j.status] ?? j.status}  ${name}${figures(p) ? ` — ${figures(p)}` : ''}${j.error ? ` (${j.error})` : ''}`);
        } else if (before && j.status === 'processing' && quarter > before.quarter && quarter < 4) {
          write(`…  ${name}: ${Number(p.percentage).toFixed(0)} %${figures(p) ? ` — ${figures(p)}` : ''}`);
        }
        seen.set(j.id, { status: j.status, quarter: Math.max(quarter, before?.quarter ?? 0) });
      }
      first = false;
    } catch {
      // the database is closing: the demo is stopping
    } finally {
      busy = false;
    }
  };
  void tick();
  const timer = setInterval(() => void tick(), everyMs);
  return () => clearInterval(timer);
}
