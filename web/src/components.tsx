import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, type ApiError, followJob } from './api.ts';
import { errorText, has, label, minutesText, num, plural, t, tf, when } from './i18n.ts';
import type { JobReply } from '../../src/platform/http/contract.ts';
import type { FailureSummaryReply, JobItem, JobItemsReply } from '../../src/platform/jobs/jobs.contract.ts';
import type { JobProgress, JobSocketEventOf } from '../../src/platform/realtime/job-socket.contract.ts';

export function useApi<T>(path: string | null, deps: unknown[] = []) {
  const [state, setState] = useState<{ data: T | null; error: string | null; status: number | null; loading: boolean }>({
    data: null,
    error: null,
    status: null,
    loading: !!path,
  });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!path) return;
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    api<T>(path).then(
      (data) => live && setState({ data, error: null, status: 200, loading: false }),
      (err: ApiError) => live && setState({ data: null, error: errorText(err), status: err.status ?? null, loading: false }),
    );
    return () => void (live = false);
  }, [path, tick, ...deps]);
  return { ...state, reload: () => setTick((n) => n + 1) };
}

export function Alert({ error }: { error: string | null | undefined }) {
  return error ? (
    <p role="alert" class="alert">
      {error}
    </p>
  ) : null;
}

/** A short confirmation that something worked (announced politely to screen readers). */
export function Notice({ text }: { text: string | null | undefined }) {
  return text ? (
    <p role="status" class="notice">
      {text}
    </p>
  ) : null;
}

/**
 * A job status as a coloured, translated tag; `data-status` keeps the API's value. A completed job
 * whose records did not all go through says so (`data-outcome`): "Completado" only when all did.
 */
export function StatusMark({ status, outcome }: { status: string; outcome?: string | null }) {
  const shown = status === 'completed' && (outcome === 'with_errors' || outcome === 'failed') ? label('oc', outcome) : label('st', status);
  return (
    <mark data-status={status} data-outcome={outcome ?? undefined}>
      {shown}
    </mark>
  );
}

/** A job's counters as progress events and job records carry them (each kind of job has its own). */
type Counters = Record<string, unknown>;

/** A counter's value; absent (or not a number) counts as 0. */
function count(p: Counters, key: string): number {
  const v = p[key];
  return typeof v === 'number' ? v : 0;
}

/** The outcome a finished job's counters imply (the server's `outcome`, for events that carry only counters). */
export function outcomeOf(status: string, p: Counters | null | undefined): string | null {
  if (status === 'failed' || status === 'cancelled') return status;
  if (status !== 'completed' || !p) return null;
  const sum = (keys: string[]) => keys.reduce((n, k) => n + count(p, k), 0);
  const good = sum(['sent', 'created', 'updated', 'unchanged']),
    bad = sum(['failed', 'uncertain', 'errors', 'skipped', 'conflicts', 'invalid']);
  return !bad ? 'ok' : good ? 'with_errors' : 'failed';
}

/** Records a job has gone through and how many it has in all, whatever its kind. */
function doneAndTotal(p: Counters): [number, number] | null {
  const sum = (keys: string[]) => keys.reduce((n, k) => n + count(p, k), 0);
  if ('sent' in p) return [sum(['sent', 'failed', 'uncertain', 'suppressed']), count(p, 'total')];
  if ('total_records' in p) return [sum(['created', 'updated', 'unchanged', 'skipped', 'errors']), count(p, 'total_records')];
  if ('processed' in p) return [count(p, 'processed'), count(p, 'total')];
  return null;
}

/** A finished job's bar shows its final figures; a running one's, the percentage it reported. */
function percentOf(p: Counters, status?: string) {
  const dt = doneAndTotal(p ?? {});
  if (status && ['completed', 'failed', 'cancelled'].includes(status) && dt?.[1]) return Math.round((dt[0] / dt[1]) * 1000) / 10;
  if (status === 'completed' && !dt) return 100;
  return Number(p?.percentage ?? 0);
}

