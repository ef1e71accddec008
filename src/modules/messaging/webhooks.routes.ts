import { z } from 'zod';
import type { App, RuntimeContext } from '../../platform/context.ts';
import { noAuth, statusErrorResponses } from '../../platform/http/contract.ts';
import { cloudVerifyQuery, webhookBody, webhookParams as params, webhookReply } from './messaging.contract.ts';

/**
 * `/webhooks/{provider}/{device_id}`: where each engine posts receipts and inbound messages. No
 * staff token: each delivery is checked against the device's own secret, over the raw body (a
 * signature is of the bytes sent, not of a re-serialised object). Answers 200 at once; the
 * receipts are written in batches right after.
 */
export async function webhookRoutes(app: App, ctx: RuntimeContext) {
  const webhooks = ctx.services.webhooks;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 4 * 1024 * 1024 }, (_req, body, done) => done(null, body));
  const config = { replyShape: 'status' as const };
  const tags = ['webhooks'];

  app.get(
    '/webhooks/:provider/:device_id',
    {
      config,
      schema: {
        tags,
        security: noAuth,
        operationId: 'verifyCloudWebhook',
        params,
        querystring: cloudVerifyQuery,
        response: {
          200: { description: 'hub.challenge, as sent', content: { 'text/plain': { schema: z.string() } } },
          ...statusErrorResponses(400, 403, 404),
        },
        summary: "Meta Cloud API subscription check: echoes hub.challenge when hub.verify_token is the device's verify_token",
      },
    },
    async (req, reply) => {
      const challenge = await webhooks.verifyCloud(
        req.params.provider === 'cloud' ? req.params.device_id : NaN,
        req.query as Record<string, string | undefined>,
      );
      return reply.type('text/plain').send(challenge);
    },
  );

  app.post(
    '/webhooks/:provider/:device_id',
    {
      // Engines post thousands a minute: a line per request would cost more than the request, and the
      // browser headers (a CSP rebuilt per request) protect no page here; nosniff is kept.
      logLevel: 'warn',
      helmet: false,
      config,
      schema: {
        tags,
        security: noAuth,
        operationId: 'receiveWebhook',
        params,
        body: webhookBody,
        response: { 200: webhookReply, ...statusErrorResponses(400, 401, 404, 413, 415) },
        summary:
          "Receipts and inbound messages from a device's engine (Cloud API signed with X-Hub-Signature-256, WAHA with X-Webhook-Hmac, Evolution with the X-Puente-Token header Puente set, the simulator with X-Puente-Signature)",
        description:
          "No staff token: each delivery is checked against the device's own secret, over the raw bytes (401 when the signature is missing or wrong). The body by provider is described in `WebhookDelivery`. Answers at once; receipts are written in batches right after.",
      },
    },
    async (req, reply) => {
      reply.header('x-content-type-options', 'nosniff');
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const r = await webhooks.receive(req.params.provider, req.params.device_id, req.headers, raw);
      return { status: 'success' as const, ...r };
    },
  );
}
