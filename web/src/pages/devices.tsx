import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { t } from '../i18n.ts';
import { Alert, Table, useApi } from '../components.tsx';

export function Devices() {
  const { data, error, reload } = useApi<any>('/devices');
  const [formError, setFormError] = useState<string | null>(null);
  const devices: any[] = Array.isArray(data) ? data : (data?.devices ?? data?.data ?? []);
  async function add(e: Event) {
    e.preventDefault();
    const f = Object.fromEntries(new FormData(e.target as HTMLFormElement)) as Record<string, string>;
    setFormError(null);
    try {
      await api('/devices', { body: {
        name: f.name, provider: f.provider, base_url: f.base_url, credentials: { token: f.token, instance: f.instance || f.name },
        pacing: { messages_per_minute: Number(f.mpm) || undefined },
      } });
      (e.target as HTMLFormElement).reset();
      reload();
    } catch (err) {
      setFormError((err as Error).message);
    }
  }
  const toggle = (d: any) => api(`/devices/${d.id}`, { method: 'PATCH', body: { paused: !d.paused } }).then(reload, (e) => setFormError(e.message));
  return (
    <section>
      <h2>{t('devices')}</h2>
      <Alert error={error ?? formError} />
      <Table rows={devices} columns={[
        [t('name'), (d) => d.name],
        [t('provider'), (d) => d.provider],
        [t('status'), (d) => (d.paused ? t('paused') : d.connected ? t('connected') : t('disconnected'))],
        [t('pacing'), (d) => (d.pacing ? JSON.stringify(d.pacing) : '—')],
        ['', (d) => <button class="secondary" onClick={() => toggle(d)}>{d.paused ? t('resume') : t('pause')}</button>],
      ]} />
      <details>
        <summary>{t('add')}</summary>
        <form onSubmit={add}>
          <div class="grid">
            <label>{t('name')}<input name="name" required /></label>
            <label>{t('provider')}<select name="provider">{['cloud', 'evolution', 'waha', 'simulator'].map((p) => <option>{p}</option>)}</select></label>
          </div>
          <label>URL<input name="base_url" type="url" required /></label>
          <div class="grid">
            <label>Token / API key<input name="token" type="password" required /></label>
            <label>Instance / phone-number id<input name="instance" /></label>
            <label>msg/min<input name="mpm" type="number" min={1} /></label>
          </div>
          <button type="submit">{t('save')}</button>
        </form>
      </details>
    </section>
  );
}
