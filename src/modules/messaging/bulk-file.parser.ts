import { createHash } from 'node:crypto';
import { AppError } from '../../platform/http/errors.ts';
import { normalisePhone } from './phones.format.ts';

export interface ParsedRow {
  seq: number;
  /** The row's line in the file (1-based, counting the header and blank lines). */
  line: number;
  /** E.164, or null when the number is invalid (the row is then a failed recipient with `error`). */
  phone: string | null;
  raw_phone: string;
  /** The row's values after the phone, `|`-joined as in the file. */
  vals: string;
  error: string | null;
}

export interface ParseStats {
  /** Rows kept: unique numbers plus invalid ones. */
  recipients: number;
  valid: number;
  invalid: number;
  /** Rows whose number appeared earlier in the file (sent once). */
  duplicates: number;
  headerSkipped: boolean;
  bytes: number;
  /** sha256 of the file's bytes, hex: the same file sent twice has the same hash. */
  sha256: string;
  /** The most values after the phone any row has (what `@valorN` can reach). */
  maxValues: number;
  /**
   * `,` or `;` when most rows have no `|` but that character: the file was written with another
   * separator, and each whole line was read as a phone number.
   */
  suspectedSeparator: ',' | ';' | null;
}

export interface ParseOptions {
  defaultCountry: string;
  maxRecipients: number;
  /** One line's longest length in UTF-8 bytes; a longer one refuses the file (400, naming the line). */
  maxLineBytes: number;
  batchSize?: number;
  onBatch(rows: ParsedRow[]): Promise<void>;
}

const tooManyRecipients = (max: number) =>
  new AppError('messaging.too_many_recipients', `El archivo tiene demasiados recipients (máximo ${max.toLocaleString('es')}) / Too many recipients`, {
    max_recipients: max,
  });
const badEncoding = () => new AppError('messaging.bad_encoding', 'El archivo tiene un encoding incorrecto: debe ser UTF-8 / File encoding must be UTF-8');

const lineTooLong = (line: number, max: number) =>
  new AppError(
    'messaging.line_too_long',
    `La línea ${line} supera ${Math.round(max / 1024)} KiB: ¿es un archivo de un recipient por línea? / Line ${line} is longer than ${Math.round(max / 1024)} KiB`,
    { line, max_bytes: max },
  );
const nulInLine = (line: number) =>
  new AppError('messaging.nul_byte', `La línea ${line} contiene un carácter NUL (\\u0000) / Line ${line} contains a NUL character`, { line });

/** A first line whose first column has no digit is a header (`phone|@valor1|…`, `telefono|nombre`). */
const isHeader = (firstField: string) => !/\d/.test(firstField);

/**
 * Reads a `|`-separated recipients file as it arrives, one line at a time: UTF-8 (BOM allowed,
 * anything else is a 400), LF or CRLF, blank lines ignored, an optional header skipped. Numbers are
 * normalised; repeats are counted and dropped (kept as 53-bit numbers, so a million cost ~30 MB).
 * Rows go to `onBatch` in batches; the caller's writes pace the reading.
 */
