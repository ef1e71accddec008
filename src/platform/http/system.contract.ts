/** Reply schemas of the system routes (imports only zod). */
import { z } from 'zod';

export const healthReply = z.object({ status: z.literal('ok'), uptime_s: z.number() });

export const readyReply = z.object({
  status: z.enum(['ready', 'unavailable']),
  checks: z.object({
    database: z.string().describe('`ok`, or why the database cannot be reached'),
    event_bus: z.string(),
    mode: z.enum(['embedded', 'scaled-out']),
  }),
});
export type ReadyReply = z.input<typeof readyReply>;
