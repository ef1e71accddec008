import { z } from 'zod';
import type { RuntimeContext } from '../../platform/context.ts';
import { PermanentJobError, defineJob } from '../../platform/jobs/job-definition.ts';
import { evenMinutes } from '../../platform/config.ts';
import { ZohoConfigError } from './zoho.client.ts';

export const ZOHO_CODE_SYNC = 'zoho.code-sync';
export const ZOHO_PRODUCT_SYNC = 'zoho.product-sync';
export const ZOHO_PRODUCT_RECONCILE = 'zoho.product-reconcile';

/** Every N minutes as cron (pg-boss runs each tick once across processes); 0 disables. */
export function cronEvery(minutes: number): string | null {
  if (minutes <= 0) return null;
  // Configuration refuses other values; a cron step that does not divide its unit restarts each hour or day.
  if (!evenMinutes(minutes)) throw new RangeError(`${minutes} minutes cannot repeat evenly as a cron schedule`);
  if (minutes < 60) return `*/${minutes} * * * *`;
  if (minutes < 1440) return `0 */${minutes / 60} * * *`;
  return '0 0 * * *';
}

/** A configuration problem will not fix itself: the job fails at once instead of retrying. */
async function permanentIfConfig<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    throw err instanceof ZohoConfigError ? new PermanentJobError(err.message) : err;
  }
}

export function zohoJobs({ config: c, services }: RuntimeContext) {
  const zoho = () => services.zoho;
  const codeConfigured = Boolean(c.ZOHO_CLIENT_ID && c.ZOHO_CREATOR_OWNER && c.ZOHO_CREATOR_REPORT);
  const productsConfigured = Boolean(c.ZOHO_CLIENT_ID && c.ZOHO_ORGANIZATION_ID);
  return [
    defineJob({
      type: ZOHO_CODE_SYNC,
      payload: z.object({}),
      singleton: true,
      retryLimit: 2,
      retryDelaySeconds: 30,
      timeoutSeconds: 120,
      schedule: () => (codeConfigured ? cronEvery(c.ZOHO_CODE_SYNC_INTERVAL_MINUTES) : null),
      retry: {},
      startMessage: () => 'Sincronizando el código de acceso de Zoho',
      handler: async () => ({ outcome: await permanentIfConfig(zoho().syncCodeFromZoho()) }),
    }),
    defineJob({
      type: ZOHO_PRODUCT_SYNC,
      payload: z.object({ full: z.boolean().optional() }),
      singleton: true,
      retryLimit: 2,
      retryDelaySeconds: 30,
      timeoutSeconds: 600,
      schedule: () => (productsConfigured ? cronEvery(c.ZOHO_SYNC_INTERVAL_MINUTES) : null),
      retry: {},
      startMessage: () => 'Sincronizando productos de Zoho Inventory',
      handler: (ctx) =>
        permanentIfConfig(zoho().syncProducts(ctx.data.full ?? false, (p) => ctx.progress({ pages: p.page, upserted: p.upserted }), ctx.signal)),
    }),
    defineJob({
      type: ZOHO_PRODUCT_RECONCILE,
      payload: z.object({}),
      singleton: true,
      retryLimit: 2,
      retryDelaySeconds: 60,
      timeoutSeconds: 1800,
      // Nightly: incremental syncs every few minutes cannot see deletions, and paging can miss an item.
      schedule: () => (productsConfigured ? c.ZOHO_RECONCILE_CRON : null),
      startMessage: () => 'Conciliando todos los productos con Zoho Inventory',
      handler: (ctx) => permanentIfConfig(zoho().reconcileProducts((p) => ctx.progress({ pages: p.page, upserted: p.upserted }), ctx.signal)),
    }),
  ];
}
