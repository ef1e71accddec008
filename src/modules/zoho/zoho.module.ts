import type { PuenteModule } from '../../platform/context.ts';
import { CODES_CHANGED, ZohoService } from './zoho.service.ts';
import { ZOHO_CODE_SYNC, zohoJobs } from './zoho.jobs.ts';
import { zohoRoutes } from './zoho.routes.ts';
import { zohoRepository } from './zoho.repository.ts';

declare module '../../platform/context.ts' {
  interface Services {
    zoho: ZohoService;
  }
}

export const zohoModule: PuenteModule = {
  name: 'zoho',
  setup(ctx) {
    ctx.services.zoho = new ZohoService({ db: ctx.db, bus: ctx.bus, logger: ctx.logger, config: ctx.config, jobs: ctx.jobs, secrets: ctx.secrets });
    ctx.secrets.register('zoho access token', async (box) => {
      let n = 0;
      for (const t of await zohoRepository.allTokens(ctx.db.orm)) {
        if (box.isStale(t.access_token)) n += await zohoRepository.replaceToken(ctx.db.orm, t.id, t.access_token, box.seal(await box.open(t.access_token)));
      }
      return n;
    });
    ctx.services.codeLogin = { validate: (code) => ctx.services.zoho.validateCode(code), isActive: (id) => ctx.services.zoho.isCodeActive(id) };
    return zohoJobs(ctx);
  },
  routes: zohoRoutes,
  async start(ctx, { work }) {
    await ctx.bus.subscribe(CODES_CHANGED, () => ctx.services.zoho.forgetActiveCodes());
    // Once at start-up, as the seed says: the first code is there before the first interval.
    const c = ctx.config;
    if (work && c.ZOHO_CLIENT_ID && c.ZOHO_CREATOR_OWNER && c.ZOHO_CODE_SYNC_INTERVAL_MINUTES > 0) await ctx.jobs.start(ZOHO_CODE_SYNC, {});
  },
  async stop(ctx) {
    await ctx.services.zoho.client.close();
  },
};
