import type { RunningServer } from './platform/server.ts';
import { startWisproSimulator } from './simulators/wispro/wispro.simulator.ts';
import { startZohoSimulator } from './simulators/zoho/zoho.simulator.ts';

export interface DemoSession {
  /** Environment for Puente, pointing it at this simulator. */
  env: Record<string, string>;
  /** Lines for the tour printed at start. */
  tour: string[];
  /** Seeds Puente once it is up (admin token at hand). */
  seed?(server: RunningServer, adminToken: string): Promise<void>;
  close(): Promise<void>;
}

export interface DemoPart {
  name: string;
  start(): Promise<DemoSession>;
}

const wispro: DemoPart = {
  name: 'wispro',
  async start() {
    const token = 'demo-wispro-token';
    const sim = await startWisproSimulator({ token, clients: 2_500, faults: { latencyMs: 20 } });
    return {
      env: { WISPRO_API_URL: sim.url, WISPRO_API_TOKEN: token },
      tour: [`Wispro simulator: ${sim.url} (2,500 clients; cédulas in mixed forms, some duplicates and broken records)`],
      async seed(server, adminToken) {
        await fetch(`${server.url}/api/users/sync-wispro-all`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}` } });
      },
      close: () => sim.close(),
    };
  },
};

const orders: DemoPart = {
  name: 'orders',
  async start() {
    return {
      env: {},
      tour: ['Orders change feed: Socket.IO namespace /sync (auth.apiKey = CLOUD_API_KEY), GET /sync/pull-changes, POST /sync/confirm'],
      async seed(server, adminToken) {
        for (let i = 1; i <= 5; i++) {
          await fetch(`${server.url}/orders`, {
            method: 'POST',
            headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
            body: JSON.stringify({ external_ref: `demo-${i}`, items: [{ sku: `PLAN-${i}`, name: `Plan ${i * 10} Mbps`, quantity: 1, price: 10 * i }] }),
          });
        }
      },
      close: async () => {},
    };
  },
};

const zoho: DemoPart = {
  name: 'zoho',
  async start() {
    const creds = { clientId: '1000.DEMO', clientSecret: 'demo-zoho-secret', refreshToken: '1000.demo-refresh' };
    const sim = await startZohoSimulator({ ...creds, initialCode: 'PUENTE-2026', items: 300 });
    return {
      env: {
        ZOHO_ACCOUNTS_URL: sim.accountsUrl, ZOHO_API_URL: sim.apiUrl, ZOHO_CLIENT_ID: creds.clientId, ZOHO_CLIENT_SECRET: creds.clientSecret,
        ZOHO_REFRESH_TOKEN: creds.refreshToken, ZOHO_CREATOR_OWNER: 'puente-owner', ZOHO_CREATOR_APP: 'puente-app',
        ZOHO_CREATOR_REPORT: 'Access_Codes', ZOHO_ORGANIZATION_ID: '60000000001',
      },
      tour: [`Zoho simulator: ${sim.apiUrl} (access code PUENTE-2026 — log in with {"code":"PUENTE-2026"}; 300 products)`],
      async seed(server, adminToken) {
        await fetch(`${server.url}/api/products/sync`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: '{}' });
      },
      close: () => sim.close(),
    };
  },
};

/** Each capability adds its simulator here. */
export const demoParts: DemoPart[] = [wispro, orders, zoho];
