import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { t } from '../i18n.ts';
import { Alert, LiveJob } from '../components.tsx';
import { previewFile, type Preview } from '../preview.ts';

export function BulkSend() {
  const [file, setFile] = useState<File | null>(null);
  const [message, setMessage] = useState('Hola @valor1, tu pedido @valor2 ha sido procesado');
  const [limit, setLimit] = useState(5);
  const [preview, setPreview] = useState<Preview | null>(null);
  const [jobId, setJobId] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function pick(f: File | null) {
    setFile(f);
    setPreview(f ? previewFile(await f.text(), message) : null);
  }
  async function refreshPreview(m: string) {
    setMessage(m);
    if (file) setPreview(previewFile(await file.text(), m));
  }
  async function send(e: Event) {
    e.preventDefault();
    if (!file) return;
    const form = new FormData();
    form.append('message', message);
    form.append('devices_limit', String(limit));
    form.append('file', file);
    setBusy(true);
    setError(null);
    try {
      const res = await api('/messages/send-bulk-file', { form });
      setJobId(res.job.id);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }
  return (
    <section>
      <h2>{t('bulk')}</h2>
      <form onSubmit={send}>
        <label
          class="dropzone"
          onDragOver={(e) => e.preventDefault()}
          onDrop={(e) => { e.preventDefault(); void pick(e.dataTransfer?.files[0] ?? null); }}
        >
          {t('file')}
          <input type="file" name="file" accept=".csv,.txt,text/csv,text/plain" required onChange={(e) => void pick((e.target as HTMLInputElement).files?.[0] ?? null)} />
        </label>
        <label>{t('message')}<textarea name="message" rows={3} value={message} onInput={(e) => void refreshPreview((e.target as HTMLTextAreaElement).value)} required /></label>
        <label>{t('devicesLimit')}<input type="number" name="devices_limit" min={1} max={50} value={limit} onInput={(e) => setLimit(Number((e.target as HTMLInputElement).value))} /></label>
        {preview && (
          <article aria-label={t('preview')} class="preview">
            <p><strong data-testid="preview-count">{preview.recipients}</strong> {t('recipients')} · {preview.invalid} {t('invalid')} · {preview.repeats} {t('repeats')}</p>
            <ul>{preview.samples.map((s) => <li><code>{s.phone}</code> — {s.text}</li>)}</ul>
          </article>
        )}
        <Alert error={error} />
        <button type="submit" aria-busy={busy} disabled={!file}>{t('send')}</button>
      </form>
      {jobId && <LiveJob jobId={jobId} />}
    </section>
  );
}
