import { useEffect, useRef, useState } from 'preact/hooks';
import { api, type ApiError, getSession } from '../api.ts';
import { errorText, has, label, num, t, tf, when, type Key } from '../i18n.ts';
import { Alert, LiveJob, Notice, Pager, Table, useApi } from '../components.tsx';
import type { User, UsersReply } from '../../../src/modules/users/users.contract.ts';
import type { WisproSyncStarted, WisproSyncStatus } from '../../../src/modules/wispro/wispro.contract.ts';
import type { CheckReply, LinksReply } from '../../../src/modules/whmcs/whmcs.contract.ts';

const SEARCH_DEBOUNCE_MS = 300;

export function Customers() {
  const [typed, setTyped] = useState('');
  const [search, setSearch] = useState('');
  const [page, setPage] = useState(1);
  const [jobId, setJobId] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<User | null>(null);
  // Searches as the operator types, once typing pauses; Enter searches at once.
  useEffect(() => {
    const timer = setTimeout(() => {
      setSearch(typed.trim());
      setPage(1);
    }, SEARCH_DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [typed]);
  const q = new URLSearchParams({ page: String(page), per_page: '25', role: 'customer', ...(search ? { search } : {}) });
  const { data, error: loadError, loading, reload } = useApi<UsersReply>(`/api/users?${q}`);
  const wispro = useApi<WisproSyncStatus>('/api/users/sync-wispro-status');
  const schedule = wispro.data?.schedule;
  async function startSync() {
    setError(null);
    try {
      const res = await api<WisproSyncStarted>('/api/users/sync-wispro-all', { method: 'POST' });
      setJobId(res.job_id);
    } catch (e) {
      setError(errorText(e));
    }
  }
  const rows = data?.data ?? [];
  const pending = loading || typed.trim() !== search;
  // The WHMCS link of the customers shown (admins only; operators do not see WHMCS).
  const isAdmin = getSession()?.role === 'admin';
  const ids = rows.map((u) => u.id).join(',');
  const links = useApi<LinksReply>(isAdmin && ids ? `/api/whmcs/sync/links?ids=${ids}` : null, [selected]);
  const linkOf = new Map((links.data?.links ?? []).map((l) => [l.laravel_id, l]));
  return (
    <section>
      <h1>{t('customers')}</h1>
      <div class="toolbar">
        <div class="search">
          <form
            role="search"
            onSubmit={(e) => {
              e.preventDefault();
              setSearch(typed.trim());
              setPage(1);
            }}
          >
            <input
              name="q"
              type="search"
              placeholder={t('searchHint')}
              aria-label={t('search')}
              aria-describedby="search-hint"
              value={typed}
              onInput={(e) => setTyped((e.target as HTMLInputElement).value)}
            />
          </form>
          <small id="search-hint" class="muted">
            {t('searchHint')}
          </small>
        </div>
        <button onClick={startSync}>{t('syncWispro')}</button>
      </div>
      {schedule && (
        <p>
          <small data-testid="wispro-schedule">
            {schedule.enabled ? `${t('nextWisproSync')}: ${when(schedule.next_run_at)} (${schedule.cron}, ${schedule.timezone})` : t('wisproSyncOff')}
          </small>
        </p>
      )}
      {jobId && <LiveJob jobId={jobId} name={label('jt', 'wispro.sync')} onDone={() => reload()} />}
      <Alert error={error ?? loadError} />
      <p class="muted" aria-live="polite" data-testid="customers-total">
        {pending ? (
          <span aria-busy="true">{t('searching')}</span>
        ) : data?.meta ? (
          tf(search ? 'customersFound' : 'customersTotal', { n: num(data.meta.total), q: search })
        ) : null}
      </p>
      {!pending && data && !rows.length ? (
        <p data-testid="no-results">{search ? tf('noCustomersFor', { q: search }) : t('noCustomers')}</p>
      ) : (
        <Table
          label={t('customers')}
          rows={rows}
          columns={[
            [
              t('name'),
              (u) => (
                // biome-ignore lint/a11y/useValidAnchor: the name reads and focuses as a link; it opens the customer's panel
                <a
                  href="#"
                  onClick={(e) => {
                    e.preventDefault();
                    setSelected(u);
                  }}
                >
                  {u.name}
                </a>
              ),
            ],
            [t('idNumber'), (u) => <span class="nowrap">{u.id_number ?? '—'}</span>],
            [t('phone'), (u) => <span class="nowrap">{u.phone ?? '—'}</span>],
            [t('email'), (u) => u.email ?? '—'],
            [t('zone'), (u) => u.zone ?? '—'],
            ...(isAdmin ? [[t('whmcs'), (u: User) => whmcsCell(linkOf.get(u.id))] as [string, (u: User) => preact.ComponentChildren]] : []),
          ]}
        />
      )}
      {data?.meta && data.meta.total_pages > 1 && <Pager page={data.meta.current_page} totalPages={data.meta.total_pages} onPage={setPage} />}
      {selected && <CustomerWhmcs key={selected.id} user={selected} onClose={() => setSelected(null)} />}
    </section>
  );
}

/** `POST /api/whmcs/clients/check/{id}`: the link between a local customer and WHMCS. */
type WhmcsState = CheckReply;

/** A customer's WHMCS link in a list: the WHMCS id when synced, else the link's state in words. */
function whmcsCell(link: { whmcs_id: number | null; sync_status: string | null } | undefined) {
  if (!link) return <span class="muted">{t('notLinked')}</span>;
  if (link.sync_status === 'synced' && link.whmcs_id) return <span data-testid="whmcs-link">#{link.whmcs_id}</span>;
  return (
    <span>
      {label('sc', link.sync_status)}
      {link.whmcs_id ? ` (#${link.whmcs_id})` : ''}
    </span>
  );
}

/** A WHMCS field WHMCS requires, as what the customer's record lacks. */
function missingText(field: string) {
  const key = `mf_${field}`;
  return has(key) ? t(key) : field;
}

const yesNo = (v: boolean | null | undefined) => (v === null || v === undefined ? '—' : v ? t('yes') : t('no'));

/** A customer's details and their WHMCS link: state on open, and push, update, check, link, unlink. */
function CustomerWhmcs({ user, onClose }: { user: User; onClose: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [state, setState] = useState<WhmcsState | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [conflictId, setConflictId] = useState<number | null>(null);
  const [missing, setMissing] = useState<string[]>([]);
  const [busy, setBusy] = useState<string | null>('check');
  const [whmcsId, setWhmcsId] = useState('');

  useEffect(() => {
    const d = dialog.current!;
    if (!d.open) d.showModal();
    const closed = () => onClose();
    d.addEventListener('close', closed);
    return () => d.removeEventListener('close', closed);
  }, []);

  async function refresh() {
    setState(await api<WhmcsState>(`/api/whmcs/clients/check/${user.id}`, { method: 'POST' }));
  }

  async function run(key: string, fn: () => Promise<unknown>, done?: Key) {
    setError(null);
    setNotice(null);
    setConflictId(null);
    setMissing([]);
    setBusy(key);
    try {
      await fn();
      await refresh();
      if (done) setNotice(t(done));
    } catch (e) {
      const err = e as ApiError;
      setError(errorText(err));
      if (err.body?.code === 'whmcs.email_exists' && typeof err.body.whmcs_id === 'number') setConflictId(err.body.whmcs_id);
      if ((err.body?.code === 'whmcs.missing_fields' || err.body?.code === 'whmcs.customer_without_email') && Array.isArray(err.body.missing_fields)) {
        // Said in terms of this customer's data below, not of WHMCS's field names or settings.
        setError(null);
        setMissing(err.body.missing_fields);
      }
    } finally {
      setBusy(null);
    }
  }
  useEffect(() => void run('check', async () => {}), [user.id]);

  const post =
    (path: string, body: unknown = {}) =>
    () =>
      api(path, { body });
  const link = (id: number) => run('link', post('/api/whmcs/sync/link', { entity_type: 'client', laravel_id: user.id, whmcs_id: id }), 'linkedNotice');
  const linked = !!state?.whmcs_id;

  return (
    <dialog ref={dialog} aria-labelledby="customer-title" class="customer-dialog">
      <article>
        <header>
          <h3 id="customer-title">{user.name}</h3>
        </header>
        <dl class="facts">
          <dt>{t('idNumber')}</dt>
          <dd>{user.id_number ?? '—'}</dd>
          <dt>{t('email')}</dt>
          <dd>{user.email ?? '—'}</dd>
          <dt>{t('phone')}</dt>
          <dd>{user.phone ?? '—'}</dd>
          <dt>{t('address')}</dt>
          <dd>{[user.address, user.city, user.state].filter(Boolean).join(', ') || '—'}</dd>
          <dt>{t('zone')}</dt>
          <dd>{user.zone ?? '—'}</dd>
        </dl>
        <h4>{t('whmcsState')}</h4>
        <section
          aria-label={t('whmcsState')}
          aria-busy={busy === 'check' && !state}
          data-testid="whmcs-state"
          data-synced={state ? String(state.synced) : undefined}
        >
          {state && (
            <dl class="facts">
              <dt>{t('synced')}</dt>
              <dd>
                <mark data-state={state.synced ? 'synced' : 'unsynced'}>{state.synced ? t('yes') : linked ? t('no') : t('notLinked')}</mark>
              </dd>
              <dt>{t('whmcsId')}</dt>
              <dd data-testid="whmcs-id">{state.whmcs_id ? `#${state.whmcs_id}` : '—'}</dd>
              <dt>{t('syncStatus')}</dt>
              <dd>{label('sc', state.sync_status)}</dd>
              <dt>{t('lastSync')}</dt>
              <dd>{when(state.last_synced_at)}</dd>
              {linked && (
                <>
                  <dt>{t('existsInWhmcs')}</dt>
                  <dd>{yesNo(state.exists_in_whmcs)}</dd>
                </>
              )}
              {state.last_error && (
                <>
                  <dt>{t('lastError')}</dt>
                  <dd>{state.last_error}</dd>
                </>
              )}
              {state.remote_error && (
                <>
                  <dt>{t('error')}</dt>
                  <dd>{state.remote_error}</dd>
                </>
              )}
            </dl>
          )}
        </section>
        <div class="actions" role="group" aria-label={t('whmcs')}>
          <button
            aria-busy={busy === 'push'}
            disabled={!!busy}
            onClick={() => run('push', post(`/api/whmcs/clients/push/${user.id}`, { force_create: false }), 'pushedNotice')}
          >
            {t('push')}
          </button>
          {linked && (
            <button
              class="secondary"
              aria-busy={busy === 'update'}
              disabled={!!busy}
              onClick={() => run('update', post(`/api/whmcs/clients/update/${user.id}`), 'updatedNotice')}
            >
              {t('update')}
            </button>
          )}
          <button class="secondary" aria-busy={busy === 'check'} disabled={!!busy} onClick={() => run('check', async () => {})}>
            {t('check')}
          </button>
          {linked && (
            <button
              class="secondary outline"
              aria-busy={busy === 'unlink'}
              disabled={!!busy}
              onClick={() => run('unlink', post('/api/whmcs/sync/unlink', { entity_type: 'client', laravel_id: user.id }), 'unlinkedNotice')}
            >
              {t('unlink')}
            </button>
          )}
        </div>
        {!linked && (
          <form
            class="inline"
            onSubmit={(e) => {
              e.preventDefault();
              if (Number(whmcsId) > 0) void link(Number(whmcsId));
            }}
          >
            <input
              aria-label={t('whmcsId')}
              placeholder={t('whmcsId')}
              inputMode="numeric"
              pattern="[0-9]+"
              required
              value={whmcsId}
              onInput={(e) => setWhmcsId((e.target as HTMLInputElement).value)}
            />
            <button type="submit" class="secondary" aria-busy={busy === 'link'} disabled={!!busy}>
              {t('link')}
            </button>
          </form>
        )}
        <Alert error={error} />
        {missing.length > 0 && (
          <div role="alert" class="alert" data-testid="missing-fields">
            <p>{t('missingFieldsIntro')}</p>
            <ul>
              {[...new Set(missing.map(missingText))].map((m) => (
                <li>{m}</li>
              ))}
            </ul>
            <p>
              <small>{t('missingFieldsFix')}</small>
            </p>
          </div>
        )}
        {conflictId !== null && (
          <button class="contrast" disabled={!!busy} onClick={() => link(conflictId)}>
            {tf('linkTo', { id: conflictId })}
          </button>
        )}
        <Notice text={notice} />
        <footer>
          <button class="secondary" onClick={() => dialog.current?.close()}>
            {t('close')}
          </button>
        </footer>
      </article>
    </dialog>
  );
}
