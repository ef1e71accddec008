import type { PuenteModule } from '../../platform/context.ts';
import { wisproJobs } from './wispro.jobs.ts';
import { wisproRoutes } from './wispro.routes.ts';

export const wisproModule: PuenteModule = {
  name: 'wispro',
  setup: (ctx) => wisproJobs(ctx),
  routes: wisproRoutes,
};
