import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { errorText, has, t, tf, when, type Key } from '../i18n.ts';
import { Alert, Confirm, Notice, Pager, useApi } from '../components.tsx';
import type { Device, DeviceList } from '../../../src/modules/messaging/messaging.contract.ts';

type Provider = Device['provider'];
const PROVIDERS: Provider[] = ['cloud', 'evolution', 'waha', 'simulator'];
const PROVIDER_NAMES: Record<Provider, string> = { cloud: 'Meta Cloud API', evolution: 'Evolution API', waha: 'WAHA', simulator: 'Simulator' };

/** The credentials each engine needs (as the server checks them); secrets are never shown back. */
const CREDENTIALS: Record<Provider, { key: string; required?: boolean; secret?: boolean; placeholder?: string }[]> = {
  cloud: [
    { key: 'access_token', required: true, secret: true },
    { key: 'phone_number_id', required: true },
    { key: 'api_version', placeholder: 'v21.0' },
    { key: 'business_account_id' },
  ],
  evolution: [
    { key: 'api_key', required: true, secret: true },
    { key: 'instance', required: true },
  ],
  waha: [
    { key: 'api_key', required: true, secret: true },
    { key: 'session', placeholder: 'default' },
  ],
  simulator: [
    { key: 'token', required: true, secret: true },
    { key: 'device_id', required: true },
  ],
};

/** Pacing fields: `nullable` ones mean "no limit" when empty, the others 0. */
type PacingKey = keyof Device['pacing'];
const PACING: { key: PacingKey; label: Key; nullable?: boolean; min: number; max?: number; only?: Provider }[] = [
  { key: 'messages_per_minute', label: 'messagesPerMinute', nullable: true, min: 1, max: 100_000 },
  { key: 'min_gap_ms', label: 'minGap', min: 0, max: 3_600_000 },
  { key: 'max_gap_ms', label: 'maxGap', min: 0, max: 3_600_000 },
  { key: 'pause_after', label: 'pauseAfter', nullable: true, min: 1 },
  { key: 'pause_seconds', label: 'pauseSeconds', min: 0, max: 86_400 },
  { key: 'daily_cap', label: 'dailyCap', nullable: true, min: 1 },
  { key: 'typing_delay_ms', label: 'typingDelay', min: 0, max: 60_000, only: 'evolution' },
];

/** "20 msg/min · gap 1000–3000 ms · 60 s rest every 50 · 1000 per day". */
function pacingText(p: Record<string, number | null> | undefined): string {
  if (!p) return t('noPacing');
  const parts: string[] = [];
  if (p.messages_per_minute) parts.push(`${p.messages_per_minute} ${t('perMinute')}`);
  if (p.min_gap_ms || p.max_gap_ms)
    parts.push(`${t('gap')} ${p.max_gap_ms && p.max_gap_ms > (p.min_gap_ms ?? 0) ? `${p.min_gap_ms ?? 0}–${p.max_gap_ms}` : p.min_gap_ms} ms`);
  if (p.pause_after) parts.push(tf('restEvery', { s: p.pause_seconds ?? 0, n: p.pause_after }));
  if (p.daily_cap) parts.push(`${p.daily_cap} ${t('perDay')}`);
  if (p.typing_delay_ms) parts.push(`${t('typingDelay')}: ${p.typing_delay_ms}`);
  return parts.length ? parts.join(' · ') : t('noPacing');
}

