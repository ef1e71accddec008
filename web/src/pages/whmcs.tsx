import { useEffect, useState } from 'preact/hooks';
import { api, type ApiError } from '../api.ts';
import { errorText, has, label, t, tf, when } from '../i18n.ts';
import { Alert, Notice, Pager, Table, useApi } from '../components.tsx';
import type { LogsReply, TestReply, WhmcsStatsReply } from '../../../src/modules/whmcs/whmcs.contract.ts';

const PER_PAGE = 25;

/** The WHMCS link as a whole: connection test, counts of linked customers, and the audit log. */
/** A log's operation (`push`) or action (`AddClient`, `map.link`) in words; unknown ones as they are. */
function words(prefix: 'wo' | 'wa', value: string | null) {
  if (!value) return '—';
  const key = `${prefix}_${value.replace('.', '_')}`;
  return has(key) ? t(key) : value;
}

/**
 * What an administrator sets for the WHMCS link, for when it is off or not configured: the names of
 * the server's settings belong here (this page is admin-only), not in the customer dialogs.
 */
function Settings() {
  const names = ['WHMCS_ENABLED', 'WHMCS_API_URL', 'WHMCS_API_IDENTIFIER', 'WHMCS_API_SECRET', 'WHMCS_API_ACCESS_KEY'] as const;
  return (
    <article data-testid="whmcs-settings" aria-labelledby="whmcs-settings-title">
      <header>
        <h2 id="whmcs-settings-title">{t('whmcsSettings')}</h2>
      </header>
      <p>{t('whmcsSettingsIntro')}</p>
      <dl class="facts">
        {names.map((n) => (
          <>
            <dt>
              <code>{n}</code>
            </dt>
            <dd>{t(`ws_${n}`)}</dd>
          </>
        ))}
        <dt>
          <code>WHMCS_DEFAULT_CITY</code>, <code>WHMCS_DEFAULT_STATE</code>, <code>WHMCS_DEFAULT_POSTCODE</code>
        </dt>
        <dd>{t('ws_defaults')}</dd>
      </dl>
    </article>
  );
}

export function Whmcs() {
  const stats = useApi<WhmcsStatsReply>('/api/whmcs/sync/stats');
  const [status, setStatus] = useState<'' | 'success' | 'error'>('');
  const [days, setDays] = useState(7);
  const [page, setPage] = useState(1);
  const [logs, setLogs] = useState<LogsReply | null>(null);
  const [logsError, setLogsError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  const [test, setTest] = useState<{ ok?: string; error?: string; busy?: boolean }>({});

  // The log is a POST (filters in the body), so it is loaded here rather than with useApi.
  useEffect(() => {
    let live = true;
    const body = { days, limit: PER_PAGE, offset: (page - 1) * PER_PAGE, ...(status ? { status } : {}) };
    api<LogsReply>('/api/whmcs/sync/logs', { body }).then(
      (r) => live && (setLogs(r), setLogsError(null)),
      (e: ApiError) => live && (setLogs(null), setLogsError(errorText(e))),
    );
    return () => void (live = false);
  }, [status, days, page, tick]);

  async function testConnection() {
    setTest({ busy: true });
    try {
      const r = await api<TestReply>('/api/whmcs/sync/test');
      setTest({ ok: tf('connectionOk', { version: r.whmcs_version, ms: r.response_time_ms }) });
    } catch (e) {
      setTest({ error: errorText(e) });
    }
  }
  const refresh = () => {
    stats.reload();
    setTick((n) => n + 1);
  };
  const s = stats.data?.stats;
  // A disabled or unconfigured link answers 503 everywhere (and 403 to operators): say it once.
  const disabled = stats.status === 503 || stats.status === 403;

  return (
    <section>
      <h1>{t('whmcs')}</h1>
      <Alert error={stats.error} />
      {stats.status === 503 && <Settings />}
      {!disabled && (
        <>
          <div class="actions">
            <button class="secondary" aria-busy={!!test.busy} onClick={testConnection}>
              {t('testConnection')}
            </button>
            <button class="outline" onClick={refresh}>
              {t('refresh')}
            </button>
          </div>
          <Alert error={test.error} />
          <Notice text={test.ok} />
          <h3>{t('stats')}</h3>
          {s && (
            <div class="stat-grid" data-testid="whmcs-stats">
              <article>
                <small>{t('totalSynced')}</small>
                <strong data-testid="total-synced">{s.total_synced}</strong>
              </article>
              <article>
                <small>{t('totalPending')}</small>
                <strong>{s.total_pending}</strong>
              </article>
              <article>
                <small>{t('totalErrors')}</small>
                <strong>{s.total_errors}</strong>
              </article>
              <article>
                <small>{t('lastActivity')}</small>
                <span>{when(s.last_activity_at)}</span>
              </article>
            </div>
          )}
          <h3>{t('logs')}</h3>
          <div class="grid filters">
            <label>
              {t('status')}
              <select
                value={status}
                onChange={(e) => {
                  setStatus((e.target as HTMLSelectElement).value as typeof status);
                  setPage(1);
                }}
              >
                <option value="">{t('all')}</option>
                <option value="success">{label('ls', 'success')}</option>
                <option value="error">{label('ls', 'error')}</option>
              </select>
            </label>
            <label>
              {t('days')}
              <select
                value={String(days)}
                onChange={(e) => {
                  setDays(Number((e.target as HTMLSelectElement).value));
                  setPage(1);
                }}
              >
                {[1, 7, 30, 90].map((n) => (
                  <option value={String(n)}>{tf('lastDays', { n })}</option>
                ))}
              </select>
            </label>
          </div>
          <Alert error={logsError} />
          {logs && (
            <>
              <Table
                label={t('logs')}
                rows={logs.logs}
                columns={[
                  [t('when'), (l) => when(l.created_at)],
                  [t('operation'), (l) => words('wo', l.operation)],
                  [t('action'), (l) => <span title={l.action}>{words('wa', l.action)}</span>],
                  [t('status'), (l) => <mark data-status={l.status === 'success' ? 'completed' : 'failed'}>{label('ls', l.status)}</mark>],
                  [t('localId'), (l) => l.laravel_id ?? '—'],
                  [t('whmcsId'), (l) => (l.whmcs_id ? `#${l.whmcs_id}` : '—')],
                  [t('duration'), (l) => (l.duration_ms === null ? '—' : `${l.duration_ms} ms`)],
                  [t('error'), (l) => l.error_message ?? ''],
                ]}
              />
              {logs.total > PER_PAGE && <Pager page={page} totalPages={Math.ceil(logs.total / PER_PAGE)} onPage={setPage} />}
            </>
          )}
        </>
      )}
    </section>
  );
}
