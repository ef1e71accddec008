import type { z } from 'zod';
import type { RuntimeContext } from '../../platform/context.ts';
import type { Db } from '../../platform/db/client.ts';
import type { Resealer, SecretBox } from '../../platform/auth/secrets.ts';
import { AppError } from '../../platform/http/errors.ts';
import { devicesRepository, todayUtc } from './devices.repository.ts';
import { REQUIRED_CREDENTIALS, type DeviceRow, type Drivers } from './devices.drivers.ts';
import { deviceFields, type Device } from './messaging.contract.ts';
import { checkProviderUrl } from './devices.url-check.ts';

/** What the service uses. */
export type DevicesDeps = Pick<RuntimeContext, 'db' | 'config' | 'secrets' | 'listening'> & { drivers: Drivers };

const PUBLIC_CREDENTIALS = new Set(['phone_number_id', 'instance', 'session', 'device_id', 'api_version', 'business_account_id']);

/** Where Meta's WhatsApp Cloud API lives when a device does not say. */
const CLOUD_API_URL = 'https://graph.facebook.com';

export { deviceFields };
export type DeviceInput = z.infer<typeof deviceFields>;

const iso = (d: Date | string) => new Date(d).toISOString();

/** A device as replies show it: secrets (tokens, API keys) are never returned, only that they are set. */
export function deviceReply(d: DeviceRow): Device {
  const credentials = Object.fromEntries(Object.entries(d.credentials).map(([k, v]) => [k, PUBLIC_CREDENTIALS.has(k) ? v : v ? '********' : '']));
  return {
    id: d.id,
    name: d.name,
    provider: d.provider,
    base_url: d.base_url,
    credentials,
    status: d.status,
    status_reason: d.status_reason,
    connected: d.connected,
    connection_state: d.connection_state,
    last_health_at: d.last_health_at && iso(d.last_health_at),
    last_error: d.last_error,
    pacing: {
      messages_per_minute: d.messages_per_minute,
      min_gap_ms: d.min_gap_ms,
      max_gap_ms: d.max_gap_ms,
      pause_after: d.pause_after,
      pause_seconds: d.pause_seconds,
      daily_cap: d.daily_cap,
      typing_delay_ms: d.typing_delay_ms,
    },
    template_name: d.template_name,
    template_language: d.template_language,
    current_job_id: d.job_id && d.job_lease_until && d.job_lease_until.getTime() > Date.now() ? d.job_id : null,
    sent_today: d.sent_day === todayUtc() ? d.sent_today : 0,
    sent_total: Number(d.sent_total),
    created_at: iso(d.created_at),
    updated_at: iso(d.updated_at),
  };
}

/** How device credentials are stored: the whole set, sealed (see platform/auth/secrets.ts). */
type StoredCredentials = Record<string, string>;
const sealCredentials = (box: SecretBox, c: Record<string, string>): StoredCredentials => ({ $sealed: box.seal(JSON.stringify(c)) });

/** A device row with its credentials readable (rows written before encryption hold them in the clear). */
export async function openDevice(box: SecretBox, d: DeviceRow): Promise<DeviceRow> {
  const sealed = d.credentials.$sealed;
  return typeof sealed === 'string' ? { ...d, credentials: JSON.parse(await box.open(sealed)) } : d;
}

/** Re-encrypts every device's credentials that are in the clear or under an older key. */
export function resealDevices(db: Db): Resealer {
  return async (box) => {
    let n = 0;
    for (const row of await devicesRepository.allCredentials(db)) {
      const sealed = row.credentials.$sealed;
      if (typeof sealed === 'string' && !box.isStale(sealed)) continue;
      const plain = typeof sealed === 'string' ? JSON.parse(await box.open(sealed)) : row.credentials;
      n += await devicesRepository.replaceCredentials(db, row.id, row.credentials, sealCredentials(box, plain));
    }
    return n;
  };
}

