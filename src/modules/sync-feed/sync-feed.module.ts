import type { PuenteModule } from '../../platform/context.ts';
import { SyncFeedService } from './sync-feed.service.ts';
import { syncFeedRoutes } from './sync-feed.routes.ts';
import { attachSyncNamespace, syncChannel } from './sync-feed.realtime.ts';

declare module '../../platform/context.ts' {
  interface Services {
    syncFeed: SyncFeedService;
  }
}

export const syncFeedModule: PuenteModule = {
  name: 'sync-feed',
  setup(ctx) {
    ctx.services.syncFeed = new SyncFeedService({ db: ctx.db, bus: ctx.bus, config: ctx.config, throttle: ctx.throttle, logger: ctx.logger });
  },
  routes: syncFeedRoutes,
  sockets: [syncChannel],
  realtime(io, ctx) {
    const attached = attachSyncNamespace(io, ctx);
    ctx.services.syncFeed.realtimeAttached(attached.close);
    ctx.logger.info('WebSocket sync notification service initialized');
  },
  async start(ctx) {
    await ctx.services.syncFeed.ensureDefaultClient();
    await ctx.services.syncFeed.startWindow();
  },
  async stop(ctx) {
    await ctx.services.syncFeed.closeRealtime();
    await ctx.services.syncFeed.stopWindow();
  },
};
