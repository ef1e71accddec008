import type { App, RuntimeContext } from '../../platform/context.ts';
import { requireRole } from '../../platform/auth/guards.ts';
import { pageMeta } from '../../platform/http/pagination.ts';
import { bearerAuth, errorResponses, GUARDED, WITH_BODY } from '../../platform/http/contract.ts';
import { createStaffBody, userIdParams, userReply as userReplySchema, usersQuery, usersReply } from './users.contract.ts';
import { ROLE, userReply } from './users.service.ts';

export function usersRoutes(app: App, ctx: RuntimeContext) {
  const users = ctx.services.users;
  const staff = requireRole(ctx.tokens, 'admin', 'operator');

  app.get(
    '/api/users',
    {
      onRequest: staff,
      schema: {
        operationId: 'listUsers',
        tags: ['users'],
        security: bearerAuth,
        summary: 'Search users (name, email, cédula in any form, zone), a page at a time',
        querystring: usersQuery,
        response: { 200: usersReply, ...errorResponses(400, ...GUARDED) },
      },
    },
    async (req) => {
      const { page, per_page, search, role } = req.query;
      const { items, total } = await users.list({
        search: search || undefined,
        role: role === undefined ? undefined : ROLE[role],
        limit: per_page,
        offset: (page - 1) * per_page,
      });
      return { success: true as const, data: items.map(userReply), meta: pageMeta(page, per_page, total) };
    },
  );

  app.get(
    '/api/users/:id',
    {
      onRequest: staff,
      schema: {
        operationId: 'getUser',
        tags: ['users'],
        security: bearerAuth,
        summary: 'One user',
        params: userIdParams,
        response: { 200: userReplySchema, ...errorResponses(400, ...GUARDED, 404) },
      },
    },
    async (req) => ({ success: true as const, data: userReply(await users.require(req.params.id)) }),
  );

  app.post(
    '/api/admin/users',
    {
      onRequest: requireRole(ctx.tokens, 'admin'),
      schema: {
        operationId: 'createStaffUser',
        tags: ['users'],
        security: bearerAuth,
        summary: 'Create a staff account (admin or operator)',
        body: createStaffBody,
        response: { 201: userReplySchema, ...errorResponses(...WITH_BODY, ...GUARDED, 409) },
      },
    },
    async (req, reply) => {
      const user = await users.createStaff(req.body);
      return reply.status(201).send({ success: true as const, data: userReply(user) });
    },
  );
}
