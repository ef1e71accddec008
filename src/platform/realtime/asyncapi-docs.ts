/**
 * Writes docs/realtime.md from the sockets' AsyncAPI document (`npm run docs:sockets`); with
 * `--check`, exits 1 when the page is not what the contracts say.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { modules } from '../../modules/index.ts';
import { asyncApiDocument, asyncApiMarkdown } from './asyncapi.ts';
import { socketChannels } from './asyncapi.routes.ts';

export const realtimeDocPath = fileURLToPath(new URL('../../../docs/realtime.md', import.meta.url));
export const realtimeDoc = () => asyncApiMarkdown(asyncApiDocument(socketChannels(modules)));

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const page = realtimeDoc();
  if (process.argv.includes('--check')) {
    const same = readFileSync(realtimeDocPath, 'utf8') === page;
    if (!same) console.error('docs/realtime.md is out of date: run npm run docs:sockets');
    process.exit(same ? 0 : 1);
  }
  writeFileSync(realtimeDocPath, page);
}
