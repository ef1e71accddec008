import { has, num, t, when } from '../i18n.ts';
import { Alert, Table, useApi } from '../components.tsx';

export function SyncClients() {
  const clients = useApi<any>('/api/sync-clients');
  const orders = useApi<any>('/orders?limit=20');
  const list = (d: any) => (Array.isArray(d) ? d : (d?.data ?? d?.clients ?? d?.orders ?? []));
  return (
    <section>
      <h1>{t('syncClients')}</h1>
      <Alert error={clients.error} />
      <Table label={t('syncClients')} rows={list(clients.data)} columns={[
        [t('name'), (c) => c.name],
        [t('status'), (c) => (c.connected ? t('connected') : t('disconnected'))],
        [t('lastSeen'), (c) => when(c.last_seen_at ?? c.last_seen)],
        [t('lag'), (c) => { const lag = c.cursor_lag ?? c.lag; return typeof lag === 'number' ? num(lag) : '—'; }],
      ]} />
      <h2>{t('orders')}</h2>
      <Table label={t('orders')} rows={list(orders.data)} columns={[
        [t('orderNumber'), (o) => o.external_ref ?? `#${o.id}`],
        [t('status'), (o) => { const k = `os_${o.status}`; return has(k) ? t(k) : o.status ?? '—'; }],
        [t('total'), (o) => (o.total === undefined || o.total === null ? '—' : num(Number(o.total)))],
        [t('created'), (o) => when(o.created_at)],
      ]} />
    </section>
  );
}
