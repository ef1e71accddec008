import { setTimeout as sleep } from 'node:timers/promises';
import type { RuntimeContext } from '../../platform/context.ts';
import { PermanentJobError, type JobContext } from '../../platform/jobs/job-definition.ts';
import type { JobItemInput } from '../../platform/jobs/job-items.repository.ts';
import type { JobRecord } from '../../platform/jobs/jobs.repository.ts';
import type { UsersService } from '../users/users.service.ts';
import type { PushOutcome, WhmcsService } from './whmcs.service.ts';

const BATCH = 100;
/** How many skipped customers the job's results list by name (all are counted). */
const SKIPPED_LISTED = 1000;

export interface Counters {
  total: number;
  processed: number;
  created: number;
  updated: number;
  conflicts: number;
  invalid: number;
  skipped: number;
  errors: number;
}
interface Skipped {
  user_id: number;
  name: string;
  reason: string;
  message: string;
}

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
      return {
        ...base,
        status: 'failed',
        reasonCode: o.linked_to === undefined ? 'whmcs.email_exists' : 'whmcs.already_linked',
        reason: o.message,
        data: { ...base.data, whmcs_id: o.whmcs_id, ...(o.linked_to === undefined ? {} : { linked_to: o.linked_to }) },
      };
    case 'invalid':
      return { ...base, status: 'failed', reasonCode: 'whmcs.missing_fields', reason: o.message, data: { ...base.data, missing: o.missing } };
    case 'skipped':
      return { ...base, status: 'skipped', reasonCode: 'whmcs.customer_without_email', reason: o.message };
    default:
      return { ...base, status: 'failed', reasonCode: 'whmcs.error', reason: o.message };
  }
}

/** What the push of every unlinked customer uses. */
/** The checkpoint commits after each batch; the progress written may be a moment behind it. */
export async function settleLostPushAll(job: JobRecord) {
  const saved = job.checkpoint as { counters: Counters } | null;
  if (!saved) return {};
  const c = saved.counters;
  return { progress: { ...job.progress, ...c, percentage: c.total ? Math.round((c.processed / c.total) * 1000) / 10 : 100 } };
}

export type PushAllDeps = Pick<RuntimeContext, 'config' | 'jobs'> & { whmcs: WhmcsService; users: UsersService };

/** Pushes every customer without a WHMCS link, in batches by id; each batch commits with its checkpoint. */
export async function runPushAll(deps: PushAllDeps, ctx: JobContext<unknown>) {
  const whmcs = deps.whmcs;
  try {
    whmcs.ensureAvailable();
  } catch (err) {
    throw new PermanentJobError((err as Error).message);
  }
  const saved = ctx.checkpoint as { afterId: number; counters: Counters; skipped?: Skipped[] } | null;
  let afterId = saved?.afterId ?? 0;
  const counters: Counters = saved?.counters ?? {
    total: await whmcs.countUnlinkedCustomers(),
    processed: 0,
    created: 0,
    updated: 0,
    conflicts: 0,
    invalid: 0,
    skipped: 0,
    errors: 0,
  };
  counters.skipped ??= 0; // a checkpoint written before skipped customers were counted
  const skipped: Skipped[] = saved?.skipped ?? [];
  const pace = pacer(deps.config.WHMCS_RATE_LIMIT_PER_SECOND, ctx.signal);
  const report = () => ctx.progress({ ...counters, percentage: counters.total ? Math.round((counters.processed / counters.total) * 1000) / 10 : 100 });
  report();
  let consecutiveFailures = 0;
  for (;;) {
    ctx.throwIfStopped();
    const ids = await whmcs.unlinkedCustomers(afterId, BATCH);
    if (!ids.length) break;
    const users = await deps.users.getMany(ids);
    const outcomes = await whmcs.pushMany(users, { jobId: ctx.job.id, signal: ctx.signal, pace, concurrency: 8 });
    for (const o of outcomes) {
      counters.processed++;
      if (o.outcome === 'created') counters.created++;
      else if (o.outcome === 'updated') counters.updated++;
      else if (o.outcome === 'conflict') counters.conflicts++;
      else if (o.outcome === 'invalid') counters.invalid++;
      else if (o.outcome === 'skipped') {
        // Not a failure: the customer cannot be billed until it has an email; listed so someone adds one.
        counters.skipped++;
        const name = users.find((u) => u.id === o.user_id)?.name ?? '';
        if (skipped.length < SKIPPED_LISTED) skipped.push({ user_id: o.user_id, name, reason: o.reason, message: o.message });
      } else {
        counters.errors++;
        await ctx.emit({ type: 'error', user_id: o.user_id, error: o.message, progress: { ...counters } });
      }
    }
    // A whole batch of transport failures means WHMCS is down: fail (and retry later) instead of
    // marking every remaining user as an error.
    consecutiveFailures = outcomes.every((o) => o.outcome === 'error') ? consecutiveFailures + 1 : 0;
    const firstError = outcomes.find((o) => o.outcome === 'error');
    if (consecutiveFailures >= 2) throw new Error(`WHMCS no responde: ${firstError?.outcome === 'error' ? firstError.message : ''}`);
    afterId = ids[ids.length - 1]!;
    const names = new Map(users.map((u) => [u.id, u] as const));
    await ctx.transaction(async (tx, saveCheckpoint) => {
      await deps.jobs.recordItems(
        tx,
        ctx.job.id,
        outcomes.map((o) => pushItem(o, names.get(o.user_id))),
      );
      await saveCheckpoint({ afterId, counters, skipped });
    });
    report();
  }
  return { ...counters, skipped_customers: skipped };
}
