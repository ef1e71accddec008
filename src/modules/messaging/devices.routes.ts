import type { FastifyRequest } from 'fastify';
import type { App, RuntimeContext } from '../../platform/context.ts';
import { requireRole } from '../../platform/auth/guards.ts';
import { bearerAuth, statusErrorResponses } from '../../platform/http/contract.ts';
import { pageMeta, paginationQuery } from '../../platform/http/pagination.ts';
import { deviceReply } from './devices.service.ts';
import { deviceFields, deviceIdParams as deviceId, deviceList, deviceReply as deviceReplySchema, statusMessage } from './messaging.contract.ts';

/** Sending devices: admins set where a device points and its credentials; operators run devices. */
export function deviceRoutes(app: App, ctx: RuntimeContext) {
  const staff = requireRole(ctx.tokens, 'admin', 'operator');
  const admin = requireRole(ctx.tokens, 'admin');
  const config = { replyShape: 'status' as const };
  const devices = ctx.services.devices;
  const tags = ['devices'],
    security = bearerAuth;
  const one = { 200: deviceReplySchema };
  // The address the admin reached Puente at is where the engine's webhook points (unless PUBLIC_URL says otherwise).
  const origin = (req: FastifyRequest) => `${req.protocol}://${req.host}`;
  const withWebhook = async (id: number, req: FastifyRequest) => {
    await ctx.services.webhooks.configure(id, origin(req));
    return devices.require(id);
  };
  // Where a device points and the credentials it sends there are admins' to set: operators run devices.
  app.post(
    '/devices',
    {
      onRequest: admin,
      config,
      schema: {
        tags,
        security,
        operationId: 'createDevice',
        body: deviceFields,
        summary: "Add a sending device (its health is checked at once, and its engine's webhook pointed at Puente)",
        response: { 201: deviceReplySchema, ...statusErrorResponses(400, 401, 403, 413, 415) },
      },
    },
    async (req, reply) =>
      reply.status(201).send({ status: 'success' as const, device: deviceReply(await withWebhook((await devices.create(req.body)).id, req)) }),
  );

  app.get(
    '/devices',
    {
      onRequest: staff,
      config,
      schema: {
        tags,
        security,
        operationId: 'listDevices',
        querystring: paginationQuery,
        summary: "Devices with connection state, pacing and today's count",
        response: { 200: deviceList, ...statusErrorResponses(400, 401, 403) },
      },
    },
    async (req) => {
      const { page, per_page } = req.query;
      const { items, total } = await devices.list(per_page, (page - 1) * per_page);
      return { status: 'success' as const, devices: items.map(deviceReply), meta: pageMeta(page, per_page, total) };
    },
  );

  app.get(
    '/devices/:id',
    {
      onRequest: staff,
      config,
      schema: {
        tags,
        security,
        operationId: 'getDevice',
        params: deviceId,
        summary: 'One device',
        response: { ...one, ...statusErrorResponses(400, 401, 403, 404) },
      },
    },
    async (req) => ({ status: 'success' as const, device: deviceReply(await devices.require(req.params.id)) }),
  );

  app.patch(
    '/devices/:id',
    {
      onRequest: staff,
      config,
      schema: {
        tags,
        security,
        operationId: 'updateDevice',
        params: deviceId,
        body: deviceFields.partial(),
        response: { ...one, ...statusErrorResponses(400, 401, 403, 404, 413, 415) },
        summary:
          'Change a device: name, pacing, status active|paused; credentials (merged), base_url and provider are for admins, and a new base_url or provider needs the credentials again',
      },
    },
    async (req) => ({
      status: 'success' as const,
      device: deviceReply(await withWebhook((await devices.update(req.params.id, req.body, { admin: req.principal?.role === 'admin' })).id, req)),
    }),
  );

  app.delete(
    '/devices/:id',
    {
      onRequest: admin,
      config,
      schema: {
        tags,
        security,
        operationId: 'deleteDevice',
        params: deviceId,
        summary: 'Remove a device',
        response: { 200: statusMessage, ...statusErrorResponses(400, 401, 403, 404) },
      },
    },
    async (req) => {
      await devices.remove(req.params.id);
      return { status: 'success' as const, message: 'Device eliminado / Device removed' };
    },
  );

  app.post(
    '/devices/:id/check',
    {
      onRequest: staff,
      config,
      schema: {
        tags,
        security,
        operationId: 'checkDevice',
        params: deviceId,
        summary: "Check the device's connection now (and its engine's webhook)",
        response: { ...one, ...statusErrorResponses(400, 401, 403, 404) },
      },
    },
    async (req) => ({ status: 'success' as const, device: deviceReply(await withWebhook((await devices.check(req.params.id)).id, req)) }),
  );
}
