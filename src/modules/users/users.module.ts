import type { PuenteModule } from '../../platform/context.ts';
import { authRoutes } from './auth.routes.ts';
import { usersRoutes } from './users.routes.ts';
import { UsersService } from './users.service.ts';

/** Something that can vouch for an access code (the Zoho module provides it). */
export interface CodeLoginProvider {
  validate(code: string): Promise<{ id: number } | null>;
  /** Whether the code a session was opened with is still the active one (sessions end when it rotates). */
  isActive(id: number): Promise<boolean>;
}

declare module '../../platform/context.ts' {
  interface Services {
    users: UsersService;
    codeLogin?: CodeLoginProvider;
  }
}

export const usersModule: PuenteModule = {
  name: 'users',
  setup(ctx) {
    ctx.services.users = new UsersService({ db: ctx.db, sessions: ctx.sessions });
  },
  routes(app, ctx) {
    authRoutes(app, ctx);
    usersRoutes(app, ctx);
  },
  async start(ctx) {
    const { ADMIN_EMAIL, ADMIN_PASSWORD } = ctx.config;
    if (ADMIN_EMAIL && ADMIN_PASSWORD) {
      const created = await ctx.services.users.ensureAdmin(ADMIN_EMAIL, ADMIN_PASSWORD);
      if (created) ctx.logger.info({ email: ADMIN_EMAIL }, 'admin account created from ADMIN_EMAIL');
    }
  },
};
