import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, download } from '../api.ts';
import { errorText, minutesText, num, t, tf, when } from '../i18n.ts';
import { Alert, Confirm, LiveJob, useApi } from '../components.tsx';
import type { BulkPreviewReply as Preview, BulkSendReply, DeviceList, DuplicateSend } from '../../../src/modules/messaging/messaging.contract.ts';

/** A preview warning in the interface's language (the server's words when it is a new one). */
function warningText(w: NonNullable<Preview['warnings']>[number]) {
  if (w.code === 'messaging.wrong_separator') return tf('wrongSeparator', { separator: w.separator ?? '' });
  if (w.code === 'messaging.missing_column') return tf('missingColumn', { placeholder: w.placeholder ?? '', columns: w.columns ?? 0 });
  return w.message;
}

const MAX_MESSAGE = 4096;
const PREVIEW_DEBOUNCE_MS = 400;

function formOf(file: File, message: string, limit: number, confirmDuplicate = false) {
  const form = new FormData();
  // Fields before the file: the server streams the file and reads the fields it has seen.
  form.append('message', message);
  form.append('devices_limit', String(limit));
  if (confirmDuplicate) form.append('confirm_duplicate', 'true');
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
  const [jobName, setJobName] = useState<string | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [duplicate, setDuplicate] = useState<{ text: string } | null>(null);
  const devices = useApi<DeviceList>('/devices?per_page=500', [jobId]);
  const readyDevices = (devices.data?.devices ?? []).filter((d) => d.status === 'active' && d.connected);
  const ready = readyDevices.length;
  const wrongSeparator = preview?.warnings?.some((w) => w.code === 'messaging.wrong_separator') ?? false;
  const using = Math.min(ready, Math.max(1, limit));
  // The devices that would send, at their configured pace; a device without a pace makes the estimate unknown.
  const paces = readyDevices.slice(0, using).map((d) => d.pacing.messages_per_minute);
  const estimate =
    preview && paces.length && paces.every((p) => p) ? minutesText(preview.valid / paces.reduce<number>((a, b) => a + (b ?? 0), 0)) : t('durationUnknown');

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
    const timer = setTimeout(
      async () => {
        setPreviewing(true);
        try {
          const p = await api<Preview>('/messages/preview', { form: formOf(file, message, limit) });
          if (mine !== seq.current) return;
          setPreview(p);
          setError(null);
        } catch (err) {
          if (mine !== seq.current) return;
          setPreview(null);
          setError(errorText(err));
        } finally {
          if (mine === seq.current) setPreviewing(false);
        }
      },
      fileChanged ? 0 : PREVIEW_DEBOUNCE_MS,
    );
    return () => clearTimeout(timer);
  }, [file, message]);

  function pick(f: File | null) {
    setError(null);
    setDuplicate(null);
    setFile(f);
  }

  /** The form asks first (count, devices, time); the send itself happens on "yes". */
  function ask(e: Event) {
    e.preventDefault();
    if (!file || busy || wrongSeparator) return;
    setDuplicate(null);
    if (preview) setConfirming(true);
    else void send(false);
  }

  async function send(confirmDuplicate = false) {
    if (!file || busy) return;
    setConfirming(false);
    setDuplicate(null);
    setBusy(true);
    setError(null);
    try {
      const res = await api<BulkSendReply>('/messages/send-bulk-file', { form: formOf(file, message, limit, confirmDuplicate) });
      setJobDone(false);
      setJobName(file.name);
      setJobId(res.job.id);
    } catch (err) {
      if (err instanceof ApiError && err.body?.code === 'messaging.duplicate_send') {
        const d = (err.body.duplicate_of ?? null) as DuplicateSend | null;
        setDuplicate({ text: errorText(err, { name: d?.file_name ?? String(err.body.job_id).slice(0, 8) }) });
      } else setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section>
      <h1>{t('bulk')}</h1>
      <form onSubmit={ask} aria-label={t('bulk')}>
        <label
          class="dropzone"
          onDragOver={(e) => e.preventDefault()}
          onDrop={(e) => {
            e.preventDefault();
            pick(e.dataTransfer?.files[0] ?? null);
          }}
        >
          {t('file')}
          <input
            type="file"
            name="file"
            accept=".csv,.txt,text/csv,text/plain"
            required
            onChange={(e) => pick((e.target as HTMLInputElement).files?.[0] ?? null)}
          />
        </label>
        <label>
          {t('message')}
          <textarea
            name="message"
            rows={3}
            maxLength={MAX_MESSAGE}
            value={message}
            onInput={(e) => setMessage((e.target as HTMLTextAreaElement).value)}
            required
          />
        </label>
        <label>
          {t('devicesLimit')}
          <input type="number" name="devices_limit" min={1} max={100} value={limit} onInput={(e) => setLimit(Number((e.target as HTMLInputElement).value))} />
        </label>
        {devices.data && (
          <p class={ready ? 'muted' : 'alert'} data-testid="ready-devices">
            {ready ? tf('readyDevices', { n: ready }) : t('noReadyDevices')}
          </p>
        )}
        {file && (previewing || preview) && (
          <article aria-label={t('preview')} class="preview" aria-busy={previewing}>
            <header>
              <strong>{t('preview')}</strong> {preview && <small>{preview.file_name}</small>}
            </header>
            {preview && (
              <>
                <p>
                  <strong data-testid="preview-count">{preview.valid}</strong> {t('validRecipients')}
                  {' · '}
                  <strong data-testid="preview-invalid">{preview.invalid_numbers}</strong> {t('invalid')}
                  {' · '}
                  <strong data-testid="preview-repeats">{preview.duplicates}</strong> {t('repeats')}
                  {preview.header_skipped && (
                    <>
                      <br />
                      <small>{t('headerSkipped')}</small>
                    </>
                  )}
                </p>
                {preview.warnings?.map((w) => (
                  <p role="alert" class="alert warning" data-code={w.code}>
                    {warningText(w)}
                  </p>
                ))}
                {preview.duplicate_of && (
                  <p class="warning" data-testid="duplicate-preview">
                    {tf('duplicateInPreview', {
                      when: when(preview.duplicate_of.created_at),
                      name: preview.duplicate_of.file_name ?? preview.duplicate_of.job_id.slice(0, 8),
                    })}
                  </p>
                )}
                {preview.too_long && preview.too_long.count > 0 && (
                  <p class="too-long" role="alert" data-testid="preview-too-long">
                    {tf('tooLongRows', {
                      n: preview.too_long.count,
                      max: preview.too_long.max_length,
                      lines: preview.too_long.rows.map((r) => r.line).join(', '),
                    })}
                  </p>
                )}
                <h4>{t('firstMessages')}</h4>
                <ul class="samples">
                  {preview.samples.map((s) => (
                    <li>
                      <code>{s.phone}</code> — <span>{s.text ?? tf('tooLongSample', { n: s.length ?? 0 })}</span>
                    </li>
                  ))}
                </ul>
                {preview.invalid_samples.length > 0 && (
                  <>
                    <h4>{t('invalidRows')}</h4>
                    <ul class="invalid-samples">
                      {preview.invalid_samples.map((s) => (
                        <li>
                          <code>{s.raw_phone || '—'}</code> — <span>{s.error}</span>
                        </li>
                      ))}
                    </ul>
                  </>
                )}
              </>
            )}
            {!preview && <p>{t('previewing')}</p>}
          </article>
        )}
        <Alert error={error} />
        {duplicate && (
          <div role="alert" class="alert duplicate" data-testid="duplicate-send">
            <p>{duplicate.text}</p>
            <button type="button" class="secondary" aria-busy={busy} disabled={busy} onClick={() => send(true)}>
              {t('sendAnyway')}
            </button>
          </div>
        )}
        <button type="submit" aria-busy={busy} disabled={!file || busy || wrongSeparator || previewing}>
          {busy ? t('creatingSend') : t('send')}
        </button>
      </form>
      {confirming && preview && (
        <Confirm
          title={tf('confirmSendTitle', { n: num(preview.valid) })}
          yes={t('confirmSendYes')}
          no={t('back')}
          onNo={() => setConfirming(false)}
          onYes={() => send(false)}
        >
          <p data-testid="confirm-send">{tf('confirmSendBody', { n: num(preview.valid), devices: using, duration: estimate })}</p>
        </Confirm>
      )}
      {jobId && (
        <LiveJob
          jobId={jobId}
          name={jobName}
          onDone={() => {
            setJobDone(true);
            devices.reload();
          }}
        >
          {jobDone && (
            <button
              class="outline"
              onClick={() =>
                download(`/jobs/${jobId}/results.csv?lang=${document.documentElement.lang}`, `job-${jobId}-results.csv`).catch((e) => setError(errorText(e)))
              }
            >
              {t('results')}
            </button>
          )}
        </LiveJob>
      )}
    </section>
  );
}