export function Progress({
  progress,
  status,
  startedAt,
  skipAtStart = 0,
}: {
  progress: Counters;
  status?: string;
  startedAt?: string | null;
  skipAtStart?: number;
}) {
  const pct = percentOf(progress, status);
  return (
    <div class="progress-cell">
      <progress value={pct} max={100} aria-label={`${t('progress')} ${pct.toFixed(1)}%`} />
      <small>
        {pct.toFixed(1)}%{counters(progress)}
      </small>
      {status === 'processing' && <RateEta progress={progress} startedAt={startedAt} skipAtStart={skipAtStart} />}
    </div>
  );
}

/** Per minute since the job started, and the time left at that rate. */
function RateEta({ progress, startedAt, skipAtStart }: { progress: Counters; startedAt?: string | null; skipAtStart: number }) {
  const dt = doneAndTotal(progress ?? {});
  if (!dt || !startedAt) return null;
  const mins = (Date.now() - new Date(startedAt).getTime()) / 60_000;
  const done = Math.max(0, dt[0] - skipAtStart);
  const rate = mins > 0 ? done / mins : 0;
  const left = dt[1] - dt[0];
  return (
    <small class="rate" data-testid="rate">
      {' · '}
      {tf('ratePerMinute', { n: num(Math.round(rate)) })}
      {' · '}
      {rate > 0 ? tf('eta', { t: minutesText(left / rate) }) : t('etaUnknown')}
    </small>
  );
}

function counters(p: Counters) {
  if (!p) return '';
  const c = (key: string) => count(p, key);
  if ('sent' in p) {
    // Receipts: of those sent, how many arrived and were read; opted-out numbers are skipped.
    const receipts = typeof p.delivered === 'number' ? ` · ${t('delivered')} ${p.delivered} · ${t('read')} ${c('read')}` : '';
    return (
      ` · ${t('sent')} ${c('sent')} · ${t('failed')} ${c('failed')}${c('uncertain') ? ` · ${t('uncertain')} ${c('uncertain')}` : ''} · ${t('total')} ${c('total')}` +
      `${c('suppressed') ? ` · ${t('suppressed')} ${c('suppressed')}` : ''}${receipts}`
    );
  }
  if ('created' in p && 'total_records' in p) {
    return ` · ${[tf('created_n', { n: c('created') }), tf('updated_n', { n: c('updated') }), tf('unchanged_n', { n: c('unchanged') }), tf('skipped_n', { n: c('skipped') }), tf('errors_n', { n: c('errors') })].join(' · ')}`;
  }
  if ('processed' in p) {
    return ` · ${[tf('processed_n', { n: c('processed'), total: c('total') }), tf('created_n', { n: c('created') }), tf('updated_n', { n: c('updated') }), tf('conflicts_n', { n: c('conflicts') }), tf('invalid_n', { n: c('invalid') }), tf('errors_n', { n: c('errors') })].join(' · ')}`;
  }
  return '';
}

/** What a person calls a job: a bulk send's file, else its kind and when it started. */
export function jobName(j: { type: string; file_name?: string | null; created_at?: string }) {
  if (j.file_name) return j.file_name;
  return `${label('jt', j.type)} ${when(j.created_at)}`;
}

/**
 * A question before something that cannot be undone, as a modal dialog: focus starts on the safe
 * answer, Escape is "no".
 */
export function Confirm({
  title,
  children,
  yes,
  no,
  danger,
  onYes,
  onNo,
}: {
  title: string;
  children?: ComponentChildren;
  yes: string;
  no: string;
  danger?: boolean;
  onYes: () => void;
  onNo: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => d?.open && d.close();
  }, []);
  return (
    <dialog
      ref={ref}
      aria-labelledby="confirm-title"
      class="confirm"
      onCancel={(e) => {
        e.preventDefault();
        onNo();
      }}
    >
      <article>
        <h2 id="confirm-title">{title}</h2>
        {children}
        <footer>
          <button class="secondary" autofocus onClick={onNo}>
            {no}
          </button>
          <button class={danger ? 'danger' : ''} onClick={onYes}>
            {yes}
          </button>
        </footer>
      </article>
    </dialog>
  );
}

