import type { RunningServer } from './platform/server.ts';
import type { DeviceList, DeviceReply } from './modules/messaging/messaging.contract.ts';
import { startWisproSimulator } from './simulators/wispro/wispro.simulator.ts';
import { startZohoSimulator } from './simulators/zoho/zoho.simulator.ts';
import { startWhmcsSimulator } from './simulators/whmcs/whmcs.simulator.ts';
import { startWhatsAppSimulator, type WaProvider } from './simulators/whatsapp/whatsapp.simulator.ts';

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
        ZOHO_ACCOUNTS_URL: sim.accountsUrl,
        ZOHO_API_URL: sim.apiUrl,
        ZOHO_CLIENT_ID: creds.clientId,
        ZOHO_CLIENT_SECRET: creds.clientSecret,
        ZOHO_REFRESH_TOKEN: creds.refreshToken,
        ZOHO_CREATOR_OWNER: 'puente-owner',
        ZOHO_CREATOR_APP: 'puente-app',
        ZOHO_CREATOR_REPORT: 'Access_Codes',
        ZOHO_ORGANIZATION_ID: '60000000001',
      },
      tour: [`Zoho simulator: ${sim.apiUrl} (access code PUENTE-2026 — log in with {"code":"PUENTE-2026"}; 300 products)`],
      async seed(server, adminToken) {
        await fetch(`${server.url}/api/products/sync`, {
          method: 'POST',
          headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
          body: '{}',
        });
      },
      close: () => sim.close(),
    };
  },
};

const whmcs: DemoPart = {
  name: 'whmcs',
  async start() {
    const creds = { identifier: 'demo-whmcs-identifier', secret: 'demo-whmcs-secret', accessKey: 'demo-whmcs-access-key' };
    const sim = await startWhmcsSimulator({ ...creds, clients: 120, faults: { latencyMs: 15 } });
    return {
      env: {
        WHMCS_API_URL: sim.url,
        WHMCS_API_IDENTIFIER: creds.identifier,
        WHMCS_API_SECRET: creds.secret,
        WHMCS_API_ACCESS_KEY: creds.accessKey,
        // City and state come from Wispro with each customer; only the postcode needs a default.
        WHMCS_DEFAULT_POSTCODE: '1010',
      },
      tour: [`WHMCS simulator: ${sim.url}/includes/api.php (120 clients; push customers from the dashboard or POST /api/whmcs/clients/push/{id})`],
      close: () => sim.close(),
    };
  },
};

const whatsapp: DemoPart = {
  name: 'whatsapp',
  async start() {
    const sim = await startWhatsAppSimulator();
    const providers: WaProvider[] = ['evolution', 'waha', 'simulator', 'cloud'];
    // One customer answers "BAJA": the number lands on the suppression list and the next send skips it.
    const replies = { '584140000011': 'BAJA', '584140000012': 'Gracias, ya pagué' };
    const devices = providers.map((provider) => ({ provider, dev: sim.addDevice({ provider, latencyMs: 40, transientFailureRate: 0.01, replies }) }));
    // Two numbers of the sample file have no WhatsApp: their rows fail with the provider's reason
    // (the Cloud API accepts them and fails them a moment later by webhook, 131026).
    for (const n of ['584140000007', '584140000300']) sim.notOnWhatsapp.add(n);
    const appSecret = 'demo-meta-app-secret';
    return {
      // The device simulators speak plain http on loopback.
      env: { DEFAULT_COUNTRY: 'VE', ALLOW_INSECURE_PROVIDER_URLS: 'true' },
      tour: [
        `WhatsApp simulator: ${sim.url} (Evolution, WAHA, Cloud API and native devices, 300 messages a minute each; a sample bulk send of 600 starts now)`,
        'Receipts come back by webhook: delivered and read climb after sent; +584140000011 answers "BAJA" and is suppressed in the next send (GET /suppressions)',
      ],
      async seed(server, adminToken) {
        const call = (path: string, init: RequestInit = {}) =>
          fetch(`${server.url}${path}`, {
            ...init,
            headers: { authorization: `Bearer ${adminToken}`, ...(typeof init.body === 'string' ? { 'content-type': 'application/json' } : {}) },
          }).then((r) => r.json() as Promise<unknown>);
        // The simulator listens on a new port each run: devices kept from an earlier run are repointed.
        const existing = ((await call('/devices?per_page=100')) as Partial<DeviceList>).devices ?? [];
        for (const { provider, dev } of devices) {
          // The Cloud API sends an approved template to cold numbers; its webhook is set "in Meta's dashboard" here.
          const cloud = provider === 'cloud' ? { template_name: 'puente_bulk', template_language: 'es' } : {};
          const credentials = provider === 'cloud' ? { ...dev.credentials, app_secret: appSecret, verify_token: 'demo-verify-token' } : dev.credentials;
          const body = JSON.stringify({
            name: `Demo ${provider}`,
            provider,
            base_url: dev.baseUrl,
            credentials,
            messages_per_minute: 300,
            status: 'active',
            ...cloud,
          });
          const old = existing.find((d) => d.name === `Demo ${provider}`);
          const saved = (await call(old ? `/devices/${old.id}` : '/devices', { method: old ? 'PATCH' : 'POST', body })) as Partial<DeviceReply>;
          if (provider === 'cloud' && saved.device) dev.set({ webhook: { url: `${server.url}/webhooks/cloud/${saved.device.id}`, appSecret } });
        }
        const rows = ['telefono|nombre|monto'];
        for (let i = 1; i <= 600; i++) rows.push(`0414-${String(i).padStart(7, '0')}|Cliente ${i}|${(10 + (i % 40)).toFixed(2)}`);
        rows.push('0414-0000001|Repetido|0', 'sin-numero|Inválido|0');
        const form = new FormData();
        form.set('message', 'Hola @valor1, tu factura de $@valor2 está disponible. Responde PAGAR para pagar en línea.');
        form.set('devices_limit', '4');
        form.set('file', new Blob([rows.join('\n')], { type: 'text/csv' }), 'clientes-demo.csv');
        await call('/messages/send-bulk-file', { method: 'POST', body: form });
      },
      close: () => sim.close(),
    };
  },
};

/** Each capability adds its simulator here. */
export const demoParts: DemoPart[] = [wispro, orders, zoho, whmcs, whatsapp];
