import type { PuenteModule } from '../../platform/context.ts';
import { CACHE_INVALIDATE, WhmcsService } from './whmcs.service.ts';
import { whmcsJobs } from './whmcs.jobs.ts';
import { whmcsRoutes } from './whmcs.routes.ts';

declare module '../../platform/context.ts' {
  interface Services {
    whmcs: WhmcsService;
  }
}

export const whmcsModule: PuenteModule = {
  name: 'whmcs',
  setup(ctx) {
    ctx.services.whmcs = new WhmcsService({ db: ctx.db, bus: ctx.bus, logger: ctx.logger, config: ctx.config, users: ctx.services.users });
    return whmcsJobs(ctx);
  },
  routes: whmcsRoutes,
  async start(ctx) {
    // A write in any process empties every process's cache.
    await ctx.bus.subscribe(CACHE_INVALIDATE, () => ctx.services.whmcs.forgetCache());
  },
  async stop(ctx) {
    await ctx.services.whmcs.client.close();
  },
};
