import type { RuntimeContext } from '../context.ts';
import { jobChannel } from './job-definition.ts';
import type { JobRecord } from './jobs.repository.ts';
import { terminalStatuses } from './jobs.repository.ts';

/**
 * Follows a job from a terminal: a progress bar on a TTY (from the same events `/ws/job/:id`
 * streams), and resolves with the finished record.
 */
export async function followJob(ctx: RuntimeContext, jobId: string, describe: (progress: Record<string, unknown>) => string): Promise<JobRecord> {
  const tty = process.stderr.isTTY;
  const draw = (progress: Record<string, unknown>) => {
    if (!tty) return;
    const pct = Math.max(0, Math.min(100, Number(progress.percentage ?? 0)));
    const width = 30;
    const filled = Math.round((pct / 100) * width);
    process.stderr.write(`\r[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${pct.toFixed(1).padStart(5)}% ${describe(progress)}   `);
  };
  return new Promise<JobRecord>((resolve, reject) => {
    let done = false;
    const finish = async () => {
      if (done) return;
      const job = await ctx.jobs.get(jobId);
      if (!job || !terminalStatuses.includes(job.status)) return;
      done = true;
      draw(job.progress);
      if (tty) process.stderr.write('\n');
      clearInterval(poll);
      await unsubscribe.then((u) => u());
      resolve(job);
    };
    const unsubscribe = ctx.bus.subscribe(jobChannel(jobId), (event) => {
      const e = event as { type: string; progress?: Record<string, unknown> };
      if (e.type === 'progress' && e.progress) draw(e.progress);
      else void finish().catch(reject);
    });
    // Events may be missed across processes; the row is the truth.
    const poll = setInterval(() => void finish().catch(reject), 1000);
  });
}
