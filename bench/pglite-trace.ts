import { writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { PGlite } from '@electric-sql/pglite';

/**
 * Loaded with `node --import ./bench/pglite-trace.ts` into a Puente process on the embedded database:
 * times every trip into PGlite's WASM backend (the synchronous call that blocks the JavaScript
 * thread) and counts statements by their text, with the event loop's delay beside them. On SIGUSR2
 * it writes what it saw since the previous signal as one JSON line on stderr, prefixed
 * `pglite-trace `, and starts counting afresh. Benchmarks only: nothing in Puente loads it.
 */
type Stat = { n: number; ms: number; max: number };
const proto = PGlite.prototype as unknown as { execProtocolRawSync(message: Uint8Array): Uint8Array };
const original = proto.execProtocolRawSync;
const decoder = new TextDecoder();
let stats = new Map<string, Stat>();
/** PGLITE_TRACE_SQL=<file>: each statement class's full text, written there with each report. */
const sqlFile = process.env.PGLITE_TRACE_SQL;
const texts = new Map<string, string>();
let last = '';
let since = performance.now();
const delay = monitorEventLoopDelay({ resolution: 5 });
delay.enable();

/** The SQL a message carries (Query or Parse), whitespace folded; other messages belong to the last one parsed. */
function sqlOf(message: Uint8Array): string | null {
  const type = message[0];
  if (type !== 0x51 && type !== 0x50) return null; // 'Q', 'P'
  let start = 5;
  if (type === 0x50) while (start < message.length && message[start] !== 0) start++; // statement name
  if (type === 0x50) start++;
  let end = start;
  while (end < message.length && message[end] !== 0) end++;
  return decoder.decode(message.subarray(start, end)).replace(/\s+/g, ' ').trim();
}

/** A statement's class: pg-boss's own (by the function or table it reaches) or Puente's (its first words). */
function labelOf(sql: string) {
  if (/pgboss/i.test(sql)) {
    const m = /pgboss\.(\w+)/i.exec(sql);
    const verb = /^\s*(WITH|SELECT|INSERT|UPDATE|DELETE|BEGIN|SET)\b/i.exec(sql)?.[1]?.toUpperCase() ?? 'SQL';
    return `pg-boss ${verb} ${m?.[1] ?? ''} ${sql.length > 200 ? `#${hash(sql)}` : ''}`.trim();
  }
  return `puente ${sql.slice(0, 70)}`;
}

function hash(s: string) {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0;
  return (h >>> 0).toString(36).slice(0, 5);
}

proto.execProtocolRawSync = function (this: unknown, message: Uint8Array) {
  const sql = sqlOf(message);
  if (sql !== null) {
    last = labelOf(sql);
    if (sqlFile) texts.set(last, sql);
  }
  const t = performance.now();
  try {
    return original.call(this, message);
  } finally {
    const ms = performance.now() - t;
    const key = last || 'other';
    const s = stats.get(key) ?? { n: 0, ms: 0, max: 0 };
    if (sql !== null) s.n++;
    s.ms += ms;
    s.max = Math.max(s.max, ms);
    stats.set(key, s);
  }
};

process.on('SIGUSR2', () => {
  const seconds = (performance.now() - since) / 1000;
  const rows = [...stats.entries()].sort((a, b) => b[1].ms - a[1].ms);
  const total = rows.reduce((a, [, s]) => ({ n: a.n + s.n, ms: a.ms + s.ms }), { n: 0, ms: 0 });
  const boss = rows.filter(([k]) => k.startsWith('pg-boss')).reduce((a, [, s]) => ({ n: a.n + s.n, ms: a.ms + s.ms }), { n: 0, ms: 0 });
  process.stderr.write(
    `pglite-trace ${JSON.stringify({
      seconds: Number(seconds.toFixed(2)),
      statements: total.n,
      statementsPerSecond: Number((total.n / seconds).toFixed(2)),
      msPerSecond: Number((total.ms / seconds).toFixed(2)),
      queue: { statements: boss.n, perSecond: Number((boss.n / seconds).toFixed(2)), msPerSecond: Number((boss.ms / seconds).toFixed(2)) },
      loopDelayMs: { p50: delay.percentile(50) / 1e6, p99: delay.percentile(99) / 1e6, max: delay.max / 1e6 },
      byStatement: rows.slice(0, 25).map(([k, s]) => ({ what: k, n: s.n, ms: Number(s.ms.toFixed(1)), max: Number(s.max.toFixed(2)) })),
    })}\n`,
  );
  if (sqlFile) writeFileSync(sqlFile, [...texts.entries()].map(([k, v]) => `${k}\n  ${v}\n`).join(''));
  stats = new Map();
  since = performance.now();
  delay.reset();
});
