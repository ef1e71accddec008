import { useEffect, useState } from 'preact/hooks';
import { api, followJob, getSession } from '../api.ts';

/** Fetches with the bearer header (no token in a URL) and hands the browser a file. */
async function download(path: string, name: string) {
  const res = await fetch(path, { headers: { authorization: `Bearer ${getSession()?.access_token ?? ''}` } });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const url = URL.createObjectURL(await res.blob());
  const a = Object.assign(document.createElement('a'), { href: url, download: name });
  a.click();
  URL.revokeObjectURL(url);
}
import { t } from '../i18n.ts';
import { Alert, Progress, Table, useApi } from '../components.tsx';

export function Jobs() {
  const { data, error, reload } = useApi<any[]>('/jobs?limit=50');
  const [actionError, setActionError] = useState<string | null>(null);
  const active = (data ?? []).filter((j) => ['pending', 'processing'].includes(j.status)).map((j) => j.id).join(',');
  const [live, setLive] = useState<Record<string, any>>({});
  useEffect(() => {
    const stops = active ? active.split(',').map((id) => followJob(id, (e) => {
      if (e.progress) setLive((l) => ({ ...l, [id]: { ...l[id], progress: e.progress } }));
      if (['job_completed', 'job_failed', 'job_cancelled', 'job_paused'].includes(e.type)) reload();
    })) : [];
    return () => stops.forEach((s) => s());
  }, [active]);
  const act = (id: string, action: string) => api(`/jobs/${id}/${action}`, { method: 'POST' }).then(reload, (e) => setActionError(e.message));
  return (
    <section>
      <h2>{t('jobs')}</h2>
      <Alert error={error ?? actionError} />
      <Table rows={data ?? []} columns={[
        [t('type'), (j) => j.type],
        [t('status'), (j) => <mark data-status={j.status}>{j.status}</mark>],
        [t('progress'), (j) => <Progress progress={live[j.id]?.progress ?? j.progress} status={j.status} />],
        [t('created'), (j) => new Date(j.created_at).toLocaleString()],
        ['', (j) => (
          <div class="actions" role="group">
            {['pending', 'processing', 'paused'].includes(j.status) && <button class="secondary" onClick={() => act(j.id, 'cancel')}>{t('cancel')}</button>}
            {['pending', 'processing'].includes(j.status) && <button class="secondary" onClick={() => act(j.id, 'pause')}>{t('pause')}</button>}
            {j.status === 'paused' && <button onClick={() => act(j.id, 'resume')}>{t('resume')}</button>}
            {j.type?.startsWith('messaging') && <button class="secondary" onClick={() => download(`/jobs/${j.id}/results.csv`, `job-${j.id}.csv`).catch((e) => setActionError(e.message))}>{t('results')}</button>}
            {j.error && <small title={j.error}>⚠ {j.error.slice(0, 60)}</small>}
          </div>
        )],
      ]} />
    </section>
  );
}
