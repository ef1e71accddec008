import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { RuntimeContext } from '../../platform/context.ts';
import { AppError } from '../../platform/http/errors.ts';

/**
 * A device's base URL gets the provider's API key with every call, so it must be https (plain http only
 * when ALLOW_INSECURE_PROVIDER_URLS, for simulators and labs), and never Puente itself: a device pointed
 * back at Puente would make it call its own API with the device's credentials.
 */
export async function checkProviderUrl(ctx: Pick<RuntimeContext, 'config' | 'listening'>, raw: string) {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AppError('devices.base_url_invalid', 'base_url no es una URL válida / base_url is not a valid URL');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && ctx.config.ALLOW_INSECURE_PROVIDER_URLS)) {
    throw new AppError(
      'devices.base_url_not_https',
      'base_url debe usar https (ALLOW_INSECURE_PROVIDER_URLS=true permite http) / base_url must be https',
      undefined,
      [{ field: 'body.base_url', message: 'https required' }],
    );
  }
  if (url.username || url.password)
    throw new AppError('devices.base_url_credentials', 'base_url no puede llevar usuario ni contraseña / base_url must not carry credentials');
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const own = ctx.listening?.port ?? ctx.config.PORT;
  if (port !== own) return;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const addresses = isIP(host)
    ? [host]
    : await lookup(host, { all: true }).then(
        (r) => r.map((a) => a.address),
        () => [] as string[],
      );
  if (addresses.some(isOwnAddress(ctx.listening?.host ?? ctx.config.HOST))) {
    throw new AppError('devices.base_url_self', 'base_url apunta a Puente mismo / base_url points at Puente itself', undefined, [
      { field: 'body.base_url', message: 'own address' },
    ]);
  }
}

function isOwnAddress(listenHost: string) {
  const local = new Set(
    Object.values(networkInterfaces())
      .flat()
      .map((i) => i!.address.toLowerCase()),
  );
  return (address: string) => {
    const a = address.toLowerCase().replace(/^::ffff:/, '');
    return a === listenHost || a.startsWith('127.') || a === '::1' || a === '0.0.0.0' || a === '::' || local.has(a);
  };
}
