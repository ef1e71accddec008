import type { PuenteModule } from '../../platform/context.ts';
import { SyncFeedService } from './sync-feed.service.ts';
import { syncFeedRoutes } from './sync-feed.routes.ts';
import { attachSyncNamespace, syncChannel } from './sync-feed.realtime.ts';

declare module '../../platform/context.ts' {
  interface Services {
    syncFeed: SyncFeedService;
  }
}

const closers = new WeakMap<object, () => Promise<void>>();

export const syncFeedModule: PuenteModule = {
  name: 'sync-feed',
  setup(ctx) {
    ctx.services.syncFeed = new SyncFeedService(ctx);
  },
  routes: syncFeedRoutes,
  sockets: [syncChannel],
  realtime(io, ctx) {
    const attached = attachSyncNamespace(io, ctx);
    closers.set(ctx, attached.close);
    ctx.logger.info('WebSocket sync notification service initialized');
  },
  async start(ctx) {
    await ctx.services.syncFeed.ensureDefaultClient();
  },
  async stop(ctx) {
    await closers.get(ctx)?.();
  },
};
