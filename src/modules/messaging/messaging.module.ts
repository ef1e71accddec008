import type { PuenteModule } from '../../platform/context.ts';
import { DevicesService } from './devices.ts';
import { messagingJobs } from './messaging.jobs.ts';
import { messagingRoutes } from './messaging.routes.ts';
import { recipientsRepository } from './recipients.repository.ts';

declare module '../../platform/context.ts' {
  interface Services {
    devices: DevicesService;
  }
}

let healthTimer: NodeJS.Timeout | null = null;

export const messagingModule: PuenteModule = {
  name: 'messaging',
  setup(ctx) {
    ctx.services.devices = new DevicesService(ctx);
    return messagingJobs(ctx);
  },
  routes: messagingRoutes,
  async start(ctx, { work }) {
    if (!work) return;
    const swept = await recipientsRepository.sweepAbandonedUploads(ctx.db.orm);
    if (swept) ctx.logger.info({ swept }, 'removed recipients of abandoned uploads');
    // "No devices" is decided from these checks; a worker process keeps them fresh.
    const every = ctx.config.DEVICE_HEALTH_INTERVAL_SECONDS * 1000;
    healthTimer = setInterval(() => void ctx.services.devices.checkAll().catch(() => {}), every);
    healthTimer.unref();
  },
  async stop() {
    if (healthTimer) clearInterval(healthTimer);
    healthTimer = null;
  },
};
