import { z } from 'zod';
import type { App, AppContext } from '../../platform/context.ts';
import { requireRole } from '../../platform/auth/guards.ts';
import { pageMeta, paginationQuery } from '../../platform/http/pagination.ts';
import { ROLE, userReply } from './users.service.ts';

export function usersRoutes(app: App, ctx: AppContext) {
  const users = ctx.services.users;
  const staff = requireRole(ctx.tokens, 'admin', 'operator');

  app.get('/api/users', {
    onRequest: staff,
    schema: {
      tags: ['users'], security: [{ bearer: [] }],
      summary: 'Search users (name, email, cédula in any form, zone), a page at a time',
      querystring: paginationQuery.extend({
        search: z.string().trim().max(200).optional(),
        role: z.enum(['customer', 'admin', 'operator']).optional(),
      }),
    },
  }, async (req) => {
    const { page, per_page, search, role } = req.query;
    const { items, total } = await users.list({ search: search || undefined, role: role === undefined ? undefined : ROLE[role], limit: per_page, offset: (page - 1) * per_page });
    return { success: true, data: items.map(userReply), meta: pageMeta(page, per_page, total) };
  });

  app.get('/api/users/:id', {
    onRequest: staff,
    schema: { tags: ['users'], security: [{ bearer: [] }], summary: 'One user', params: z.object({ id: z.coerce.number().int().positive() }) },
  }, async (req) => ({ success: true, data: userReply(await users.require(req.params.id)) }));

  app.post('/api/admin/users', {
    onRequest: requireRole(ctx.tokens, 'admin'),
    schema: {
      tags: ['users'], security: [{ bearer: [] }], summary: 'Create a staff account (admin or operator)',
      body: z.object({ name: z.string().trim().min(1).max(200), email: z.string().trim().email(), password: z.string().min(8).max(1024), role: z.enum(['admin', 'operator']) }),
    },
  }, async (req, reply) => {
    const user = await users.createStaff(req.body);
    return reply.status(201).send({ success: true, data: userReply(user) });
  });
}
