import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { t } from '../i18n.ts';
import { Alert, LiveJob, Pager, Table, useApi } from '../components.tsx';

export function Customers() {
  const [search, setSearch] = useState('');
  const [page, setPage] = useState(1);
  const [jobId, setJobId] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<any>(null);
  const q = new URLSearchParams({ page: String(page), per_page: '25', ...(search ? { search } : {}) });
  const { data, error: loadError, reload } = useApi<any>(`/api/users?${q}`);
  async function startSync() {
    setError(null);
    try {
      const res = await api('/api/users/sync-wispro-all', { method: 'POST' });
      setJobId(res.job_id);
    } catch (e) {
      setError((e as Error).message);
    }
  }
  return (
    <section>
      <h2>{t('customers')}</h2>
      <div class="toolbar">
        <form role="search" onSubmit={(e) => { e.preventDefault(); setSearch(String(new FormData(e.target as HTMLFormElement).get('q') ?? '')); setPage(1); }}>
          <input name="q" type="search" placeholder={t('search')} aria-label={t('search')} />
        </form>
        <button onClick={startSync}>{t('syncWispro')}</button>
      </div>
      {jobId && <LiveJob jobId={jobId} onDone={() => reload()} />}
      <Alert error={error ?? loadError} />
      <Table rows={data?.data ?? []} columns={[
        [t('name'), (u) => <a href="#" onClick={(e) => { e.preventDefault(); setSelected(u); }}>{u.name}</a>],
        [t('idNumber'), (u) => u.id_number ?? '—'],
        [t('email'), (u) => u.email ?? '—'],
        [t('zone'), (u) => u.zone ?? '—'],
      ]} />
      {data?.meta && <Pager page={data.meta.current_page} totalPages={data.meta.total_pages} onPage={setPage} />}
      {selected && <CustomerWhmcs user={selected} onClose={() => setSelected(null)} />}
    </section>
  );
}

function CustomerWhmcs({ user, onClose }: { user: any; onClose: () => void }) {
  const [out, setOut] = useState<any>(null);
  const [error, setError] = useState<string | null>(null);
  const [whmcsId, setWhmcsId] = useState('');
  const call = (path: string, body: unknown = {}) => {
    setError(null);
    api(path, { body }).then(setOut, (e) => setError(e.message));
  };
  return (
    <dialog open aria-labelledby="customer-title">
      <article>
        <header><h3 id="customer-title">{user.name}</h3></header>
        <p>{user.id_number} · {user.email} · {user.zone}</p>
        <h4>{t('whmcs')}</h4>
        <div class="actions" role="group">
          <button onClick={() => call(`/api/whmcs/clients/push/${user.id}`, { force_create: false })}>{t('push')}</button>
          <button class="secondary" onClick={() => call(`/api/whmcs/clients/update/${user.id}`)}>{t('update')}</button>
          <button class="secondary" onClick={() => call(`/api/whmcs/clients/check/${user.id}`)}>{t('check')}</button>
          <button class="secondary" onClick={() => call('/api/whmcs/sync/unlink', { entity_type: 'client', laravel_id: user.id })}>{t('unlink')}</button>
        </div>
        <form class="inline" onSubmit={(e) => { e.preventDefault(); call('/api/whmcs/sync/link', { laravel_id: user.id, whmcs_id: Number(whmcsId) }); }}>
          <input aria-label="WHMCS id" placeholder="WHMCS id" inputMode="numeric" value={whmcsId} onInput={(e) => setWhmcsId((e.target as HTMLInputElement).value)} />
          <button type="submit" class="secondary">{t('link')}</button>
        </form>
        <Alert error={error} />
        {out && <pre class="result">{JSON.stringify(out, null, 2)}</pre>}
        <footer><button class="secondary" onClick={onClose}>{t('close')}</button></footer>
      </article>
    </dialog>
  );
}