/** A job's failures grouped by reason ("37 números sin WhatsApp"), each group opening to its rows. */
export function JobFailures({ job }: { job: { id: string; type: string; file_name?: string | null; created_at?: string } }) {
  const summary = useApi<FailureSummaryReply>(`/jobs/${job.id}/failures/summary`);
  const name = jobName(job);
  return (
    <article class="failures" aria-label={tf('failuresOf', { name })} data-job-id={job.id}>
      <header>
        <strong>{tf('failuresOf', { name })}</strong>
      </header>
      <Alert error={summary.error} />
      {summary.loading && !summary.data && <p aria-busy="true">{t('loading')}</p>}
      {summary.data && !summary.data.groups.length && <p>{t('noFailures')}</p>}
      {summary.data?.groups.map((g) => (
        <FailureGroup jobId={job.id} group={g} />
      ))}
    </article>
  );
}

/** Reasons whose code says only where it failed: the server's words (the provider's, WHMCS's…) say what. */
const DETAILED = new Set(['messaging.provider_error', 'messaging.template', 'wispro.other', 'wispro.database_error', 'whmcs.error', 'whmcs.missing_fields']);

/** A failure reason in the interface's language, by its code, in the form for `count` of them; else the server's words. */
function reasonText(code: string | null, sample: string | null, count: number) {
  const key = `rc_${code}`;
  return code && has(key) ? plural(t(key), count) : (sample ?? code ?? '—');
}

/** One failed row's reason: its code in words, with the server's own words when they add what failed. */
function ItemReason({ code, reason }: { code: string | null; reason: string | null }) {
  if (!code || !has(`rc_${code}`)) return <small>{reason ?? '—'}</small>;
  const words = reasonText(code, reason, 1);
  return (
    <small title={reason ?? undefined} data-reason={code}>
      {words.charAt(0).toUpperCase() + words.slice(1)}
      {reason && DETAILED.has(code) ? <span class="muted"> · {reason}</span> : null}
    </small>
  );
}

/** A failed record as its job lists it: a recipient's phone and values, a customer's id number or email. */
type ItemRow = JobItem & {
  raw_phone?: string | null;
  values?: string[] | null;
  id_number?: string | null;
  email?: string | null;
  device_name?: string | null;
};

function FailureGroup({ jobId, group }: { jobId: string; group: { reason_code: string | null; reason: string | null; count: number } }) {
  const [open, setOpen] = useState(false);
  const [page, setPage] = useState(1);
  const rows = useApi<JobItemsReply>(
    open ? `/jobs/${jobId}/items?${group.reason_code ? `reason=${encodeURIComponent(group.reason_code)}` : 'status=failed'}&page=${page}&per_page=25` : null,
  );
  return (
    <details class="failure-group" data-reason={group.reason_code ?? ''} onToggle={(e) => setOpen((e.target as HTMLDetailsElement).open)}>
      <summary>
        <strong data-testid="failure-count">{num(group.count)}</strong> {reasonText(group.reason_code, group.reason, group.count)}
      </summary>
      {rows.loading && !rows.data && <p aria-busy="true">{t('loading')}</p>}
      <Alert error={rows.error} />
      {rows.data && (
        <>
          <Table
            label={reasonText(group.reason_code, group.reason, 2)}
            rows={rows.data.items as ItemRow[]}
            columns={[
              [
                t('recipient'),
                (i) => (
                  <>
                    {i.label ?? i.key}
                    {i.raw_phone && i.raw_phone !== i.label ? <small class="muted"> ({i.raw_phone})</small> : null}
                  </>
                ),
              ],
              [t('values'), (i) => (i.values ?? (i.id_number ? [i.id_number] : i.email ? [i.email] : [])).join(' · ') || '—'],
              [t('device'), (i) => i.device_name ?? '—'],
              [t('outcome'), (i) => label('is', i.status)],
              [t('reason'), (i) => <ItemReason code={i.reason_code} reason={i.reason} />],
            ]}
          />
          {rows.data.meta.total_pages > 1 && <Pager page={page} totalPages={rows.data.meta.total_pages} onPage={setPage} />}
        </>
      )}
    </details>
  );
}

