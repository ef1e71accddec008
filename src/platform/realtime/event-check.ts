import type { z } from 'zod';
import type { Logger } from '../logger.ts';

/**
 * Checks outgoing socket events against their contract schemas when Puente runs under the test
 * suite (NODE_ENV=test): a mismatch is logged and kept in `eventContractViolations`, which the test
 * support fails on when it closes a server. In production events go out unchecked (no cost, and a
 * surprising field never breaks a live socket).
 */
export const eventContractViolations: string[] = [];

export function eventChecker(env: string, logger: Logger) {
  if (env !== 'test') return (_where: string, _schema: z.ZodType, _payload: unknown) => {};
  return (where: string, schema: z.ZodType, payload: unknown) => {
    const result = schema.safeParse(payload);
    if (result.success) return;
    const problem = `${where}: ${JSON.stringify(payload)?.slice(0, 500)} does not match its schema: ${result.error.issues.map((i) => `${i.path.join('.') || '(root)'} ${i.message}`).join('; ')}`;
    eventContractViolations.push(problem);
    logger.error({ where }, problem);
  };
}