export class DevicesService {
  readonly #ctx: DevicesDeps;
  #healthTimer: NodeJS.Timeout | null = null;
  constructor(ctx: DevicesDeps) {
    this.#ctx = ctx;
  }
  get #db() {
    return this.#ctx.db.orm;
  }

  async require(id: number) {
    const d = await devicesRepository.get(this.#db, id);
    if (!d) throw deviceNotFound(id);
    return openDevice(this.#ctx.secrets, d);
  }

  async list(limit: number, offset: number) {
    const { items, total } = await devicesRepository.list(this.#db, limit, offset);
    return { items: await Promise.all(items.map((d) => openDevice(this.#ctx.secrets, d))), total };
  }

  async create(body: DeviceInput) {
    const input = { ...body, base_url: body.base_url ?? (body.provider === 'cloud' ? CLOUD_API_URL : undefined) };
    if (!input.base_url) {
      throw new AppError(
        'devices.base_url_required',
        `base_url es obligatorio para ${body.provider}: la dirección de su servidor / base_url is required for ${body.provider}`,
        { provider: body.provider },
        [{ field: 'body.base_url', message: 'required' }],
      );
    }
    checkCredentials(input.provider, input.credentials);
    checkGaps(input.min_gap_ms ?? 0, input.max_gap_ms ?? 0);
    await checkProviderUrl(this.#ctx, input.base_url);
    const d = await devicesRepository.insert(this.#db, {
      ...input,
      base_url: input.base_url,
      credentials: sealCredentials(this.#ctx.secrets, input.credentials),
    });
    return this.check(d.id);
  }

  /**
   * Changes a device. Operators may change its name, pacing and status; credentials, URL and provider
   * are for admins. Credentials given are merged into the stored ones, except when the base URL or
   * the provider changes: then the stored credentials would go to a new place, so the request must
   * carry the full set again, and it replaces the old one.
   */
  async update(id: number, patch: Partial<DeviceInput>, by: { admin: boolean }) {
    const current = await this.require(id);
    const moved =
      (patch.base_url !== undefined && patch.base_url !== current.base_url) || (patch.provider !== undefined && patch.provider !== current.provider);
    if (!by.admin && (moved || Object.keys(patch.credentials ?? {}).length)) {
      throw new AppError(
        'devices.admin_only',
        'Solo un administrador puede cambiar credenciales, base_url o provider / Only admins may change credentials, base_url or provider',
      );
    }
    const provider = patch.provider ?? current.provider;
    if (moved) {
      const missing = REQUIRED_CREDENTIALS[provider].filter((k) => !patch.credentials?.[k]);
      if (missing.length) {
        throw new AppError(
          'devices.credentials_required',
          `Al cambiar base_url o provider hay que enviar de nuevo las credenciales (${missing.join(', ')}) / Changing base_url or provider requires the credentials again`,
          { missing },
          missing.map((k) => ({ field: `body.credentials.${k}`, message: 'required when base_url or provider changes' })),
        );
      }
      await checkProviderUrl(this.#ctx, patch.base_url ?? current.base_url);
    }
    const credentials = moved ? patch.credentials! : { ...current.credentials, ...patch.credentials };
    checkCredentials(provider, credentials);
    checkGaps(patch.min_gap_ms ?? current.min_gap_ms, patch.max_gap_ms ?? current.max_gap_ms);
    await devicesRepository.update(this.#db, id, { ...patch, credentials: patch.credentials ? sealCredentials(this.#ctx.secrets, credentials) : undefined });
    return patch.credentials || moved || patch.status === 'active' ? this.check(id) : this.require(id);
  }

  /** Adds credentials Puente generates itself (a device's webhook secret), sealed like the others. */
  async addGeneratedCredentials(id: number, extra: Record<string, string>) {
    const current = await this.require(id);
    await devicesRepository.update(this.#db, id, { credentials: sealCredentials(this.#ctx.secrets, { ...current.credentials, ...extra }) });
    return this.require(id);
  }

  async remove(id: number) {
    if (!(await devicesRepository.remove(this.#db, id))) throw deviceNotFound(id);
  }

  /** Asks the provider whether the device can send, and records the answer. */
  async check(id: number) {
    const d = await this.require(id);
    // A URL stored before the rules above (or with the flag since turned off) is not called.
    const refused = await checkProviderUrl(this.#ctx, d.base_url).then(
      () => null,
      (err: Error) => err.message,
    );
    const health = refused
      ? { connected: false, state: 'refused', error: refused }
      : await this.#ctx.drivers
          .for(d)
          .health()
          .catch((err: Error) => ({ connected: false, state: 'error', error: err.message }));
    await devicesRepository.setHealth(this.#db, id, health);
    return this.require(id);
  }

  /** Health of every device (run periodically by the worker process). */
  /** Checks every device every `everyMs`, then runs `after` (a worker process keeps the checks fresh). */
  startHealthChecks(everyMs: number, after: () => Promise<void>) {
    this.stopHealthChecks();
    this.#healthTimer = setInterval(
      () =>
        void this.checkAll()
          .then(after)
          .catch(() => {}),
      everyMs,
    );
    this.#healthTimer.unref();
  }

  stopHealthChecks() {
    if (this.#healthTimer) clearInterval(this.#healthTimer);
    this.#healthTimer = null;
  }

  async checkAll() {
    const { items } = await devicesRepository.list(this.#db, 1000, 0);
    await Promise.all(items.map((d) => this.check(d.id).catch(() => {})));
  }

  async available(limit: number, exclude: number[] = []) {
    return Promise.all((await devicesRepository.available(this.#db, limit, exclude)).map((d) => openDevice(this.#ctx.secrets, d)));
  }
}

function checkCredentials(provider: keyof typeof REQUIRED_CREDENTIALS, credentials: Record<string, string>) {
  const missing = REQUIRED_CREDENTIALS[provider].filter((k) => !credentials[k]);
  if (missing.length)
    throw new AppError('devices.missing_credentials', `Faltan credenciales para ${provider}: ${missing.join(', ')} / Missing credentials`, {
      provider,
      missing,
    });
}

function checkGaps(min: number, max: number) {
  if (max && max < min)
    throw new AppError('devices.invalid_gaps', 'max_gap_ms debe ser mayor o igual que min_gap_ms / max_gap_ms must be >= min_gap_ms', {
      min_gap_ms: min,
      max_gap_ms: max,
    });
}

export const deviceNotFound = (id: number) => new AppError('devices.not_found', `Device ${id} no encontrado / Device not found`, { device_id: id });