/** Follows a job live over `/ws/job/:id` and renders its bar and last event. */
export function LiveJob({
  jobId,
  name,
  onDone,
  children,
}: {
  jobId: string;
  name?: string;
  onDone?: (event: JobSocketEventOf<'job_completed' | 'job_failed'>) => void;
  children?: ComponentChildren;
}) {
  const [progress, setProgress] = useState<JobProgress>({});
  const [status, setStatus] = useState('pending');
  const [outcome, setOutcome] = useState<string | null>(null);
  const [startedAt, setStartedAt] = useState<string | null>(null);
  const [last, setLast] = useState('');
  const done = useRef(onDone);
  done.current = onDone;
  useEffect(() => {
    setProgress({});
    setStatus('pending');
    setOutcome(null);
    setLast('');
    setStartedAt(null);
    return followJob(jobId, (e) => {
      if (e.type === 'job_started') setStartedAt(new Date().toISOString());
      if ('progress' in e && e.progress) setProgress(e.progress);
      if (e.type === 'progress' && e.status) setStatus(e.status);
      if (e.type === 'job_started') setStatus('processing');
      if (e.type === 'job_resumed') setStatus('pending');
      if (e.type === 'chunk_processing' || e.type === 'job_started') setLast(e.message);
      if (e.type === 'job_completed') {
        setStatus('completed');
        setLast('');
        // The record holds the final figures; the last progress event may be older than them.
        api<JobReply>(`/jobs/${jobId}`).then(
          (j) => {
            setProgress(j.progress);
            setOutcome(j.outcome);
          },
          () => {},
        );
        done.current?.(e);
      }
      if (e.type === 'job_failed') {
        setStatus('failed');
        setOutcome('failed');
        setLast(e.error ?? e.message);
        done.current?.(e);
      }
      if (e.type === 'job_cancelled' || e.type === 'job_paused') {
        setStatus(e.status);
        setLast('');
      }
    });
  }, [jobId]);
  return (
    <article class="live-job" aria-live="polite" data-status={status} data-outcome={outcome ?? undefined} data-job-id={jobId}>
      <header>
        <StatusMark status={status} outcome={outcome} /> {name ? <span>{name}</span> : <code>{jobId.slice(0, 8)}</code>}
      </header>
      <Progress progress={progress} status={status} startedAt={startedAt} />
      {last && status === 'processing' && <small>{last}</small>}
      {children && <footer>{children}</footer>}
    </article>
  );
}

export function Pager({ page, totalPages, onPage }: { page: number; totalPages: number; onPage: (p: number) => void }) {
  return (
    <nav class="pager" aria-label={t('pagination')}>
      <button class="secondary" disabled={page <= 1} onClick={() => onPage(page - 1)}>
        {t('previous')}
      </button>
      <span>
        {t('page')} {page} {t('of')} {Math.max(1, totalPages)}
      </span>
      <button class="secondary" disabled={page >= totalPages} onClick={() => onPage(page + 1)}>
        {t('next')}
      </button>
    </nav>
  );
}

export function Table<R>({
  rows,
  columns,
  empty,
  label: caption,
}: {
  rows: R[];
  columns: [string, (r: R) => ComponentChildren][];
  empty?: string;
  label?: string;
}) {
  if (!rows.length) return <p>{empty ?? t('none')}</p>;
  return (
    <div class="overflow-auto">
      <table class="striped stacked" aria-label={caption}>
        <thead>
          <tr>
            {columns.map(([h]) => (
              <th scope="col">{h}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr>
              {columns.map(([h, cell]) => (
                <td data-label={h}>
                  <div>{cell(r)}</div>
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
