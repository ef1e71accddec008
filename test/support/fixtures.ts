import assert from 'node:assert/strict';
import { waitForJob, type TestPuente } from './puente.ts';

/** Runs a Wispro sync through the API to its end, as the customers page's button starts it. */
export async function syncWispro(p: TestPuente): Promise<void> {
  const started = await p.api('/api/users/sync-wispro-all', { method: 'POST' });
  assert.equal(started.status, 200, JSON.stringify(started.body));
  assert.equal((await waitForJob(p, started.body.job_id)).status, 'completed');
}

/** A bulk send started through the API, as the bulk page's upload starts it; returns its job id. */
export async function sendBulkFile(p: TestPuente, fileName: string, content: string, message: string): Promise<string> {
  const form = new FormData();
  form.append('message', message);
  form.append('file', new Blob([content]), fileName);
  const res = await fetch(`${p.url}/messages/send-bulk-file`, { method: 'POST', headers: { authorization: `Bearer ${p.token}` }, body: form });
  const body = (await res.json()) as any;
  assert.equal(res.status, 200, JSON.stringify(body));
  return body.job.id;
}
