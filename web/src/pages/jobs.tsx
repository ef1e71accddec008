import { useEffect, useRef, useState } from 'preact/hooks';
import { api, apiList, download, followJob } from '../api.ts';
import { errorText, label, num, t, tf, when } from '../i18n.ts';
import { Alert, Confirm, JobFailures, Pager, Progress, StatusMark, Table, jobName, outcomeOf } from '../components.tsx';
import type { JobReply } from '../../../src/platform/http/contract.ts';
import type { JobProgress } from '../../../src/platform/realtime/job-socket.contract.ts';

export const BULK_SEND = 'messaging.bulk-send';
const ACTIVE = ['pending', 'processing'];
const TYPES = ['messaging.bulk-send', 'wispro.sync', 'whmcs.push-all', 'zoho.product-sync', 'zoho.code-sync', 'platform.jobs-cleanup'];
const STATUSES = ['pending', 'processing', 'paused', 'completed', 'failed', 'cancelled'];
const PER_PAGE = 50;
/** New jobs (started elsewhere: another tab, the CLI, the scheduler) appear within this. */
const POLL_MS = 3000;

/** What a job is about, in a few words: the file of a bulk send, "scheduled" for the scheduler's runs. */
function subject(j: JobReply) {
  if (j.type === BULK_SEND && j.file_name) return <small class="muted">{j.file_name}</small>;
  if (j.scheduled) return <small class="muted">{t('scheduledRun')}</small>;
  return null;
}

/** A job that stopped (finished, failed, cancelled, paused) with records that did not go through. */
function hasFailures(j: JobReply) {
  return !ACTIVE.includes(j.status) && outcomeOf('completed', j.progress ?? {}) !== 'ok';
}

