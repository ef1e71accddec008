import type { Executor } from '../../platform/db/client.ts';
import type { JobItemsFilter, RetryOptions } from '../../platform/jobs/job-definition.ts';
import type { JobRecord } from '../../platform/jobs/jobs.repository.ts';
import { bulkParams, progressOf } from './bulk-send.dispatcher.ts';
import { devicesRepository } from './devices.repository.ts';
import { receiptsRepository } from './receipts.repository.ts';
import { recipientsRepository, type ItemRow } from './recipients.repository.ts';
import { splitValues } from './template.renderer.ts';

/** A recipient as `GET /jobs/{id}/items` shows it: the file's values, the device by name. */
function recipientItem(r: ItemRow) {
  return {
    key: String(r.seq),
    seq: r.seq,
    status: r.status === 'queued' ? 'not_sent' : r.status,
    reason_code: r.reason_code,
    reason: r.error,
    label: r.phone ?? r.raw_phone,
    phone: r.phone,
    raw_phone: r.raw_phone,
    values: splitValues(r.vals),
    device_id: r.device_id,
    device_name: r.device_name,
    provider_message_id: r.provider_message_id,
    attempts: r.attempts,
    updated_at: r.updated_at,
    failed_after_send: r.failed_after_send ?? false,
    delivered_at: r.delivered_at ?? null,
    read_at: r.read_at ?? null,
  };
}

/** The worker died on the last attempt: what it had in flight may have gone out, so it is uncertain. */
export async function settleLostBulkSend(tx: Executor, job: JobRecord) {
  await recipientsRepository.markInFlightUncertain(tx, job.id);
  await devicesRepository.release(tx, job.id);
  const c = await recipientsRepository.counts(tx, job.id);
  const params = bulkParams.parse(job.params);
  const progress = progressOf(c, await receiptsRepository.forJob(tx, job.id));
  const { percentage: _p, ...summary } = progress;
  return {
    progress,
    results: { ...summary, unsent: c.queued, invalid_numbers: params.invalid_numbers, duplicates: params.duplicates },
  };
}

/** Sent recipients are never sent again; uncertain ones only when the operator asks for it. */
export async function carryOverBulkSend(tx: Executor, from: JobRecord, to: JobRecord, { includeUncertain }: RetryOptions) {
  await recipientsRepository.copyForRetry(tx, from.id, to.id, includeUncertain);
  return { progress: progressOf(await recipientsRepository.counts(tx, to.id)) };
}

/** A page of a send's recipients as `GET /jobs/{id}/items` lists them (`not_sent` is a queued recipient). */
export async function itemsPageOf(db: Executor, jobId: string, query: JobItemsFilter) {
  const f = { ...query, status: query.status === 'not_sent' ? 'queued' : query.status };
  const [rows, total] = await Promise.all([recipientsRepository.items(db, jobId, f), recipientsRepository.countItems(db, jobId, f)]);
  return { items: rows.map(recipientItem), total };
}

export async function failureGroupsOf(db: Executor, jobId: string) {
  return (await recipientsRepository.failureGroups(db, jobId)).map((g) => ({ reason_code: g.reason_code, reason: g.reason, count: g.n }));
}
