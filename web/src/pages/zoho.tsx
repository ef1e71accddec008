import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { t } from '../i18n.ts';
import { Alert, Pager, Table, useApi } from '../components.tsx';

export function Zoho() {
  const code = useApi<any>('/api/zoho/code');
  const stats = useApi<any>('/api/zoho/code/stats');
  const history = useApi<any>('/api/zoho/code/history');
  const [page, setPage] = useState(1);
  const products = useApi<any>(`/api/products?page=${page}&per_page=20`);
  const [error, setError] = useState<string | null>(null);
  const sync = () => api('/api/zoho/code/sync', { method: 'POST' }).then(() => { code.reload(); history.reload(); stats.reload(); }, (e) => setError(e.message));
  const active = code.data?.data ?? code.data?.code ?? code.data;
  const list = (d: any) => (Array.isArray(d) ? d : (d?.data ?? d?.history ?? d?.items ?? []));
  return (
    <section>
      <h1>{t('zoho')}</h1>
      <Alert error={error ?? code.error} />
      <article>
        <header>{t('activeCode')}</header>
        <pre>{JSON.stringify(active, null, 2)}</pre>
        {stats.data && <pre>{JSON.stringify(stats.data.stats ?? stats.data, null, 2)}</pre>}
        <button onClick={sync}>{t('syncNow')}</button>
      </article>
      <h3>{t('history')}</h3>
      <Table rows={list(history.data)} columns={[
        ['id', (c) => c.id],
        [t('created'), (c) => c.created_at],
        ['expired_at', (c) => c.expired_at ?? '—'],
      ]} />
      <h3>{t('products')}</h3>
      <Table rows={list(products.data)} columns={[
        [t('name'), (p) => p.name],
        ['SKU', (p) => p.sku ?? '—'],
        ['rate', (p) => p.rate ?? '—'],
        [t('status'), (p) => p.status ?? (p.active ? 'active' : 'inactive')],
      ]} />
      {products.data?.meta && <Pager page={page} totalPages={products.data.meta.total_pages ?? 1} onPage={setPage} />}
    </section>
  );
}
