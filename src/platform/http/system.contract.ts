/** Reply schemas of the system routes (imports only zod). */
import { z } from 'zod';

export const healthReply = z.object({ status: z.literal('ok'), uptime_s: z.number() });

export const readyReply = z.object({
  status: z.enum(['ready', 'unavailable']),
  checks: z.object({
    database: z.string().describe('`ok`, or why the database cannot be reached'),
    queue: z.string().describe("`ok`, or why the job queue's database connection cannot be used"),
    redis: z.string().optional().describe("Only when Redis is configured: `ok`, or the event bus's connection state"),
    event_bus: z.string(),
    mode: z.enum(['embedded', 'scaled-out']),
  }),
});
export type ReadyReply = z.input<typeof readyReply>;