export function Devices() {
  const [page, setPage] = useState(1);
  const { data, error, reload } = useApi<DeviceList>(`/devices?page=${page}&per_page=50`);
  const [actionError, setActionError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [editing, setEditing] = useState<number | null>(null);
  const [adding, setAdding] = useState(false);
  const devices: Device[] = data?.devices ?? [];

  async function run(key: string, fn: () => Promise<unknown>, done?: string) {
    setActionError(null);
    setNotice(null);
    setBusy(key);
    try {
      await fn();
      if (done) setNotice(done);
      reload();
      return true;
    } catch (e) {
      setActionError(errorText(e));
      return false;
    } finally {
      setBusy(null);
    }
  }
  const toggle = (d: Device) =>
    run(`${d.id}:toggle`, () => api(`/devices/${d.id}`, { method: 'PATCH', body: { status: d.status === 'paused' ? 'active' : 'paused' } }));
  const check = (d: Device) => run(`${d.id}:check`, () => api(`/devices/${d.id}/check`, { method: 'POST' }));
  const [removing, setRemoving] = useState<Device | null>(null);
  const remove = (d: Device) => void run(`${d.id}:remove`, () => api(`/devices/${d.id}`, { method: 'DELETE' }));

  return (
    <section>
      <h1>{t('devices')}</h1>
      <Alert error={error ?? actionError} />
      <Notice text={notice} />
      {!devices.length && !error && <p>{t('none')}</p>}
      <div class="cards">
        {devices.map((d) => (
          <article class="device" data-device-id={d.id} data-connected={String(!!d.connected)} data-status={d.status} aria-labelledby={`device-${d.id}`}>
            <header>
              <strong id={`device-${d.id}`}>{d.name}</strong> <small>{PROVIDER_NAMES[d.provider as Provider] ?? d.provider}</small>
              <div class="tags">
                <mark data-state={d.connected ? 'connected' : 'disconnected'}>{d.connected ? t('connected') : t('disconnected')}</mark>
                <mark data-state={d.status}>{d.status === 'paused' ? t('paused') : t('active')}</mark>
              </div>
            </header>
            <dl class="facts">
              <dt>{t('baseUrl')}</dt>
              <dd>
                <code>{d.base_url}</code>
              </dd>
              <dt>{t('connection')}</dt>
              <dd data-testid="connection-state">
                {stateText(d.connection_state)} · {t('lastCheck')}: {when(d.last_health_at)}
              </dd>
              {!d.connected && d.last_health_at && (
                <>
                  <dt>{t('whatToDo')}</dt>
                  <dd class="warning" data-testid="fix-hint">
                    {fixHint(d)}
                  </dd>
                </>
              )}
              {d.status_reason && (
                <>
                  <dt>{t('reason')}</dt>
                  <dd>{d.status_reason}</dd>
                </>
              )}
              {d.last_error && d.last_error !== d.status_reason && (
                <>
                  <dt>{t('lastError')}</dt>
                  <dd>{d.last_error}</dd>
                </>
              )}
              <dt>{t('sentToday')}</dt>
              <dd data-testid="sent-today">
                {d.sent_today}
                {d.pacing?.daily_cap ? ` / ${d.pacing.daily_cap}` : ''} · {t('total')} {d.sent_total}
              </dd>
              <dt>{t('pacing')}</dt>
              <dd data-testid="pacing">{pacingText(d.pacing)}</dd>
              {d.template_name && (
                <>
                  <dt>{t('templateName')}</dt>
                  <dd>
                    {d.template_name} ({d.template_language})
                  </dd>
                </>
              )}
              {d.current_job_id && (
                <>
                  <dt>{t('status')}</dt>
                  <dd>{tf('sendingJob', { id: String(d.current_job_id).slice(0, 8) })}</dd>
                </>
              )}
            </dl>
            <div class="actions" role="group" aria-label={`${t('actions')}: ${d.name}`}>
              <button
                class={d.status === 'paused' ? '' : 'secondary'}
                aria-busy={busy === `${d.id}:toggle`}
                aria-label={named(d.status === 'paused' ? 'resume' : 'pause', d.name)}
                onClick={() => toggle(d)}
              >
                {d.status === 'paused' ? t('resume') : t('pause')}
              </button>
              <button class="secondary" aria-busy={busy === `${d.id}:check`} aria-label={named('checkNow', d.name)} onClick={() => check(d)}>
                {t('checkNow')}
              </button>
              <button
                class="outline"
                aria-expanded={editing === d.id}
                aria-label={named('edit', d.name)}
                onClick={() => setEditing(editing === d.id ? null : d.id)}
              >
                {t('edit')}
              </button>
              <button class="outline secondary" aria-busy={busy === `${d.id}:remove`} aria-label={named('remove', d.name)} onClick={() => setRemoving(d)}>
                {t('remove')}
              </button>
            </div>
            {editing === d.id && (
              <DeviceForm
                device={d}
                busy={busy === `${d.id}:save`}
                onCancel={() => setEditing(null)}
                onSave={async (body) => {
                  if (await run(`${d.id}:save`, () => api(`/devices/${d.id}`, { method: 'PATCH', body }), t('deviceSaved'))) setEditing(null);
                }}
              />
            )}
          </article>
        ))}
      </div>
      {data?.meta && data.meta.total_pages > 1 && <Pager page={page} totalPages={data.meta.total_pages} onPage={setPage} />}
      <details open={adding} onToggle={(e) => setAdding((e.target as HTMLDetailsElement).open)}>
        <summary role="button" class="outline">
          {t('addDevice')}
        </summary>
        {adding && (
          <DeviceForm
            busy={busy === 'add'}
            onSave={async (body) => {
              if (await run('add', () => api('/devices', { body }), t('deviceSaved'))) setAdding(false);
            }}
          />
        )}
      </details>
      {removing && (
        <Confirm
          title={tf('confirmRemove', { name: removing.name })}
          yes={t('confirmRemoveYes')}
          no={t('keepDevice')}
          danger
          onNo={() => setRemoving(null)}
          onYes={() => {
            const d = removing;
            setRemoving(null);
            remove(d);
          }}
        >
          <p>{t('confirmRemoveBody')}</p>
        </Confirm>
      )}
    </section>
  );
}

/** A button's words with the device it acts on: «Pausar «Ventas 1»». */
const named = (action: Key, name: string) => tf('actionOn', { action: t(action), name });

/** The engine's word for its session (`open`, `WORKING`, `SCAN_QR_CODE`…) in the interface's language. */
function stateText(state: string | null | undefined) {
  if (!state) return '—';
  const key = `ds_${state.toLowerCase().replace(/^http (\d+)$/, 'http_$1')}`;
  return has(key) ? t(key) : state;
}

/** What to fix when the last check failed: the address, the key, or the WhatsApp session. */
function fixHint(d: Device): string {
  const state = String(d.connection_state ?? '').toLowerCase();
  const error = String(d.last_error ?? '');
  if (state === 'unreachable') return t('fix_unreachable');
  if (state === 'refused') return t('fix_refused');
  if (/http 40[13]|unauthori[sz]ed|forbidden|token|api key|apikey/i.test(`${state} ${error}`)) return t('fix_credentials');
  if (/http 404|not found|does not exist/i.test(`${state} ${error}`)) return t('fix_not_found');
  return t('fix_session');
}

/** Adds a device (no `device`) or edits one: only what changed is sent, and blank secrets are kept. */
function DeviceForm({
  device,
  busy,
  onSave,
  onCancel,
}: {
  device?: Device;
  busy: boolean;
  onSave: (body: Record<string, unknown>) => void;
  onCancel?: () => void;
}) {
  const editing = !!device;
  const [provider, setProvider] = useState<Provider>(device?.provider ?? 'cloud');
  const idp = editing ? `dev${device.id}-` : 'new-';

  function submit(e: Event) {
    e.preventDefault();
    const f = new FormData(e.target as HTMLFormElement);
    const text = (k: string) => String(f.get(k) ?? '').trim();
    const body: Record<string, unknown> = {};
    if (!editing || text('name') !== device.name) body.name = text('name');
    if (!editing) body.provider = provider;
    // Cloud API has one address: left empty, the server uses Meta's.
    if (text('base_url') ? !editing || text('base_url') !== device.base_url : !editing && provider !== 'cloud') body.base_url = text('base_url');
    const credentials: Record<string, string> = {};
    for (const c of CREDENTIALS[provider]) {
      const v = text(`cred_${c.key}`);
      if (v && (!editing || v !== device.credentials?.[c.key])) credentials[c.key] = v;
    }
    if (!editing || Object.keys(credentials).length) body.credentials = credentials;
    for (const p of PACING) {
      if (p.only && p.only !== provider) continue;
      const v = text(p.key);
      const value = v === '' ? (p.nullable ? null : 0) : Number(v);
      if (editing ? value !== (device.pacing[p.key] ?? (p.nullable ? null : 0)) : v !== '') body[p.key] = value;
    }
    if (provider === 'cloud') {
      const name = text('template_name') || null;
      if (editing ? name !== device.template_name : name) body.template_name = name;
      const language = text('template_language');
      if (language && language !== device?.template_language) body.template_language = language;
    }
    onSave(body);
  }

  /** A label, its input and an optional hint (outside the label, so the accessible name stays short). */
  const field = (name: string, labelText: string, input: preact.JSX.Element, hint?: string) => (
    // Credential inputs are new elements for each provider, so one engine's secret never shows under another's label.
    <div key={name.startsWith('cred_') ? `${provider}:${name}` : name}>
      <label for={idp + name}>{labelText}</label>
      {input}
      {hint && <small id={`${idp + name}-hint`}>{hint}</small>}
    </div>
  );
  const pacingValue = (k: PacingKey) => {
    const v = device?.pacing[k];
    return v === null || v === undefined || v === 0 ? '' : String(v);
  };

  return (
    <form onSubmit={submit} class="device-form" aria-label={editing ? `${t('editDevice')}: ${device.name}` : t('addDevice')}>
      <div class="grid">
        {field('name', t('name'), <input id={idp + 'name'} name="name" required maxLength={120} defaultValue={device?.name} />)}
        {field(
          'provider',
          t('provider'),
          <select
            id={idp + 'provider'}
            name="provider"
            value={provider}
            disabled={editing}
            onChange={(e) => setProvider((e.target as HTMLSelectElement).value as Provider)}
          >
            {PROVIDERS.map((p) => (
              <option value={p}>{PROVIDER_NAMES[p]}</option>
            ))}
          </select>,
        )}
      </div>
      {field(
        'base_url',
        provider === 'cloud' ? t('baseUrlOptional') : t('baseUrl'),
        <input
          id={idp + 'base_url'}
          name="base_url"
          type="url"
          required={provider !== 'cloud'}
          placeholder={provider === 'cloud' ? 'https://graph.facebook.com' : 'https://'}
          defaultValue={device?.base_url}
        />,
      )}
      <fieldset>
        <legend>{t('credentials')}</legend>
        <div class="grid">
          {CREDENTIALS[provider].map((c) =>
            field(
              `cred_${c.key}`,
              t(`cred_${c.key}` as Key),
              <input
                id={idp + `cred_${c.key}`}
                name={`cred_${c.key}`}
                type={c.secret ? 'password' : 'text'}
                autocomplete="off"
                placeholder={c.placeholder}
                required={c.required && !(editing && c.secret)}
                defaultValue={c.secret ? '' : (device?.credentials?.[c.key] ?? '')}
                aria-describedby={editing && c.secret ? `${idp}cred_${c.key}-hint` : undefined}
              />,
              editing && c.secret ? t('keepSecret') : undefined,
            ),
          )}
        </div>
      </fieldset>
      <fieldset>
        <legend>{t('pacing')}</legend>
        <div class="grid pacing-grid">
          {PACING.filter((p) => !p.only || p.only === provider).map((p) =>
            field(
              p.key,
              t(p.label),
              <input
                id={idp + p.key}
                name={p.key}
                type="number"
                inputMode="numeric"
                min={p.min}
                max={p.max}
                step={1}
                defaultValue={pacingValue(p.key)}
                placeholder={p.nullable ? t('emptyIsUnlimited') : '0'}
              />,
            ),
          )}
        </div>
      </fieldset>
      {provider === 'cloud' && (
        <div class="grid">
          {field(
            'template_name',
            t('templateName'),
            <input id={idp + 'template_name'} name="template_name" maxLength={512} defaultValue={device?.template_name ?? ''} />,
          )}
          {field(
            'template_language',
            t('templateLanguage'),
            <input
              id={idp + 'template_language'}
              name="template_language"
              minLength={2}
              maxLength={15}
              placeholder="es"
              defaultValue={device?.template_language ?? ''}
            />,
          )}
        </div>
      )}
      <div class="actions">
        <button type="submit" aria-busy={busy}>
          {t('save')}
        </button>
        {onCancel && (
          <button type="button" class="secondary" onClick={onCancel}>
            {t('cancel')}
          </button>
        )}
      </div>
    </form>
  );
}
