import { z } from 'zod';

export const paginationQuery = z.object({
  page: z.coerce.number().int().min(1).default(1),
  per_page: z.coerce.number().int().min(1).max(500).default(50),
});

export function pageMeta(page: number, perPage: number, total: number) {
  return { current_page: page, per_page: perPage, total, total_pages: Math.max(1, Math.ceil(total / perPage)) };
}
