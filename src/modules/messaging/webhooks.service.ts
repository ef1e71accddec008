import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { RuntimeContext } from '../../platform/context.ts';
import { AppError } from '../../platform/http/errors.ts';
import { devicesRepository } from './devices.repository.ts';
import { deviceNotFound } from './devices.service.ts';
import type { DeviceRow, Drivers } from './devices.drivers.ts';
import { checkProviderUrl } from './devices.url-check.ts';
import type { DevicesService } from './devices.service.ts';
import type { ReceiptsService } from './receipts.service.ts';
import type { SuppressionsService } from './suppressions.service.ts';
import { parseCloud, parseEvolution, parseSimulator, parseWaha, type WebhookContent } from './webhooks.parser.ts';

/** What the service uses. */
export type WebhooksDeps = Pick<RuntimeContext, 'db' | 'logger' | 'config' | 'listening'> & {
  drivers: Drivers;
  devices: DevicesService;
  receipts: ReceiptsService;
  suppressions: SuppressionsService;
};

const DEVICE_CACHE_MS = 5000;
const badSignature = () => new AppError('webhooks.bad_signature', 'Firma del webhook ausente o inválida / Missing or invalid webhook signature');

const sameText = (a: string, b: string) => {
  const x = Buffer.from(a),
    y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};
const hmacHex = (algorithm: 'sha256' | 'sha512', key: string, raw: Buffer) => createHmac(algorithm, key).update(raw).digest('hex');

/**
 * The webhooks each engine calls with receipts and inbound messages: checks who is calling (Meta's
 * signature with the app secret, WAHA's HMAC, the secret header Puente gave Evolution), reads the
 * body, hands receipts to the ingester and opt-outs to the suppression list. Also points each
 * engine's webhook at Puente when a device is added or checked.
 */
export class WebhooksService {
  readonly #ctx: WebhooksDeps;
  #devices = new Map<number, { row: DeviceRow | null; until: number }>();

  constructor(ctx: WebhooksDeps) {
    this.#ctx = ctx;
  }

  /** Devices are read at most every few seconds: a burst of receipts does not become a burst of lookups. */
  async #device(id: number) {
    const hit = this.#devices.get(id);
    if (hit && hit.until > Date.now()) return hit.row;
    const row = await this.#ctx.devices.require(id).catch(() => null);
    this.#devices.set(id, { row, until: Date.now() + DEVICE_CACHE_MS });
    return row;
  }

  async #require(provider: string, id: number) {
    const d = Number.isSafeInteger(id) ? await this.#device(id) : null;
    if (!d || d.provider !== provider) throw deviceNotFound(id);
    return d;
  }

  /** Meta's subscription check: echo the challenge when the verify token is the device's. */
  async verifyCloud(id: number, q: Record<string, string | undefined>) {
    const d = await this.#require('cloud', id);
    const token = d.credentials.verify_token;
    if (q['hub.mode'] !== 'subscribe' || !token || !sameText(String(q['hub.verify_token'] ?? ''), token)) {
      throw new AppError('webhooks.bad_verify_token', 'verify_token incorrecto / Wrong verify token');
    }
    return String(q['hub.challenge'] ?? '');
  }

  /** Checks the delivery's signature against the device's secret, then takes in what it says. */
  async receive(provider: string, id: number, headers: Record<string, string | string[] | undefined>, raw: Buffer) {
    const d = await this.#require(provider, id);
    const header = (name: string) => String(headers[name] ?? '');
    let verified = false;
    switch (provider) {
      case 'cloud': {
        const secret = d.credentials.app_secret;
        verified = Boolean(secret) && sameText(header('x-hub-signature-256'), `sha256=${hmacHex('sha256', secret!, raw)}`);
        break;
      }
      case 'waha': {
        const key = d.credentials.webhook_secret;
        verified = Boolean(key) && sameText(header('x-webhook-hmac').toLowerCase(), hmacHex('sha512', key!, raw));
        break;
      }
      case 'evolution': {
        const key = d.credentials.webhook_secret;
        verified = Boolean(key) && sameText(header('x-puente-token'), key!);
        break;
      }
      case 'simulator': {
        const key = d.credentials.webhook_secret;
        verified = Boolean(key) && sameText(header('x-puente-signature'), `sha256=${hmacHex('sha256', key!, raw)}`);
        break;
      }
    }
    if (!verified) throw badSignature();
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new AppError('webhooks.body_not_json', 'El cuerpo no es JSON / Body is not JSON');
    }
    const content: WebhookContent =
      provider === 'cloud'
        ? parseCloud(body, d.credentials.phone_number_id ?? '')
        : provider === 'evolution'
          ? parseEvolution(body)
          : provider === 'waha'
            ? parseWaha(body)
            : parseSimulator(body);
    if (content.receipts.length) this.#ctx.receipts.add(d.id, content.receipts);
    let suppressed = 0;
    for (const m of content.inbound) {
      if (await this.#ctx.suppressions.inbound({ from: m.from, text: m.text, deviceId: d.id, provider })) suppressed++;
    }
    return { receipts: content.receipts.length, inbound: content.inbound.length, suppressed };
  }

  /**
   * Gives the device a webhook secret if it has none, and points its engine's webhook at
   * `{base}/webhooks/{provider}/{id}` (Evolution and WAHA through their APIs; the Cloud API's
   * callback is set in Meta's dashboard). Best-effort: a failure is kept in `last_error`, not thrown.
   */
  async configure(id: number, baseUrl?: string | null) {
    const db = this.#ctx.db.orm;
    const devices = this.#ctx.devices;
    let d = await devices.require(id).catch(() => null);
    if (!d || d.provider === 'cloud') return;
    const base = (this.#ctx.config.PUBLIC_URL ?? baseUrl ?? d.webhook_base_url ?? '').replace(/\/+$/, '');
    if (!base) return;
    // A URL the health check would not call (plain http where not allowed, Puente itself) is not called here either.
    if (
      await checkProviderUrl(this.#ctx, d.base_url).then(
        () => false,
        () => true,
      )
    )
      return;
    if (!d.credentials.webhook_secret) d = await devices.addGeneratedCredentials(id, { webhook_secret: randomBytes(24).toString('base64url') });
    this.#devices.delete(id);
    const driver = this.#ctx.drivers.for(d);
    if (!driver.configureWebhook) return;
    try {
      await driver.configureWebhook(`${base}/webhooks/${d.provider}/${d.id}`, d.credentials.webhook_secret!);
      if (d.webhook_base_url !== base) await devicesRepository.setWebhookBase(db, id, base);
    } catch (err) {
      this.#ctx.logger.warn({ device: id, err: (err as Error).message }, "could not set the device's webhook");
      await devicesRepository.setWebhookBase(db, id, base, `webhook: ${(err as Error).message}`.slice(0, 300));
    }
  }

  /** Keeps every device's webhook set (run with the periodic health check). */
  async configureAll() {
    const { items } = await devicesRepository.list(this.#ctx.db.orm, 1000, 0);
    for (const d of items) if (d.provider !== 'cloud' && (d.webhook_base_url || this.#ctx.config.PUBLIC_URL)) await this.configure(d.id).catch(() => {});
  }
}
