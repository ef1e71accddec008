import { t } from '../i18n.ts';
import { Alert, Table, useApi } from '../components.tsx';

export function SyncClients() {
  const clients = useApi<any>('/api/sync-clients');
  const orders = useApi<any>('/orders?limit=20');
  const list = (d: any) => (Array.isArray(d) ? d : (d?.data ?? d?.clients ?? d?.orders ?? []));
  return (
    <section>
      <h1>{t('syncClients')}</h1>
      <Alert error={clients.error} />
      <Table rows={list(clients.data)} columns={[
        [t('name'), (c) => c.name],
        [t('status'), (c) => (c.connected ? t('connected') : t('disconnected'))],
        [t('lastSeen'), (c) => c.last_seen_at ?? c.last_seen ?? '—'],
        [t('lag'), (c) => c.cursor_lag ?? c.lag ?? '—'],
      ]} />
      <h3>{t('orders')}</h3>
      <Table rows={list(orders.data)} columns={[
        ['id', (o) => o.id],
        [t('status'), (o) => o.status],
        [t('created'), (o) => o.created_at],
      ]} />
    </section>
  );
}
