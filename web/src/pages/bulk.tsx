import { useEffect, useRef, useState } from 'preact/hooks';
import { api, download } from '../api.ts';
import { t, tf } from '../i18n.ts';
import { Alert, LiveJob, useApi } from '../components.tsx';

/** `POST /messages/preview`: what the server would do with this file and message. */
interface Preview {
  file_name: string;
  total_numbers: number;
  valid: number;
  invalid_numbers: number;
  duplicates: number;
  header_skipped: boolean;
  samples: { phone: string; text: string }[];
  invalid_samples: { raw_phone: string; error: string }[];
}

const MAX_MESSAGE = 4096;
const PREVIEW_DEBOUNCE_MS = 400;

function formOf(file: File, message: string, limit: number) {
  const form = new FormData();
  // Fields before the file: the server streams the file and reads the fields it has seen.
  form.append('message', message);
  form.append('devices_limit', String(limit));
  form.append('file', file);
  return form;
}

export function BulkSend() {
  const [file, setFile] = useState<File | null>(null);
  const [message, setMessage] = useState('Hola @valor1, tu pedido @valor2 ha sido procesado');
  const [limit, setLimit] = useState(5);
  const [preview, setPreview] = useState<Preview | null>(null);
  const [previewing, setPreviewing] = useState(false);
  const [jobId, setJobId] = useState<string | null>(null);
  const [jobDone, setJobDone] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const devices = useApi<any>('/devices?per_page=500', [jobId]);
  const ready = (devices.data?.devices ?? []).filter((d: any) => d.status === 'active' && d.connected).length;

  // The preview follows the file at once and the message after a pause in typing; a late answer
  // for an older file or message is dropped.
  const seq = useRef(0);
  const lastFile = useRef<File | null>(null);
  useEffect(() => {
    if (!file) {
      setPreview(null);
      return;
    }
    const mine = ++seq.current;
    const fileChanged = lastFile.current !== file;
    lastFile.current = file;
    const timer = setTimeout(async () => {
      setPreviewing(true);
      try {
        const p = await api<Preview>('/messages/preview', { form: formOf(file, message, limit) });
        if (mine !== seq.current) return;
        setPreview(p);
        setError(null);
      } catch (err) {
        if (mine !== seq.current) return;
        setPreview(null);
        setError((err as Error).message);
      } finally {
        if (mine === seq.current) setPreviewing(false);
      }
    }, fileChanged ? 0 : PREVIEW_DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [file, message]);

  function pick(f: File | null) {
    setError(null);
    setFile(f);
  }

  async function send(e: Event) {
    e.preventDefault();
    if (!file) return;
    setBusy(true);
    setError(null);
    try {
      const res = await api('/messages/send-bulk-file', { form: formOf(file, message, limit) });
      setJobDone(false);
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
          onDrop={(e) => { e.preventDefault(); pick(e.dataTransfer?.files[0] ?? null); }}
        >
          {t('file')}
          <input type="file" name="file" accept=".csv,.txt,text/csv,text/plain" required onChange={(e) => pick((e.target as HTMLInputElement).files?.[0] ?? null)} />
        </label>
        <label>{t('message')}<textarea name="message" rows={3} maxLength={MAX_MESSAGE} value={message} onInput={(e) => setMessage((e.target as HTMLTextAreaElement).value)} required /></label>
        <label>{t('devicesLimit')}<input type="number" name="devices_limit" min={1} max={100} value={limit} onInput={(e) => setLimit(Number((e.target as HTMLInputElement).value))} /></label>
        {devices.data && (
          <p class={ready ? 'muted' : 'alert'} data-testid="ready-devices">{ready ? tf('readyDevices', { n: ready }) : t('noReadyDevices')}</p>
        )}
        {file && (previewing || preview) && (
          <article aria-label={t('preview')} class="preview" aria-busy={previewing}>
            <header><strong>{t('preview')}</strong> {preview && <small>{preview.file_name}</small>}</header>
            {preview && (
              <>
                <p>
                  <strong data-testid="preview-count">{preview.valid}</strong> {t('validRecipients')}
                  {' · '}<strong data-testid="preview-invalid">{preview.invalid_numbers}</strong> {t('invalid')}
                  {' · '}<strong data-testid="preview-repeats">{preview.duplicates}</strong> {t('repeats')}
                  {preview.header_skipped && <><br /><small>{t('headerSkipped')}</small></>}
                </p>
                <h4>{t('firstMessages')}</h4>
                <ul class="samples">{preview.samples.map((s) => <li><code>{s.phone}</code> — <span>{s.text}</span></li>)}</ul>
                {preview.invalid_samples.length > 0 && (
                  <>
                    <h4>{t('invalidRows')}</h4>
                    <ul class="invalid-samples">{preview.invalid_samples.map((s) => <li><code>{s.raw_phone || '—'}</code> — <span>{s.error}</span></li>)}</ul>
                  </>
                )}
              </>
            )}
            {!preview && <p>{t('previewing')}</p>}
          </article>
        )}
        <Alert error={error} />
        <button type="submit" aria-busy={busy} disabled={!file || busy}>{t('send')}</button>
      </form>
      {jobId && (
        <LiveJob jobId={jobId} onDone={() => { setJobDone(true); devices.reload(); }}>
          {jobDone && (
            <button class="outline" onClick={() => download(`/jobs/${jobId}/results.csv`, `job-${jobId}-results.csv`).catch((e) => setError(e.message))}>{t('results')}</button>
          )}
        </LiveJob>
      )}
    </section>
  );
}