export async function parseBulkFile(source: AsyncIterable<Buffer>, o: ParseOptions): Promise<ParseStats> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const seen = new Set<number>();
  const stats: ParseStats = {
    recipients: 0,
    valid: 0,
    invalid: 0,
    duplicates: 0,
    headerSkipped: false,
    bytes: 0,
    sha256: '',
    maxValues: 0,
    suspectedSeparator: null,
  };
  const hash = createHash('sha256');
  const noBar = { rows: 0, ',': 0, ';': 0 };
  const batchSize = o.batchSize ?? 5000;
  let batch: ParsedRow[] = [];
  let carry = '';
  let firstLine = true;
  let rowsInFile = 0;
  let lastRaw: string | null = null;
  let lastResult: ReturnType<typeof normalisePhone> | null = null;
  let lineNo = 0;
  // A UTF-8 byte is at most one UTF-16 unit: only lines longer than a third of the cap are measured.
  const tooLong = (text: string) => text.length > o.maxLineBytes || (text.length * 3 > o.maxLineBytes && Buffer.byteLength(text) > o.maxLineBytes);

  const line = (text: string) => {
    lineNo++;
    if (tooLong(text)) throw lineTooLong(lineNo, o.maxLineBytes);
    if (text.includes('\0')) throw nulInLine(lineNo);
    const l = text.endsWith('\r') ? text.slice(0, -1) : text;
    if (l.trim() === '') return;
    const bar = l.indexOf('|');
    const rawPhone = (bar < 0 ? l : l.slice(0, bar)).trim();
    const vals = bar < 0 ? '' : l.slice(bar + 1);
    if (firstLine) {
      firstLine = false;
      if (isHeader(rawPhone)) return void (stats.headerSkipped = true);
    }
    if (++rowsInFile > o.maxRecipients) throw tooManyRecipients(o.maxRecipients);
    if (bar < 0) {
      noBar.rows++;
      if (l.includes(',')) noBar[',']++;
      if (l.includes(';')) noBar[';']++;
    } else stats.maxValues = Math.max(stats.maxValues, countValues(vals));
    // Files repeat numbers back to back (one row per order, say): the previous answer is reused.
    const n = rawPhone === lastRaw ? lastResult! : normalisePhone(rawPhone, o.defaultCountry);
    lastRaw = rawPhone;
    lastResult = n;
    if (n.ok) {
      const key = Number(n.e164.slice(1));
      if (seen.has(key)) return void stats.duplicates++;
      seen.add(key);
      stats.valid++;
    } else {
      stats.invalid++;
    }
    batch.push({ seq: stats.recipients++, line: lineNo, phone: n.ok ? n.e164 : null, raw_phone: cut(rawPhone, 64), vals, error: n.ok ? null : n.reason });
  };

  const decode = (chunk?: Buffer) => {
    try {
      return chunk ? decoder.decode(chunk, { stream: true }) : decoder.decode();
    } catch {
      throw badEncoding();
    }
  };

  // One batch is written while the next is parsed: at most two batches are held at a time.
  let writing: Promise<void> = Promise.resolve();
  const write = async (rows: ParsedRow[]) => {
    await writing;
    writing = o.onBatch(rows);
    writing.catch(() => {}); // awaited at the next write or at the end: its failure surfaces there
  };
  const readAll = async () => {
    for await (const chunk of source) {
      stats.bytes += chunk.length;
      hash.update(chunk);
      const text = carry + decode(chunk);
      const lines = text.split('\n');
      carry = lines.pop()!;
      for (const l of lines) line(l);
      // The unfinished line is kept between chunks, so it is bounded here: a file that is one huge
      // line is refused at the cap instead of being copied again with every chunk (quadratic).
      if (tooLong(carry)) throw lineTooLong(lineNo + 1, o.maxLineBytes);
      if (batch.length >= batchSize) {
        const out = batch;
        batch = [];
        await write(out);
      }
    }
    carry += decode();
    if (carry) line(carry);
    if (batch.length) await write(batch);
  };
  try {
    await readAll();
    await writing;
  } catch (err) {
    // A write still running ends before the caller cleans up after the failure.
    await writing.catch(() => {});
    throw err;
  }
  stats.sha256 = hash.digest('hex');
  stats.suspectedSeparator = suspectSeparator(noBar, rowsInFile);
  return stats;
}

/** The first `max` UTF-16 units of `text`, without half of a surrogate pair at the end. */
function cut(text: string, max: number) {
  if (text.length <= max) return text;
  const code = text.charCodeAt(max - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

function countValues(vals: string) {
  let n = 1;
  for (let i = vals.indexOf('|'); i >= 0; i = vals.indexOf('|', i + 1)) n++;
  return n;
}

/** More than half of the rows have no `|` but the same other separator. */
function suspectSeparator(noBar: { rows: number; ',': number; ';': number }, rows: number): ',' | ';' | null {
  if (!rows || noBar.rows * 2 <= rows) return null;
  const best = noBar[';'] >= noBar[','] ? ';' : ',';
  return noBar[best] * 2 > rows ? best : null;
}
