import type { App, PuenteModule } from '../../platform/context.ts';
import { DevicesService, resealDevices } from './devices.service.ts';
import { Drivers } from './devices.drivers.ts';
import { ReceiptsService } from './receipts.service.ts';
import { SuppressionsService } from './suppressions.service.ts';
import { suppressionRoutes } from './suppressions.routes.ts';
import { WebhooksService } from './webhooks.service.ts';
import { webhookRoutes } from './webhooks.routes.ts';
import { BulkSendService } from './messaging.service.ts';
import { messagingJobs } from './messaging.jobs.ts';
import { messagingRoutes } from './messaging.routes.ts';
import { deviceRoutes } from './devices.routes.ts';
import { maskPhones } from './phones.mask.ts';

declare module '../../platform/context.ts' {
  interface Services {
    drivers: Drivers;
    devices: DevicesService;
    bulkSend: BulkSendService;
    receipts: ReceiptsService;
    suppressions: SuppressionsService;
    webhooks: WebhooksService;
  }
}

export const messagingModule: PuenteModule = {
  name: 'messaging',
  setup(ctx) {
    const { db, bus, logger, config, secrets, jobs } = ctx;
    // Where this process listens is known once its server is up: checks of device URLs read it then
    // (a getter, so that the value is read at each check, not copied now).
    const drivers = new Drivers({ logger, wahaCheckCacheSeconds: config.WAHA_CHECK_CACHE_SECONDS });
    const devices = new DevicesService({
      db,
      config,
      secrets,
      drivers,
      get listening() {
        return ctx.listening;
      },
    });
    const receipts = new ReceiptsService({ db, bus, logger, config });
    const suppressions = new SuppressionsService({ db, config });
    ctx.secrets.register('device credentials', resealDevices(ctx.db.orm));
    Object.assign(ctx.services, {
      drivers,
      devices,
      receipts,
      suppressions,
      bulkSend: new BulkSendService({ db, config, jobs, devices }),
      webhooks: new WebhooksService({
        db,
        logger,
        config,
        drivers,
        devices,
        receipts,
        suppressions,
        get listening() {
          return ctx.listening;
        },
      }),
    });
    return messagingJobs(ctx);
  },
  async routes(app, ctx) {
    messagingRoutes(app, ctx);
    deviceRoutes(app, ctx);
    suppressionRoutes(app, ctx);
    // Its own scope: webhooks read the raw body (signatures are over the bytes sent).
    await app.register(async (scope: App) => webhookRoutes(scope, ctx));
  },
  // Job socket viewers without a staff token never see a recipient's number, in any job's event.
  forJobViewer: (event) => maskPhones(event),
  async start(ctx, { work }) {
    if (!work) return;
    const swept = await ctx.services.bulkSend.sweepAbandonedUploads();
    if (swept) ctx.logger.info({ swept }, 'removed recipients of abandoned uploads');
    // "No devices" is decided from these checks; a worker process keeps them fresh.
    const every = ctx.config.DEVICE_HEALTH_INTERVAL_SECONDS * 1000;
    ctx.services.devices.startHealthChecks(every, () => ctx.services.webhooks.configureAll());
  },
  async stop(ctx) {
    await ctx.services.receipts.close().catch(() => {});
    ctx.services.devices.stopHealthChecks();
    // The drivers' connections stay open: module stops run before the job runner's, and a send still
    // in flight must not find them closed (idle ones close by themselves).
  },
};
