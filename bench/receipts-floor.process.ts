import Fastify from 'fastify';

// The floor for the receipts benchmark: a bare Fastify endpoint on the same route that reads the
// raw body and answers 200, in its own process, as Puente runs in its own.
const app = Fastify({ logger: false });
app.removeAllContentTypeParsers();
app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
app.post('/webhooks/:provider/:device_id', async () => ({ status: 'success', receipts: 1, inbound: 0, suppressed: 0 }));
const url = await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`${url}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
