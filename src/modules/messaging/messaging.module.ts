import type { PuenteModule } from '../../platform/context.ts';
import { DevicesService, resealDevices } from './devices.service.ts';
import { BulkSendService } from './messaging.service.ts';
import { messagingJobs } from './messaging.jobs.ts';
import { messagingRoutes } from './messaging.routes.ts';

declare module '../../platform/context.ts' {
  interface Services {
    devices: DevicesService;
    bulkSend: BulkSendService;
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
    return messagingJobs(ctx);
  },
  routes: messagingRoutes,
  async start(ctx, { work }) {
    if (!work) return;
    const swept = await ctx.services.bulkSend.sweepAbandonedUploads();
    if (swept) ctx.logger.info({ swept }, 'removed recipients of abandoned uploads');
    // "No devices" is decided from these checks; a worker process keeps them fresh.
    const every = ctx.config.DEVICE_HEALTH_INTERVAL_SECONDS * 1000;
    const timer = setInterval(() => void ctx.services.devices.checkAll().catch(() => {}), every);
    timer.unref();
    healthTimers.set(ctx, timer);
  },
  async stop(ctx) {
    clearInterval(healthTimers.get(ctx));
    healthTimers.delete(ctx);
  },
};
