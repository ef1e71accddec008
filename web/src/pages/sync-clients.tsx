import { has, num, t, when } from '../i18n.ts';
import { Alert, Table, useApi } from '../components.tsx';
import type { OrderList, SyncClientList } from '../../../src/modules/sync-feed/sync-feed.contract.ts';

export function SyncClients() {
  const clients = useApi<SyncClientList>('/api/sync-clients');
  const orders = useApi<OrderList>('/orders?per_page=20');
  return (
    <section>
      <h1>{t('syncClients')}</h1>
      <Alert error={clients.error} />
      <Table
        label={t('syncClients')}
        rows={clients.data?.data ?? []}
        columns={[
          [t('name'), (c) => c.name],
          [t('status'), (c) => (c.connected ? t('connected') : t('disconnected'))],
          [t('lastSeen'), (c) => when(c.last_seen_at)],
          [t('lag'), (c) => num(c.cursor_lag)],
        ]}
      />
      <h2>{t('orders')}</h2>
      <Table
        label={t('orders')}
        rows={orders.data?.data ?? []}
        columns={[
          [t('orderNumber'), (o) => o.external_ref ?? `#${o.id}`],
          [
            t('status'),
            (o) => {
              const k = `os_${o.status}`;
              return has(k) ? t(k) : o.status;
            },
          ],
          [t('total'), (o) => num(o.total)],
          [t('created'), (o) => when(o.created_at)],
        ]}
      />
    </section>
  );
}
