import { useEffect, useState } from 'preact/hooks';
import { api, download, followJob } from '../api.ts';
import { t, tf, when } from '../i18n.ts';
import { Alert, Progress, StatusMark, Table, useApi } from '../components.tsx';

export const BULK_SEND = 'messaging.bulk-send';
const ACTIVE = ['pending', 'processing'];

/** What a job is about, in a few words: the file of a bulk send. */
function subject(j: any) {
  if (j.type === BULK_SEND && j.file_name) return <small class="muted">{j.file_name}</small>;
  return null;
}

export function Jobs() {
  const { data, error, reload } = useApi<any[]>('/jobs?limit=50');
  const [actionError, setActionError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const active = (data ?? []).filter((j) => ACTIVE.includes(j.status)).map((j) => j.id).join(',');
  const [live, setLive] = useState<Record<string, any>>({});
  useEffect(() => {
    const stops = active ? active.split(',').map((id) => followJob(id, (e) => {
      if (e.progress) setLive((l) => ({ ...l, [id]: { ...l[id], progress: e.progress } }));
      if (['job_started', 'job_completed', 'job_failed', 'job_cancelled', 'job_paused'].includes(e.type)) reload();
    })) : [];
    return () => stops.forEach((s) => s());
  }, [active]);
  async function act(id: string, action: 'cancel' | 'pause' | 'resume' | 'retry') {
    setActionError(null);
    setBusy(`${id}:${action}`);
    try {
      // A retry never sends again to recipients whose first send is uncertain (the API's default).
      await api(`/jobs/${id}/${action}`, { method: 'POST', ...(action === 'retry' ? { body: {} } : {}) });
      reload();
    } catch (e) {
      setActionError((e as Error).message);
    } finally {
      setBusy(null);
    }
  }
  const button = (j: any, action: 'cancel' | 'pause' | 'resume' | 'retry', cls = 'secondary') => (
    <button class={cls} aria-busy={busy === `${j.id}:${action}`} onClick={() => act(j.id, action)}>{t(action)}</button>
  );
  return (
    <section>
      <h2>{t('jobs')}</h2>
      <Alert error={error ?? actionError} />
      <Table label={t('jobs')} rows={data ?? []} columns={[
        [t('type'), (j) => <>{j.type}<br />{subject(j)}</>],
        [t('status'), (j) => <StatusMark status={j.status} />],
        [t('progress'), (j) => <Progress progress={live[j.id]?.progress ?? j.progress} status={j.status} />],
        [t('created'), (j) => when(j.created_at)],
        [t('actions'), (j) => (
          <div class="actions" role="group" aria-label={`${t('actions')} ${j.id.slice(0, 8)}`}>
            {['pending', 'processing', 'paused'].includes(j.status) && button(j, 'cancel')}
            {ACTIVE.includes(j.status) && button(j, 'pause')}
            {j.status === 'paused' && button(j, 'resume', '')}
            {j.retryable && button(j, 'retry', '')}
            {j.retry_of && <small class="muted">{tf('retryOf', { id: j.retry_of.slice(0, 8) })}</small>}
            {j.type === BULK_SEND && (
              <button class="outline" onClick={() => download(`/jobs/${j.id}/results.csv`, `job-${j.id}-results.csv`).catch((e) => setActionError(e.message))}>{t('results')}</button>
            )}
            {j.error && <small title={j.error}>⚠ {j.error.slice(0, 60)}</small>}
          </div>
        )],
      ]} />
    </section>
  );
}
