import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { AppContext } from '../../platform/context.ts';
import { PermanentJobError, defineJob } from '../../platform/jobs/job-definition.ts';
import { usersRepository } from '../users/users.repository.ts';
import { whmcsRepository } from './whmcs.repository.ts';
import type { PushOutcome } from './whmcs.service.ts';
import type { JobItemInput } from '../../platform/jobs/job-items.repository.ts';

export const WHMCS_PUSH_ALL = 'whmcs.push-all';
const BATCH = 100;

interface Counters { total: number; processed: number; created: number; updated: number; conflicts: number; invalid: number; errors: number }

/** At most `perSecond` calls started per second, spread evenly (WHMCS publishes no limit; be polite). */
export function pacer(perSecond: number, signal?: AbortSignal) {
  let next = 0;
  return async () => {
    const now = Date.now();
    const slot = Math.max(now, next);
    next = slot + 1000 / perSecond;
    if (slot > now) await sleep(slot - now, undefined, { signal });
  };
}

/** One customer's push as `GET /jobs/{id}/items` lists it. */
function pushItem(o: PushOutcome, user: { name: string; email: string | null } | undefined): JobItemInput {
  const base = { key: String(o.user_id), label: user?.name ?? null, data: { user_id: o.user_id, email: user?.email ?? null } };
  switch (o.outcome) {
    case 'created':
    case 'updated':
      return { ...base, status: o.outcome, data: { ...base.data, whmcs_id: o.whmcs_id } };
    case 'conflict':
      return { ...base, status: 'failed', reasonCode: 'whmcs.email_exists', reason: o.message, data: { ...base.data, whmcs_id: o.whmcs_id } };
    case 'invalid':
      return { ...base, status: 'failed', reasonCode: 'whmcs.missing_fields', reason: o.message, data: { ...base.data, missing: o.missing } };
    default:
      return { ...base, status: 'failed', reasonCode: 'whmcs.error', reason: o.message };
  }
}

export function whmcsJobs(app: AppContext) {
  return [
    defineJob({
      type: WHMCS_PUSH_ALL,
      payload: z.object({}).passthrough(),
      singleton: true,
      retryLimit: 2,
      retryDelaySeconds: 10,
      timeoutSeconds: 6 * 3600,
      heartbeatSeconds: app.config.JOB_HEARTBEAT_SECONDS,
      // A retry resumes after the last saved batch; linked users are not unlinked customers any more.
      retry: {},
      // The checkpoint commits after each batch; the progress written may be a moment behind it.
      settleLost: async (_tx, job) => {
        const saved = job.checkpoint as { counters: Counters } | null;
        if (!saved) return {};
        const c = saved.counters;
        return { progress: { ...job.progress, ...c, percentage: c.total ? Math.round((c.processed / c.total) * 1000) / 10 : 100 } };
      },
      startMessage: () => 'Enviando a WHMCS los clientes sin vincular',
      handler: async (ctx) => {
        const whmcs = app.services.whmcs;
        try {
          whmcs.ensureAvailable();
        } catch (err) {
          throw new PermanentJobError((err as Error).message);
        }
        const db = app.db.orm;
        const saved = ctx.checkpoint as { afterId: number; counters: Counters } | null;
        let afterId = saved?.afterId ?? 0;
        const counters: Counters = saved?.counters ?? { total: await whmcsRepository.countUnlinkedCustomers(db), processed: 0, created: 0, updated: 0, conflicts: 0, invalid: 0, errors: 0 };
        const pace = pacer(app.config.WHMCS_RATE_LIMIT_PER_SECOND, ctx.signal);
        const report = () => ctx.progress({ ...counters, percentage: counters.total ? Math.round((counters.processed / counters.total) * 1000) / 10 : 100 });
        report();
        let consecutiveFailures = 0;
        for (;;) {
          ctx.throwIfStopped();
          const ids = await whmcsRepository.unlinkedCustomers(db, afterId, BATCH);
          if (!ids.length) break;
          const users = (await usersRepository.findByIds(db, ids.map((r) => r.id))).sort((a, b) => a.id - b.id);
          const outcomes = await whmcs.pushMany(users, { jobId: ctx.job.id, signal: ctx.signal, pace, concurrency: 8 });
          for (const o of outcomes) {
            counters.processed++;
            if (o.outcome === 'created') counters.created++;
            else if (o.outcome === 'updated') counters.updated++;
            else if (o.outcome === 'conflict') counters.conflicts++;
            else if (o.outcome === 'invalid') counters.invalid++;
            else {
              counters.errors++;
              await ctx.emit({ type: 'error', user_id: o.user_id, error: o.message, progress: { ...counters } });
            }
          }
          // A whole batch of transport failures means WHMCS is down: fail (and retry later) instead of
          // marking every remaining user as an error.
          consecutiveFailures = outcomes.every((o) => o.outcome === 'error') ? consecutiveFailures + 1 : 0;
          const firstError = outcomes.find((o) => o.outcome === 'error');
          if (consecutiveFailures >= 2) throw new Error(`WHMCS no responde: ${firstError?.outcome === 'error' ? firstError.message : ''}`);
          afterId = ids[ids.length - 1]!.id;
          const names = new Map(users.map((u) => [u.id, u] as const));
          await ctx.transaction(async (tx, saveCheckpoint) => {
            await app.jobs.recordItems(tx, ctx.job.id, outcomes.map((o) => pushItem(o, names.get(o.user_id))));
            await saveCheckpoint({ afterId, counters });
          });
          report();
        }
        return { ...counters };
      },
    }),
  ];
}
