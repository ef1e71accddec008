import { z } from 'zod';
import type { App, AppContext } from '../../platform/context.ts';
import { requireRole } from '../../platform/auth/guards.ts';
import { unauthorized } from '../../platform/http/errors.ts';
import { roleName, userReply } from './users.service.ts';

const loginBody = z.union([
  z.object({ email: z.string().trim().email().max(320), password: z.string().min(1).max(1024) }),
  z.object({ code: z.string().trim().min(1).max(255) }),
]);

/** `POST /auth/login` (email and password, or a Zoho access code), `/auth/refresh`, `/auth/password`, `/auth/me`. */
export function authRoutes(app: App, ctx: AppContext) {
  const users = ctx.services.users;
  const loginLimit = { max: ctx.config.LOGIN_RATE_LIMIT_PER_MINUTE, timeWindow: '1 minute', keyGenerator: (req: { ip: string }) => `login:${req.ip}` };

  app.post('/auth/login', {
    config: { rateLimit: loginLimit },
    schema: {
      tags: ['auth'],
      summary: 'Log in with {email, password} or with an access code {code}; returns access and refresh JWTs',
      body: loginBody,
    },
  }, async (req) => {
    if ('code' in req.body) {
      const verified = await ctx.services.codeLogin?.validate(req.body.code);
      if (!verified) throw unauthorized('Código inválido o vencido / Invalid or expired code');
      const tokens = await ctx.tokens.issue({ sub: `code:${verified.id}`, role: 'operator' });
      return { success: true, ...tokens, user: { role: 'operator', code_id: verified.id } };
    }
    const user = await users.authenticate(req.body.email, req.body.password);
    const tokens = await ctx.tokens.issue({ sub: String(user.id), role: roleName(user.role) });
    return { success: true, ...tokens, user: { ...userReply(user), role_name: roleName(user.role) } };
  });

  app.post('/auth/refresh', {
    config: { rateLimit: { ...loginLimit, max: loginLimit.max * 6 } },
    schema: { tags: ['auth'], summary: 'Exchange a refresh token for a new token pair', body: z.object({ refresh_token: z.string().min(1) }) },
  }, async (req) => {
    const principal = await ctx.tokens.verify(req.body.refresh_token, 'refresh');
    if (!principal) throw unauthorized('Refresh token inválido o vencido / Invalid or expired refresh token');
    if (!principal.sub.startsWith('code:')) {
      const user = await users.get(Number(principal.sub));
      if (!user || !user.status) throw unauthorized('La cuenta ya no está activa / Account no longer active');
      return { success: true, ...(await ctx.tokens.issue({ sub: String(user.id), role: roleName(user.role) })) };
    }
    return { success: true, ...(await ctx.tokens.issue(principal)) };
  });

  app.post('/auth/password', {
    preHandler: requireRole(ctx.tokens, 'admin', 'operator', 'customer'),
    schema: {
      tags: ['auth'], security: [{ bearer: [] }], summary: 'Set your own password (customers start with their cédula)',
      body: z.object({ current_password: z.string().min(1), new_password: z.string().min(8).max(1024) }),
    },
  }, async (req) => {
    const id = Number(req.principal!.sub);
    if (!Number.isInteger(id)) throw unauthorized('Una sesión por código no tiene contraseña / A code session has no password');
    await users.changePassword(id, req.body.current_password, req.body.new_password);
    return { success: true, message: 'Contraseña actualizada / Password updated' };
  });

  app.get('/auth/me', {
    preHandler: requireRole(ctx.tokens),
    schema: { tags: ['auth'], security: [{ bearer: [] }], summary: 'Who the token belongs to' },
  }, async (req) => {
    const p = req.principal!;
    const user = p.sub.startsWith('code:') ? null : await users.get(Number(p.sub));
    return { success: true, role: p.role, user: user ? userReply(user) : null };
  });
}
