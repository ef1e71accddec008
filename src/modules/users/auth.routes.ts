import type { FastifyReply, FastifyRequest } from 'fastify';
import type { App, RuntimeContext } from '../../platform/context.ts';
import { requireRole } from '../../platform/auth/guards.ts';
import { isCodeSession } from '../../platform/auth/jwt.ts';
import type { SessionSubject } from '../../platform/auth/sessions.ts';
import { tooManyAttempts, type ThrottlePolicy } from '../../platform/auth/throttle.ts';
import { AppError } from '../../platform/http/errors.ts';
import { bearerAuth, errorResponses, noAuth, okMessage, WITH_BODY } from '../../platform/http/contract.ts';
import { roleName, userReply } from './users.service.ts';
import { loginBody, loginReply, logoutBody, meReply, passwordBody, refreshBody, refreshReply } from './users.contract.ts';

/** `POST /auth/login` (email and password, or a Zoho access code), `/auth/refresh`, `/auth/logout`, `/auth/password`, `/auth/me`. */
export function authRoutes(app: App, ctx: RuntimeContext) {
  const users = ctx.services.users;
  const { config, throttle, sessions } = ctx;
  const loginLimit = { max: config.LOGIN_RATE_LIMIT_PER_MINUTE, timeWindow: '1 minute', keyGenerator: (req: { ip: string }) => `login:${req.ip}` };
  // One account from one address backs off; one account from every address together has a ceiling an
  // hour, which the addresses the person has logged in from before do not hit (see docs/security.md).
  const perAddress: ThrottlePolicy = {
    kind: 'backoff',
    free: config.LOGIN_ACCOUNT_FREE_FAILURES,
    maxDelaySeconds: config.LOGIN_ACCOUNT_MAX_DELAY_SECONDS,
    windowSeconds: 3600,
  };
  const perAccount: ThrottlePolicy = { kind: 'ceiling', max: config.LOGIN_ACCOUNT_CEILING_PER_HOUR, windowSeconds: 3600 };
  // The access code is one secret for everyone: wrong codes from all addresses together have a ceiling.
  const codeCeiling: ThrottlePolicy = { kind: 'ceiling', max: config.CODE_LOGIN_FAILURES_PER_MINUTE, windowSeconds: 60 };

  const wait = async (reply: FastifyReply, key: string) => {
    const seconds = await throttle.retryAfter(key);
    if (seconds > 0) {
      reply.header('retry-after', String(seconds));
      throw tooManyAttempts(seconds);
    }
  };

  // A right code costs one statement: the active codes are cached in memory, the throttle reads the
  // database only for a key this process has seen fail, and the session is one INSERT.
  async function codeLogin(req: FastifyRequest, reply: FastifyReply, code: string) {
    await wait(reply, 'code-login');
    const verified = await ctx.services.codeLogin?.validate(code);
    if (!verified) {
      await throttle.fail('code-login', codeCeiling);
      throw new AppError('auth.invalid_code', 'Código inválido o vencido / Invalid or expired code');
    }
    const tokens = await sessions.open({ userId: null, codeId: verified.id, role: 'operator' }, req.ip);
    return { success: true as const, ...tokens, user: { role: 'operator' as const, code_id: verified.id } };
  }

  async function passwordLogin(req: FastifyRequest, reply: FastifyReply, email: string, password: string) {
    const account = `login:${email.toLowerCase()}`,
      here = `${account}:${req.ip}`;
    await wait(reply, here);
    if ((await throttle.retryAfter(account)) > 0 && !(await sessions.knownAddress(await users.idsByEmail(email), req.ip))) await wait(reply, account);
    const user = await users.authenticate(email, password).catch(async (err) => {
      if (err instanceof AppError && err.httpStatus === 401) await Promise.all([throttle.fail(here, perAddress), throttle.fail(account, perAccount)]);
      throw err;
    });
    await throttle.clear(here);
    const tokens = await sessions.open({ userId: user.id, codeId: null, role: roleName(user.role) }, req.ip);
    return { success: true as const, ...tokens, user: { ...userReply(user), role_name: roleName(user.role) } };
  }

  app.post(
    '/auth/login',
    {
      config: { rateLimit: loginLimit },
      schema: {
        operationId: 'login',
        tags: ['auth'],
        security: noAuth,
        summary: 'Log in with {email, password} or with an access code {code}; returns an access JWT and a refresh token',
        body: loginBody,
        response: { 200: loginReply, ...errorResponses(...WITH_BODY, 401, 429) },
      },
    },
    async (req, reply) => ('code' in req.body ? codeLogin(req, reply, req.body.code) : passwordLogin(req, reply, req.body.email, req.body.password)),
  );

  /** What a session rests on, now: the user still active (with their current role), or the code still active. */
  const recheck = async (s: { user_id: number | null; code_id: number | null }): Promise<SessionSubject | null> => {
    if (s.code_id !== null) return (await ctx.services.codeLogin?.isActive(s.code_id)) ? { userId: null, codeId: s.code_id, role: 'operator' } : null;
    const user = s.user_id === null ? null : await users.get(s.user_id);
    return user?.status ? { userId: user.id, codeId: null, role: roleName(user.role) } : null;
  };

  app.post(
    '/auth/refresh',
    {
      config: { rateLimit: { ...loginLimit, max: loginLimit.max * 6 } },
      schema: {
        operationId: 'refreshSession',
        tags: ['auth'],
        security: noAuth,
        body: refreshBody,
        response: { 200: refreshReply, ...errorResponses(...WITH_BODY, 401, 429) },
        summary: 'Exchange a refresh token for a new pair (the old one stops working; using it again ends the session)',
      },
    },
    async (req) => ({ success: true as const, ...(await sessions.refresh(req.body.refresh_token, recheck)) }),
  );

  app.post(
    '/auth/logout',
    {
      onRequest: requireRole(ctx.tokens),
      schema: {
        operationId: 'logout',
        tags: ['auth'],
        security: bearerAuth,
        summary: 'End this session ({"all": true}: every session of your account)',
        body: logoutBody,
        response: { 200: okMessage, ...errorResponses(...WITH_BODY, 401) },
      },
    },
    async (req) => {
      const p = req.principal!;
      if (req.body?.all && !isCodeSession(p)) await sessions.revokeUser(Number(p.sub), 'logout (all sessions)');
      else await sessions.revoke(p.sid!, 'logout');
      return { success: true as const, message: 'Sesión cerrada / Logged out' };
    },
  );

  app.post(
    '/auth/password',
    {
      onRequest: requireRole(ctx.tokens, 'admin', 'operator', 'customer'),
      schema: {
        operationId: 'changeOwnPassword',
        tags: ['auth'],
        security: bearerAuth,
        summary: 'Set your own password (customers start with their cédula); your other sessions end',
        body: passwordBody,
        response: { 200: okMessage, ...errorResponses(...WITH_BODY, 401, 403, 404) },
      },
    },
    async (req) => {
      const id = Number(req.principal!.sub);
      await users.changePassword(id, req.body.current_password, req.body.new_password);
      await sessions.revokeUser(id, 'password changed', req.principal!.sid ?? null);
      return { success: true as const, message: 'Contraseña actualizada / Password updated' };
    },
  );

  app.get(
    '/auth/me',
    {
      onRequest: requireRole(ctx.tokens),
      schema: {
        operationId: 'getMe',
        tags: ['auth'],
        security: bearerAuth,
        summary: 'Who the token belongs to',
        response: { 200: meReply, ...errorResponses(401) },
      },
    },
    async (req) => {
      const p = req.principal!;
      const user = isCodeSession(p) ? null : await users.get(Number(p.sub));
      return { success: true as const, role: p.role, user: user ? userReply(user) : null };
    },
  );
}
