import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, followJob } from './api.ts';
import { label, t } from './i18n.ts';

export function useApi<T>(path: string | null, deps: unknown[] = []) {
  const [state, setState] = useState<{ data: T | null; error: string | null; status: number | null; loading: boolean }>({ data: null, error: null, status: null, loading: !!path });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!path) return;
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    api<T>(path).then(
      (data) => live && setState({ data, error: null, status: 200, loading: false }),
      (err: ApiError) => live && setState({ data: null, error: err.message, status: err.status ?? null, loading: false }),
    );
    return () => void (live = false);
  }, [path, tick, ...deps]);
  return { ...state, reload: () => setTick((n) => n + 1) };
}

export function Alert({ error }: { error: string | null | undefined }) {
  return error ? <p role="alert" class="alert">{error}</p> : null;
}

/** A short confirmation that something worked (announced politely to screen readers). */
export function Notice({ text }: { text: string | null | undefined }) {
  return text ? <p role="status" class="notice">{text}</p> : null;
}

/** A job status as a coloured, translated tag; `data-status` keeps the API's value. */
export function StatusMark({ status }: { status: string }) {
  return <mark data-status={status}>{label('st', status)}</mark>;
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
  if ('sent' in p) return ` · ${t('sent')} ${p.sent} · ${t('failed')} ${p.failed}${p.uncertain ? ` · ${t('uncertain')} ${p.uncertain}` : ''} · ${t('total')} ${p.total}`;
  if ('created' in p) return ` · +${p.created} ~${p.updated} ⊘${p.skipped} ✗${p.errors}`;
  return '';
}

/** Follows a job live over `/ws/job/:id` and renders its bar and last event. */
export function LiveJob({ jobId, onDone, children }: { jobId: string; onDone?: (event: any) => void; children?: ComponentChildren }) {
  const [progress, setProgress] = useState<Record<string, any>>({});
  const [status, setStatus] = useState('pending');
  const [last, setLast] = useState('');
  const done = useRef(onDone);
  done.current = onDone;
  useEffect(() => {
    setProgress({});
    setStatus('pending');
    setLast('');
    return followJob(jobId, (e) => {
      if (e.progress) setProgress(e.progress);
      if (e.type === 'progress' && e.status) setStatus(e.status);
      if (e.type === 'job_started') setStatus('processing');
      if (e.type === 'job_resumed') setStatus('pending');
      if (e.type === 'chunk_processing' || e.type === 'job_started') setLast(e.message);
      if (e.type === 'job_completed') {
        setStatus('completed');
        setProgress((p) => ({ ...p, ...e.results, percentage: 100 }));
        done.current?.(e);
      }
      if (e.type === 'job_failed') {
        setStatus('failed');
        setLast(e.error ?? e.message);
        done.current?.(e);
      }
      if (e.type === 'job_cancelled' || e.type === 'job_paused') setStatus(e.status);
    });
  }, [jobId]);
  return (
    <article class="live-job" aria-live="polite" data-status={status} data-job-id={jobId}>
      <header><StatusMark status={status} /> <code>{jobId.slice(0, 8)}</code></header>
      <Progress progress={progress} status={status} />
      {last && <small>{last}</small>}
      {children && <footer>{children}</footer>}
    </article>
  );
}

export function Pager({ page, totalPages, onPage }: { page: number; totalPages: number; onPage: (p: number) => void }) {
  return (
    <nav class="pager" aria-label={t('pagination')}>
      <button class="secondary" disabled={page <= 1} onClick={() => onPage(page - 1)}>{t('previous')}</button>
      <span>{t('page')} {page} {t('of')} {Math.max(1, totalPages)}</span>
      <button class="secondary" disabled={page >= totalPages} onClick={() => onPage(page + 1)}>{t('next')}</button>
    </nav>
  );
}

export function Table({ rows, columns, empty, label: caption }: { rows: any[]; columns: [string, (r: any) => ComponentChildren][]; empty?: string; label?: string }) {
  if (!rows.length) return <p>{empty ?? t('none')}</p>;
  return (
    <div class="overflow-auto">
      <table class="striped stacked" aria-label={caption}>
        <thead><tr>{columns.map(([h]) => <th scope="col">{h}</th>)}</tr></thead>
        <tbody>{rows.map((r) => <tr>{columns.map(([h, cell]) => <td data-label={h}><div>{cell(r)}</div></td>)}</tr>)}</tbody>
      </table>
    </div>
  );
}
