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

/**
 * For `puente demo`'s terminal: one line when a job starts, every quarter of the way, and when it
 * ends with its figures in words (the request log goes to a file). Returns a stop function.
 */
export function printJobProgress(ctx: RuntimeContext, write: (line: string) => void, everyMs = 1000): () => void {
  const seen = new Map<string, { status: string; quarter: number }>();
  let busy = false;
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
        if (!before && ['completed', 'failed', 'cancelled'].includes(j.status)) {
          seen.set(j.id, { status: j.status, quarter });
          continue; // finished before the demo started watching: not news
        }
        if (!before) write(`▶  ${name}: en marcha`);
        else if (before.status !== j.status && ['completed', 'failed', 'cancelled'].includes(j.status)) {
          write(`${FINAL[jobOutcome(j) ?? j.status] ?? j.status}  ${name}${figures(p) ? ` — ${figures(p)}` : ''}${j.error ? ` (${j.error})` : ''}`);
        } else if (j.status === 'processing' && quarter > (before?.quarter ?? 0) && quarter < 4) {
          write(`…  ${name}: ${Number(p.percentage).toFixed(0)} %${figures(p) ? ` — ${figures(p)}` : ''}`);
        }
        seen.set(j.id, { status: j.status, quarter: Math.max(quarter, before?.quarter ?? 0) });
      }
    } catch {
      // the database is closing: the demo is stopping
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), everyMs);
  return () => clearInterval(timer);
}
