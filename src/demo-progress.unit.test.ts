import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RuntimeContext } from './platform/context.ts';
import { printJobProgress } from './demo-progress.ts';

type Listed = { id: string; type: string; status: string; params: object; progress: Record<string, unknown>; error: string | null };

/** The printer over a job list that each test changes between looks (only `jobs.list` is read). */
function watch(list: () => Listed[]) {
  const lines: string[] = [];
  let looks = 0;
  const ctx = {
    jobs: {
      list: async () => {
        looks++;
        return { items: list().map((j) => ({ ...j })) };
      },
    },
  } as unknown as RuntimeContext;
  const stop = printJobProgress(ctx, (l) => lines.push(l), 5);
  const after = async (n: number) => {
    const target = looks + n;
    while (looks < target) await new Promise((r) => setTimeout(r, 2));
    await new Promise((r) => setTimeout(r, 2));
  };
  return { lines, stop, after };
}

const sync = (id: string, status: string): Listed => ({
  id,
  type: 'wispro.sync',
  status,
  params: {},
  progress: { total_records: 3, created: 3, updated: 0, unchanged: 0, skipped: 0, errors: 0, percentage: 100 },
  error: null,
});

test('a job that starts and ends between two looks gets its start line and its end line', async () => {
  let jobs: Listed[] = [];
  const w = watch(() => jobs);
  await w.after(1);
  jobs = [sync('a', 'completed')];
  await w.after(2);
  w.stop();
  assert.deepEqual(w.lines, [
    '▶  Sincronización de Wispro: en marcha',
    '✅ completado  Sincronización de Wispro — 3 creados, 0 actualizados, 0 sin cambios, 0 omitidos, 0 con error',
  ]);
});

test('jobs already finished at the first look are not news; running ones are, and so is their end', async () => {
  let jobs: Listed[] = [sync('old', 'completed'), { ...sync('run', 'processing'), progress: { percentage: 10 } }];
  const w = watch(() => jobs);
  await w.after(2);
  jobs = [sync('old', 'completed'), sync('run', 'completed')];
  await w.after(2);
  w.stop();
  assert.deepEqual(w.lines, [
    '▶  Sincronización de Wispro: en marcha',
    '✅ completado  Sincronización de Wispro — 3 creados, 0 actualizados, 0 sin cambios, 0 omitidos, 0 con error',
  ]);
});
