import type { FastifyReply, FastifyRequest } from 'fastify';
import { forbidden, unauthorized } from '../http/errors.ts';
import type { Principal, Role, Tokens } from './jwt.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

export function bearerToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (!header) return null;
  const [scheme, token] = header.split(' ');
  return scheme?.toLowerCase() === 'bearer' && token ? token : null;
}

/** A preHandler that lets through a valid access token whose role is one of `roles`. */
export function requireRole(tokens: Tokens, ...roles: Role[]) {
  return async (request: FastifyRequest, _reply: FastifyReply) => {
    const token = bearerToken(request);
    if (!token) throw unauthorized('Falta el token de acceso (Authorization: Bearer <token>) / Missing bearer token');
    const principal = await tokens.verify(token);
    if (!principal) throw unauthorized('Token inválido o vencido / Invalid or expired token');
    if (roles.length && !roles.includes(principal.role)) throw forbidden('Tu rol no permite esta operación / Your role does not allow this');
    request.principal = principal;
  };
}
