import type { App, PuenteModule } from '../../platform/context.ts';
import { DevicesService, resealDevices } from './devices.service.ts';
import { setWahaCheckCacheSeconds } from './devices.drivers.ts';
import { ReceiptsService } from './receipts.service.ts';
import { SuppressionsService } from './suppressions.service.ts';
import { suppressionRoutes } from './suppressions.routes.ts';
import { WebhooksService } from './webhooks.service.ts';
import { webhookRoutes } from './webhooks.routes.ts';
import { BulkSendService } from './messaging.service.ts';
import { messagingJobs } from './messaging.jobs.ts';
import { messagingRoutes } from './messaging.routes.ts';
import { deviceRoutes } from './devices.routes.ts';

declare module '../../platform/context.ts' {
  interface Services {
    devices: DevicesService;
    bulkSend: BulkSendService;
    receipts: ReceiptsService;
    suppressions: SuppressionsService;
    webhooks: WebhooksService;
  }
}

/** Each runtime's device health timer (tests and the demo may run more than one in a process). */
const healthTimers = new WeakMap<object, NodeJS.Timeout>();

export const messagingModule: PuenteModule = {
  name: 'messaging',
  setup(ctx) {
    ctx.services.devices = new DevicesService(ctx);
    ctx.secrets.register('device credentials', resealDevices(ctx.db.orm));
    ctx.services.bulkSend = new BulkSendService(ctx);
    ctx.services.receipts = new ReceiptsService(ctx);
    ctx.services.suppressions = new SuppressionsService(ctx);
    ctx.services.webhooks = new WebhooksService(ctx);
    setWahaCheckCacheSeconds(ctx.config.WAHA_CHECK_CACHE_SECONDS);
    return messagingJobs(ctx);
  },
  async routes(app, ctx) {
    messagingRoutes(app, ctx);
    deviceRoutes(app, ctx);
    suppressionRoutes(app, ctx);
    // Its own scope: webhooks read the raw body (signatures are over the bytes sent).
    await app.register(async (scope) => webhookRoutes(scope as App, ctx));
  },
  async start(ctx, { work }) {
    if (!work) return;
    const swept = await ctx.services.bulkSend.sweepAbandonedUploads();
    if (swept) ctx.logger.info({ swept }, 'removed recipients of abandoned uploads');
    // "No devices" is decided from these checks; a worker process keeps them fresh.
    const every = ctx.config.DEVICE_HEALTH_INTERVAL_SECONDS * 1000;
    const timer = setInterval(() => void ctx.services.devices.checkAll().then(() => ctx.services.webhooks.configureAll()).catch(() => {}), every);
    timer.unref();
    healthTimers.set(ctx, timer);
  },
  async stop(ctx) {
    await ctx.services.receipts.close().catch(() => {});
    clearInterval(healthTimers.get(ctx));
    healthTimers.delete(ctx);
  },
};
