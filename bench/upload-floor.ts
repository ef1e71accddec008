import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { parse } from 'csv-parse';
import { normalisePhone } from '../src/modules/messaging/phones.format.ts';
import { copyText } from '../src/platform/db/client.ts';

/** The recipients table's shape and indexes (migrations 0005 and 0010), under another name. */
const TABLE = `
  CREATE TABLE upload_floor (
    job_id uuid NOT NULL, seq integer NOT NULL, phone text, raw_phone text NOT NULL, vals text NOT NULL DEFAULT '',
    status text NOT NULL DEFAULT 'queued', device_id integer, provider_message_id text, error text,
    attempts smallint NOT NULL DEFAULT 0, retry_at timestamptz, updated_at timestamptz, PRIMARY KEY (job_id, seq));
  CREATE INDEX upload_floor_queued_idx ON upload_floor (job_id, seq) WHERE status = 'queued';
  CREATE INDEX upload_floor_sending_idx ON upload_floor (job_id) WHERE status = 'sending';
  CREATE INDEX upload_floor_provider_idx ON upload_floor (provider_message_id) WHERE provider_message_id IS NOT NULL;`;
const COPY = 'COPY upload_floor (job_id, seq, phone, raw_phone, vals, status, error) FROM STDIN';

/**
 * The upload's floor: the same file read by csv-parse (`|`-separated, header skipped), each number
 * through Puente's normaliser with repeats dropped, and every row written by one COPY into a table
 * with the recipients table's columns and indexes — on one thread, no HTTP, no multipart, no
 * batching. PostgreSQL: COPY FROM STDIN through psql (a pipe to the server); PGlite: COPY from a
 * blob in this process. Returns seconds and the rows written.
 */
export async function uploadFloor(file: string, mode: string, databaseUrl: string | null, defaultCountry = 'PE') {
  const jobId = randomUUID();
  let pglite: PGlite | null = null;
  let dir: string | null = null;
  if (mode === 'pglite') {
    dir = mkdtempSync(join(tmpdir(), 'puente-upload-floor-'));
    pglite = new PGlite(dir);
    await pglite.exec(TABLE);
  } else {
    await psql(databaseUrl!, `DROP TABLE IF EXISTS upload_floor; ${TABLE}`);
  }
  try {
    const started = performance.now();
    const chunks: string[] = [];
    const copy = pglite ? null : spawn('psql', [databaseUrl!, '-q', '-v', 'ON_ERROR_STOP=1', '-c', COPY], { stdio: ['pipe', 'ignore', 'inherit'] });
    const exited = copy ? once(copy, 'exit') : null;
    const seen = new Set<number>();
    let seq = 0;
    let pending: string[] = [];
    const flush = async () => {
      const text = pending.join('');
      pending = [];
      if (copy) {
        if (!copy.stdin!.write(text)) await once(copy.stdin!, 'drain');
      } else chunks.push(text);
    };
    const parser = createReadStream(file).pipe(parse({ delimiter: '|', relax_column_count: true, from_line: 2, skip_empty_lines: true }));
    for await (const record of parser as AsyncIterable<string[]>) {
      const raw = (record[0] ?? '').trim();
      const n = normalisePhone(raw, defaultCountry);
      if (n.ok) {
        const key = Number(n.e164.slice(1));
        if (seen.has(key)) continue;
        seen.add(key);
      }
      pending.push(
        `${jobId}\t${seq++}\t${n.ok ? n.e164 : '\\N'}\t${copyText(raw)}\t${copyText(record.slice(1).join('|'))}\t${n.ok ? 'queued' : 'failed'}\t${n.ok ? '\\N' : copyText(n.reason)}\n`,
      );
      if (pending.length >= 5000) await flush();
    }
    await flush();
    if (copy) {
      copy.stdin!.end();
      const [code] = await exited!;
      if (code !== 0) throw new Error(`psql COPY exited with ${code}`);
    } else {
      await pglite!.query(COPY.replace('STDIN', "'/dev/blob'"), [], { blob: new Blob(chunks) });
    }
    const seconds = (performance.now() - started) / 1000;
    return { seconds, rows: seq };
  } finally {
    if (pglite) await pglite.close();
    else await psql(databaseUrl!, 'DROP TABLE IF EXISTS upload_floor').catch(() => {});
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

async function psql(url: string, command: string) {
  const p = spawn('psql', [url, '-q', '-v', 'ON_ERROR_STOP=1', '-c', command], { stdio: ['ignore', 'ignore', 'inherit'] });
  const [code] = await once(p, 'exit');
  if (code !== 0) throw new Error(`psql exited with ${code}`);
}
