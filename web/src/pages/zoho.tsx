import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { errorText, has, minutesText, num, t, tf, when } from '../i18n.ts';
import { Alert, Pager, StatusMark, Table, outcomeOf, useApi } from '../components.tsx';
import type { CodeHistoryReply, CodeReply, ProductsReply, ZohoJobStarted, ZohoStats, ZohoStatsReply } from '../../../src/modules/zoho/zoho.contract.ts';

type LastSync = ZohoStats['last_code_sync'];

/** A sync run in words: when it ran, how it ended, and what it did or why it failed. */
function SyncRun({ title, run, everyMinutes }: { title: string; run: LastSync | null; everyMinutes: number }) {
  const next = run?.finished_at && everyMinutes ? new Date(new Date(run.finished_at).getTime() + everyMinutes * 60_000) : null;
  return (
    <article>
      <header>
        <strong>{title}</strong>
      </header>
      {!run ? (
        <p>{t('neverRan')}</p>
      ) : (
        <dl class="facts">
          <dt>{t('lastSync')}</dt>
          <dd>{when(run.finished_at ?? run.started_at)}</dd>
          <dt>{t('outcome')}</dt>
          <dd>
            <StatusMark status={run.status} outcome={outcomeOf(run.status, run.results ?? undefined)} />
          </dd>
          {run.results && Object.keys(run.results).length > 0 && (
            <>
              <dt>{t('details')}</dt>
              <dd>{resultWords(run.results)}</dd>
            </>
          )}
          {run.error && (
            <>
              <dt>{t('error')}</dt>
              <dd>{run.error}</dd>
            </>
          )}
        </dl>
      )}
      <p class="muted">
        {everyMinutes ? tf('everyMinutes', { n: everyMinutes }) : t('scheduleOff')}
        {next ? ` · ${tf('nextRun', { when: when(next) })}` : ''}
      </p>
    </article>
  );
}

/** A sync's result counters in words (`upserted` → "12 productos guardados"); unknown ones as `name: value`. */
function resultWords(r: Record<string, unknown>) {
  return Object.entries(r)
    .filter(([k, v]) => (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') && k !== 'since')
    .map(([k, v]) => {
      if (k === 'outcome' || k === 'mode') {
        const key = `zo_${v}`;
        return has(key) ? t(key) : String(v);
      }
      const key = `zr_${k}`;
      return has(key) ? tf(key, { n: typeof v === 'number' ? num(v) : String(v) }) : `${k}: ${v}`;
    })
    .join(' · ');
}

export function Zoho() {
  const code = useApi<CodeReply>('/api/zoho/code');
  const stats = useApi<ZohoStatsReply>('/api/zoho/code/stats');
  const history = useApi<CodeHistoryReply>('/api/zoho/code/history?limit=10');
  const [page, setPage] = useState(1);
  const products = useApi<ProductsReply>(`/api/products?page=${page}&per_page=20`);
  const [error, setError] = useState<string | null>(null);
  const sync = () =>
    api<ZohoJobStarted>('/api/zoho/code/sync', { method: 'POST' }).then(
      () => {
        code.reload();
        history.reload();
        stats.reload();
      },
      (e) => setError(errorText(e)),
    );
  const active = code.data?.data;
  const s = stats.data?.stats;
  return (
    <section>
      <h1>{t('zoho')}</h1>
      <Alert error={error ?? code.error} />
      <div class="cards">
        <article data-testid="zoho-code">
          <header>
            <strong>{t('activeCode')}</strong>
          </header>
          {active ? (
            <dl class="facts">
              <dt>{t('age')}</dt>
              <dd>{minutesText(active.age_seconds / 60)}</dd>
              <dt>{t('created')}</dt>
              <dd>{when(active.created_at)}</dd>
              {s && (
                <>
                  <dt>{t('codesKept')}</dt>
                  <dd>{tf('codesCount', { n: num(s.total_codes), expired: num(s.expired_codes) })}</dd>
                </>
              )}
            </dl>
          ) : (
            <p>{code.loading ? t('loading') : t('noActiveCode')}</p>
          )}
          <button onClick={sync}>{t('syncNow')}</button>
        </article>
        {s && <SyncRun title={t('codeSync')} run={s.last_code_sync} everyMinutes={s.code_sync_interval_minutes} />}
        {s && <SyncRun title={t('productSync')} run={s.last_product_sync} everyMinutes={s.product_sync_interval_minutes} />}
      </div>
      <h2>{t('history')}</h2>
      <Table
        label={t('history')}
        rows={history.data?.data ?? []}
        columns={[
          [t('created'), (c) => when(c.created_at)],
          [t('status'), (c) => (c.active ? t('codeActive') : tf('codeExpired', { when: when(c.expired_at) }))],
          [t('age'), (c) => minutesText(c.age_seconds / 60)],
        ]}
      />
      <h2>{t('products')}</h2>
      <Table
        label={t('products')}
        rows={products.data?.data ?? []}
        columns={[
          [t('name'), (p) => p.name],
          [t('sku'), (p) => p.sku ?? '—'],
          [t('price'), (p) => (p.rate === null || p.rate === undefined ? '—' : num(Number(p.rate)))],
          [
            t('stock'),
            (p) => (p.stock_on_hand === null || p.stock_on_hand === undefined ? '—' : `${num(Number(p.stock_on_hand))}${p.unit ? ` ${p.unit}` : ''}`),
          ],
          [t('status'), (p) => (p.active ? t('active') : t('inactive'))],
          [t('updated'), (p) => when(p.synced_at)],
        ]}
      />
      {products.data?.meta && products.data.meta.total_pages > 1 && <Pager page={page} totalPages={products.data.meta.total_pages} onPage={setPage} />}
    </section>
  );
}
