import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBulkFile, type ParsedRow } from './bulk-file.parser.ts';

const file = (rows: number) => {
  const lines = ['phone|@valor1'];
  for (let i = 0; i < rows; i++) lines.push(`+5191${String(1_000_000 + i)}|Cliente ${i}`);
  return `${lines.join('\n')}\n`;
};
let pulled = 0;
async function* chunks(text: string, size = 64) {
  for (let i = 0; i < text.length; i += size) {
    pulled++;
    yield Buffer.from(text.slice(i, i + size));
  }
}

test('batches are written in order, one at a time, while the next is parsed', async () => {
  const written: number[] = [];
  let inFlight = 0;
  let mostInFlight = 0;
  const pulledDuringFirst: number[] = [];
  pulled = 0;
  const stats = await parseBulkFile(chunks(file(23)), {
    defaultCountry: 'PE',
    maxRecipients: 1000,
    maxLineBytes: 1024,
    batchSize: 5,
    onBatch: async (rows: ParsedRow[]) => {
      inFlight++;
      mostInFlight = Math.max(mostInFlight, inFlight);
      const first = !written.length && !pulledDuringFirst.length;
      if (first) pulledDuringFirst.push(pulled);
      await new Promise((r) => setTimeout(r, 5));
      if (first) pulledDuringFirst.push(pulled);
      written.push(...rows.map((r) => r.seq));
      inFlight--;
    },
  });
  assert.equal(stats.recipients, 23);
  assert.deepEqual(
    written,
    Array.from({ length: 23 }, (_, i) => i),
  );
  assert.equal(mostInFlight, 1);
  assert.ok(pulledDuringFirst[1]! > pulledDuringFirst[0]!, `the file was read on while the first batch was written (${pulledDuringFirst})`);
});

test('a failed write fails the parse, and no write is still running when it does', async () => {
  let running = 0;
  let calls = 0;
  await assert.rejects(
    parseBulkFile(chunks(file(40)), {
      defaultCountry: 'PE',
      maxRecipients: 1000,
      maxLineBytes: 1024,
      batchSize: 5,
      onBatch: async () => {
        calls++;
        running++;
        await new Promise((r) => setTimeout(r, 5));
        running--;
        if (calls === 2) throw new Error('disk full');
      },
    }),
    /disk full/,
  );
  assert.equal(running, 0);
  assert.ok(calls < 8, `parsing stopped soon after the failure (${calls} writes)`);
});

test('a parse error waits for the write in flight before it is thrown', async () => {
  let running = 0;
  const text = `${file(12)}+51 911|${'x'.repeat(2000)}\n`;
  await assert.rejects(
    parseBulkFile(chunks(text, 4096), {
      defaultCountry: 'PE',
      maxRecipients: 1000,
      maxLineBytes: 1024,
      batchSize: 5,
      onBatch: async () => {
        running++;
        await new Promise((r) => setTimeout(r, 20));
        running--;
      },
    }),
    (err: Error & { code?: string }) => err.code === 'messaging.line_too_long',
  );
  assert.equal(running, 0);
});
