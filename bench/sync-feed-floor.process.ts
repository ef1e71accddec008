/**
 * The floor for bench/sync-feed-scaled.bench.ts: the change feed's protocol with nothing but memory.
 * A bare HTTP server with a bare Socket.IO `/sync` namespace; no database, no bus, no checks of keys
 * beyond a Map lookup. `POST /orders` (the benchmark sends each order to every floor process) appends
 * `{entity_id}` to an in-memory array and emits `changes:pending` to every socket not told since its
 * last pull (Puente's rule); `GET
 * /sync/pull-changes` answers the changes after the client's cursor from that array; `POST
 * /sync/confirm` moves the cursor. Prints `floor listening on <url>`.
 */
import { createServer } from 'node:http';
import { Server } from 'socket.io';

const changes: { seq: number; entity: string; entity_id: string; op: string; data: unknown; created_at: string }[] = [];
const cursors = new Map<string, number>();
/** As Puente does: a client told and not pulled since is not told again; after a pull, it is told at once if more came. */
const told = new Map<string, boolean>();
const sockets = new Map<string, Set<{ emit(event: string): void }>>();
const tell = (key: string) => {
  told.set(key, true);
  for (const s of sockets.get(key) ?? []) s.emit('changes:pending');
};
const http = createServer((req, res) => {
  const key = (req.headers.authorization ?? '').replace(/^Bearer /, '');
  const send = (body: unknown) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (req.method === 'GET' && req.url?.startsWith('/sync/pull-changes')) {
    const cursor = cursors.get(key) ?? 0;
    const page = changes.slice(cursor, cursor + 1000);
    told.set(key, false);
    if (changes.length > cursor + page.length) tell(key);
    return send({ success: true, cursor, last_seq: page.at(-1)?.seq ?? cursor, has_more: changes.length > cursor + 1000, count: page.length, changes: page });
  }
  let body = '';
  req.on('data', (d: Buffer) => (body += d));
  req.on('end', () => {
    const parsed = body ? JSON.parse(body) : {};
    if (req.url === '/orders') {
      const seq = changes.length + 1;
      const data = { id: parsed.id, items: parsed.items, status: 'pending', created_at: new Date().toISOString() };
      changes.push({ seq, entity: 'order', entity_id: String(parsed.id), op: 'created', data, created_at: data.created_at });
      for (const key of sockets.keys()) if (!told.get(key)) tell(key);
      return send({ success: true, created: true, order: data });
    }
    if (req.url === '/sync/confirm') {
      cursors.set(key, Math.max(cursors.get(key) ?? 0, parsed.seq));
      return send({ success: true, cursor: cursors.get(key), confirmed: parsed.seq });
    }
    res.writeHead(404).end();
  });
});
const io = new Server(http);
io.of('/sync').on('connection', (socket) => {
  const key = String((socket.handshake.auth as { apiKey?: string }).apiKey);
  const mine = sockets.get(key) ?? sockets.set(key, new Set()).get(key)!;
  mine.add(socket);
  socket.on('disconnect', () => mine.delete(socket));
});
http.listen(0, '127.0.0.1', () => {
  process.stdout.write(`floor listening on http://127.0.0.1:${(http.address() as { port: number }).port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
