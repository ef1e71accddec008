import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../http/errors.ts';
import { isCodeSession, type Principal, type Role, type Tokens } from './jwt.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

/**
 * Who a guard lets through: account roles, and `code` for sessions opened with an access code
 * (seed 003). A code is one secret shared by many people, so its sessions get only what is listed
 * for them (see docs/security.md); a guard that does not name `code` refuses them.
 */
export type Audience = Role | 'code';

export function bearerToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (!header) return null;
  const [scheme, token] = header.split(' ');
  return scheme?.toLowerCase() === 'bearer' && token ? token : null;
}

/**
 * A hook that lets through a valid access token whose role is one of `audience` (any role when none
 * is named). Use it as `onRequest`: it then runs before the body is read and validated, so an
 * anonymous caller gets 401 and learns nothing about the route's fields.
 */
export function requireRole(tokens: Tokens, ...audience: Audience[]) {
  return async (request: FastifyRequest, _reply: FastifyReply) => {
    const token = bearerToken(request);
    if (!token) throw new AppError('auth.missing_token', 'Falta el token de acceso (Authorization: Bearer <token>) / Missing bearer token');
    const principal = await tokens.verify(token);
    if (!principal) throw new AppError('auth.invalid_token', 'Token inválido o vencido / Invalid or expired token');
    admit(request, principal, audience);
  };
}

/**
 * Lets a verified principal through when its role is one of `audience` (any role when none is named),
 * or throws 403. For a hook that has verified the token itself (so it is not verified twice).
 */
export function admit(request: FastifyRequest, principal: Principal, audience: Audience[]) {
  if (audience.length) {
    const allowed = isCodeSession(principal) ? audience.includes('code') : audience.includes(principal.role);
    if (!allowed)
      throw new AppError(
        'auth.forbidden',
        isCodeSession(principal)
          ? 'Una sesión con código de acceso no permite esta operación / An access-code session cannot do this'
          : 'Su rol no permite esta operación / Your role does not allow this',
      );
  }
  request.principal = principal;
}
