import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { App, AppContext } from '../../platform/context.ts';
import { requireRole } from '../../platform/auth/guards.ts';
import { pageMeta, paginationQuery } from '../../platform/http/pagination.ts';
import { deviceFields, deviceReply } from './devices.service.ts';

/** Sending devices: admins set where a device points and its credentials; operators run devices. */
export function deviceRoutes(app: App, ctx: AppContext) {
  const staff = requireRole(ctx.tokens, 'admin', 'operator');
  const admin = requireRole(ctx.tokens, 'admin');
  const config = { replyShape: 'status' as const };
  const devices = ctx.services.devices;
  const deviceId = z.object({ id: z.coerce.number().int().positive() });
  const tags = ['devices'], security = [{ bearer: [] }];
  // The address the admin reached Puente at is where the engine's webhook points (unless PUBLIC_URL says otherwise).
  const origin = (req: FastifyRequest) => `${req.protocol}://${req.host}`;
  const withWebhook = async (id: number, req: FastifyRequest) => {
    await ctx.services.webhooks.configure(id, origin(req));
    return devices.require(id);
  };
  // Where a device points and the credentials it sends there are admins' to set: operators run devices.
  app.post('/devices', {
    onRequest: admin, config, schema: { tags, security, body: deviceFields, summary: 'Add a sending device (its health is checked at once, and its engine\'s webhook pointed at Puente)' },
  }, async (req, reply) => reply.status(201).send({ status: 'success', device: deviceReply(await withWebhook((await devices.create(req.body)).id, req)) }));

  app.get('/devices', {
    onRequest: staff, config, schema: { tags, security, querystring: paginationQuery, summary: 'Devices with connection state, pacing and today\'s count' },
  }, async (req) => {
    const { page, per_page } = req.query;
    const { items, total } = await devices.list(per_page, (page - 1) * per_page);
    return { status: 'success', devices: items.map(deviceReply), meta: pageMeta(page, per_page, total) };
  });

  app.get('/devices/:id', {
    onRequest: staff, config, schema: { tags, security, params: deviceId, summary: 'One device' },
  }, async (req) => ({ status: 'success', device: deviceReply(await devices.require(req.params.id)) }));

  app.patch('/devices/:id', {
    onRequest: staff, config,
    schema: {
      tags, security, params: deviceId, body: deviceFields.partial(),
      summary: 'Change a device: name, pacing, status active|paused; credentials (merged), base_url and provider are for admins, and a new base_url or provider needs the credentials again',
    },
  }, async (req) => ({ status: 'success', device: deviceReply(await withWebhook((await devices.update(req.params.id, req.body, { admin: req.principal?.role === 'admin' })).id, req)) }));

  app.delete('/devices/:id', {
    onRequest: admin, config, schema: { tags, security, params: deviceId, summary: 'Remove a device' },
  }, async (req) => {
    await devices.remove(req.params.id);
    return { status: 'success', message: 'Device eliminado / Device removed' };
  });

  app.post('/devices/:id/check', {
    onRequest: staff, config, schema: { tags, security, params: deviceId, summary: 'Check the device\'s connection now (and its engine\'s webhook)' },
  }, async (req) => ({ status: 'success', device: deviceReply(await withWebhook((await devices.check(req.params.id)).id, req)) }));
}
