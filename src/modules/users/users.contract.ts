/** Request and reply schemas of `/auth/*` and `/api/users`, `/api/admin/users` (imports only zod and contract files). */
import { z } from 'zod';
import { isoDate, pageMeta, pageQuery } from '../../platform/http/contract.ts';

export const roleName = z.enum(['customer', 'admin', 'operator']);

/** A user as replies show it (never the password hash). `role` is the stored number: 0 customer, 1 admin, 2 operator. */
export const user = z
  .object({
    id: z.number().int(),
    name: z.string(),
    email: z.string().nullable(),
    phone: z.string().nullable(),
    address: z.string().nullable(),
    zone: z.string().nullable(),
    code: z.string().nullable(),
    id_number: z.string().nullable(),
    id_wispro: z.string().nullable(),
    plan_id: z.number().int().nullable(),
    city: z.string().nullable(),
    state: z.string().nullable(),
    postcode: z.string().nullable(),
    country: z.string().nullable(),
    status: z.boolean().describe('Active'),
    role: z.number().int(),
    must_change_password: z.boolean(),
    created_at: isoDate,
    updated_at: isoDate,
  })
  .meta({ id: 'User' });
export type User = z.input<typeof user>;

export const loginBody = z.union([
  z.object({ email: z.string().trim().email().max(320), password: z.string().min(1).max(1024) }),
  z.object({ code: z.string().trim().min(1).max(255) }),
]);

const tokenPair = {
  access_token: z.string(),
  refresh_token: z.string(),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int().describe('Seconds the access token lasts'),
};

export const loginReply = z.object({
  success: z.literal(true),
  ...tokenPair,
  user: z.union([
    user.extend({ role_name: roleName }),
    z.object({ role: z.literal('operator'), code_id: z.number().int() }).describe('A session opened with an access code'),
  ]),
});
export type LoginReply = z.input<typeof loginReply>;

export const refreshBody = z.object({ refresh_token: z.string().min(1).max(512) });
export const refreshReply = z.object({ success: z.literal(true), ...tokenPair });
export type RefreshReply = z.input<typeof refreshReply>;

export const logoutBody = z.object({ all: z.boolean().default(false) }).nullish();
export const passwordBody = z.object({ current_password: z.string().min(1), new_password: z.string().min(8).max(1024) });

export const meReply = z.object({ success: z.literal(true), role: roleName, user: user.nullable() });
export type MeReply = z.input<typeof meReply>;

export const usersQuery = pageQuery.extend({
  search: z.string().trim().max(200).optional(),
  role: roleName.optional(),
});
export const userIdParams = z.object({ id: z.coerce.number().int().positive() });
export const usersReply = z.object({ success: z.literal(true), data: z.array(user), meta: pageMeta });
export type UsersReply = z.input<typeof usersReply>;
export const userReply = z.object({ success: z.literal(true), data: user });
export type UserReply = z.input<typeof userReply>;

export const createStaffBody = z.object({
  name: z.string().trim().min(1).max(200),
  email: z.string().trim().email(),
  password: z.string().min(8).max(1024),
  role: z.enum(['admin', 'operator']),
});