export function Jobs() {
  const [type, setType] = useState('');
  const [status, setStatus] = useState('');
  const [scheduled, setScheduled] = useState(false);
  const [page, setPage] = useState(1);
  const [data, setData] = useState<{ items: JobReply[]; total: number } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<JobReply | null>(null);
  const [failuresOf, setFailuresOf] = useState<JobReply | null>(null);
  const [live, setLive] = useState<Record<string, { progress?: JobProgress }>>({});
  const [tick, setTick] = useState(0);
  const reload = () => setTick((n) => n + 1);

  const query = new URLSearchParams({
    page: String(page),
    per_page: String(PER_PAGE),
    ...(type && { type }),
    ...(status && { status }),
    ...(!scheduled && { scheduled: 'false' }),
  }).toString();
  const latest = useRef(0);
  useEffect(() => {
    const mine = ++latest.current;
    apiList<JobReply>(`/jobs?${query}`).then(
      (d) => {
        if (mine !== latest.current) return;
        setData(d);
        setError(null);
      },
      (e) => mine === latest.current && setError(errorText(e)),
    );
  }, [query, tick]);
  // A light poll keeps the list live: jobs started anywhere appear, finished ones settle.
  useEffect(() => {
    const timer = setInterval(reload, POLL_MS);
    return () => clearInterval(timer);
  }, []);

  const rows = data?.items ?? [];
  const active = rows
    .filter((j) => ACTIVE.includes(j.status))
    .map((j) => j.id)
    .join(',');
  useEffect(() => {
    const stops = active
      ? active.split(',').map((id) =>
          followJob(id, (e) => {
            if ('progress' in e && e.progress) setLive((l) => ({ ...l, [id]: { ...l[id], progress: e.progress } }));
            if (['job_started', 'job_completed', 'job_failed', 'job_cancelled', 'job_paused'].includes(e.type)) reload();
          }),
        )
      : [];
    return () => {
      for (const stop of stops) stop();
    };
  }, [active]);

  async function act(j: JobReply, action: 'cancel' | 'pause' | 'resume' | 'retry') {
    setActionError(null);
    setBusy(`${j.id}:${action}`);
    try {
      // A retry never sends again to recipients whose first send is uncertain (the API's default).
      await api(`/jobs/${j.id}/${action}`, { method: 'POST', ...(action === 'retry' ? { body: {} } : {}) });
      reload();
    } catch (e) {
      setActionError(errorText(e));
    } finally {
      setBusy(null);
    }
  }
  const button = (j: JobReply, action: 'cancel' | 'pause' | 'resume' | 'retry', cls: string, onClick: () => void = () => void act(j, action)) => (
    <button class={cls} aria-busy={busy === `${j.id}:${action}`} aria-label={tf(`${action}Job` as 'cancelJob', { name: jobName(j) })} onClick={onClick}>
      {t(action)}
    </button>
  );
  const select = (name: string, value: string, set: (v: string) => void, options: [string, string][]) => (
    <label>
      {name}
      <select
        value={value}
        onChange={(e) => {
          set((e.target as HTMLSelectElement).value);
          setPage(1);
        }}
      >
        {options.map(([v, l]) => (
          <option value={v}>{l}</option>
        ))}
      </select>
    </label>
  );
  // Running jobs show the live figures; finished ones their record's, which are the final ones.
  const progressOf = (j: JobReply) => (ACTIVE.includes(j.status) ? (live[j.id]?.progress ?? j.progress) : j.progress);

  return (
    <section>
      <h1>{t('jobs')}</h1>
      <div class="filters grid">
        {select(t('type'), type, setType, [['', t('allTypes')], ...TYPES.map((v) => [v, label('jt', v)] as [string, string])])}
        {select(t('status'), status, setStatus, [['', t('allStatuses')], ...STATUSES.map((v) => [v, label('st', v)] as [string, string])])}
        <label class="check">
          <input
            type="checkbox"
            role="switch"
            checked={scheduled}
            aria-checked={scheduled}
            onChange={(e) => {
              setScheduled((e.target as HTMLInputElement).checked);
              setPage(1);
            }}
          />{' '}
          {t('showScheduled')}
        </label>
      </div>
      <Alert error={error ?? actionError} />
      {data && (
        <p class="muted" data-testid="jobs-total">
          {tf('jobsTotal', { n: num(data.total) })}
        </p>
      )}
      {!data && !error && <p aria-busy="true">{t('loading')}</p>}
      {data && (
        <Table
          label={t('jobs')}
          rows={rows}
          columns={[
            [
              t('type'),
              (j) => (
                <span data-type={j.type}>
                  {label('jt', j.type)}
                  <br />
                  {subject(j)}
                </span>
              ),
            ],
            [t('status'), (j) => <StatusMark status={j.status} outcome={j.outcome} />],
            [
              t('progress'),
              (j) => (
                <Progress
                  progress={progressOf(j)}
                  status={j.status}
                  startedAt={j.started_at}
                  skipAtStart={typeof j.invalid_numbers === 'number' ? j.invalid_numbers : 0}
                />
              ),
            ],
            [t('created'), (j) => when(j.created_at)],
            [
              t('actions'),
              (j) => (
                <div class="actions" role="group" aria-label={`${t('actions')}: ${jobName(j)}`}>
                  {ACTIVE.includes(j.status) && button(j, 'pause', 'secondary outline')}
                  {j.status === 'paused' && button(j, 'resume', '')}
                  {['pending', 'processing', 'paused'].includes(j.status) && button(j, 'cancel', 'danger', () => setConfirming(j))}
                  {j.retryable && button(j, 'retry', '')}
                  {j.retry_of && <small class="muted">{tf('retryOf', { id: j.retry_of.slice(0, 8) })}</small>}
                  {hasFailures(j) && (
                    <button
                      class="outline"
                      aria-label={tf(failuresOf?.id === j.id ? 'hideFailuresOf' : 'viewFailuresOf', { name: jobName(j) })}
                      aria-expanded={failuresOf?.id === j.id}
                      onClick={() => setFailuresOf(failuresOf?.id === j.id ? null : j)}
                    >
                      {failuresOf?.id === j.id ? t('hideFailures') : t('viewFailures')}
                    </button>
                  )}
                  {j.type === BULK_SEND && (
                    <button
                      class="outline"
                      aria-label={tf('resultsOf', { name: jobName(j) })}
                      onClick={() =>
                        download(`/jobs/${j.id}/results.csv?lang=${document.documentElement.lang}`, `job-${j.id}-results.csv`).catch((e) =>
                          setActionError(errorText(e)),
                        )
                      }
                    >
                      {t('results')}
                    </button>
                  )}
                  {j.error && <small title={j.error}>⚠ {j.error.slice(0, 60)}</small>}
                </div>
              ),
            ],
          ]}
        />
      )}
      {data && data.total > PER_PAGE && <Pager page={page} totalPages={Math.ceil(data.total / PER_PAGE)} onPage={setPage} />}
      {failuresOf && <JobFailures job={failuresOf} />}
      {confirming && (
        <Confirm
          title={tf('confirmCancelTitle', { name: jobName(confirming) })}
          yes={t('confirmCancelYes')}
          no={t('keepRunning')}
          danger
          onNo={() => setConfirming(null)}
          onYes={() => {
            const j = confirming;
            setConfirming(null);
            void act(j, 'cancel');
          }}
        >
          <p>{t('confirmCancelBody')}</p>
        </Confirm>
      )}
    </section>
  );
}
