import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, followJob } from './api.ts';
import { t } from './i18n.ts';

export function useApi<T>(path: string | null, deps: unknown[] = []) {
  const [state, setState] = useState<{ data: T | null; error: string | null; loading: boolean }>({ data: null, error: null, loading: !!path });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!path) return;
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    api<T>(path).then(
      (data) => live && setState({ data, error: null, loading: false }),
      (err: ApiError) => live && setState({ data: null, error: err.message, loading: false }),
    );
    return () => void (live = false);
  }, [path, tick, ...deps]);
  return { ...state, reload: () => setTick((n) => n + 1) };
}

export function Alert({ error }: { error: string | null }) {
  return error ? <p role="alert" class="alert">{error}</p> : null;
}

export function Progress({ progress, status }: { progress: Record<string, any>; status?: string }) {
  const pct = Number(progress?.percentage ?? (status === 'completed' ? 100 : 0));
  return (
    <div class="progress-cell">
      <progress value={pct} max={100} aria-label={`${t('progress')} ${pct.toFixed(1)}%`} />
      <small>{pct.toFixed(1)}%{counters(progress)}</small>
    </div>
  );
}

function counters(p: Record<string, any>) {
  if (!p) return '';
  if ('sent' in p) return ` · ${t('sent')} ${p.sent} · ${t('failed')} ${p.failed} · ${t('total')} ${p.total}`;
  if ('created' in p) return ` · +${p.created} ~${p.updated} ⊘${p.skipped} ✗${p.errors}`;
  return '';
}

/** Follows a job live over `/ws/job/:id` and renders its bar and last event. */
export function LiveJob({ jobId, onDone }: { jobId: string; onDone?: (job: any) => void }) {
  const [progress, setProgress] = useState<Record<string, any>>({});
  const [status, setStatus] = useState('pending');
  const [last, setLast] = useState('');
  useEffect(() => followJob(jobId, (e) => {
    if (e.progress) setProgress(e.progress);
    if (e.type === 'job_started') setStatus('processing');
    if (e.type === 'chunk_processing' || e.type === 'job_started') setLast(e.message);
    if (e.type === 'job_completed') {
      setStatus('completed');
      setProgress((p) => ({ ...p, ...e.results, percentage: 100 }));
      onDone?.(e);
    }
    if (e.type === 'job_failed') {
      setStatus('failed');
      setLast(e.error ?? e.message);
      onDone?.(e);
    }
    if (e.type === 'job_cancelled' || e.type === 'job_paused') setStatus(e.status);
  }), [jobId]);
  return (
    <article class="live-job" aria-live="polite" data-status={status}>
      <header><strong>{status}</strong> <code>{jobId.slice(0, 8)}</code></header>
      <Progress progress={progress} status={status} />
      {last && <small>{last}</small>}
    </article>
  );
}

export function Pager({ page, totalPages, onPage }: { page: number; totalPages: number; onPage: (p: number) => void }) {
  return (
    <nav class="pager" aria-label="pagination">
      <button class="secondary" disabled={page <= 1} onClick={() => onPage(page - 1)}>{t('previous')}</button>
      <span>{t('page')} {page} {t('of')} {totalPages}</span>
      <button class="secondary" disabled={page >= totalPages} onClick={() => onPage(page + 1)}>{t('next')}</button>
    </nav>
  );
}

export function Table({ rows, columns, empty }: { rows: any[]; columns: [string, (r: any) => ComponentChildren][]; empty?: string }) {
  if (!rows.length) return <p>{empty ?? t('none')}</p>;
  return (
    <div class="overflow-auto">
      <table class="striped">
        <thead><tr>{columns.map(([h]) => <th scope="col">{h}</th>)}</tr></thead>
        <tbody>{rows.map((r) => <tr>{columns.map(([, cell]) => <td>{cell(r)}</td>)}</tr>)}</tbody>
      </table>
    </div>
  );
}
