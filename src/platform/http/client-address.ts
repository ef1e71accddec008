import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';
import type { Config } from '../config.ts';

type Trust = Config['TRUST_PROXY'];

/**
 * The client's address as Fastify's `request.ip` computes it for the same TRUST_PROXY, for the places
 * Fastify does not see (the Socket.IO handshake): the peer address, unless the peer is a trusted proxy,
 * in which case X-Forwarded-For is walked from the right, one trusted hop at a time.
 */
export function clientAddress(req: IncomingMessage, trust: Trust): string {
  const peer = normalise(req.socket.remoteAddress ?? '');
  if (trust === false) return peer;
  const header = req.headers['x-forwarded-for'];
  const forwarded = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((s) => normalise(s.trim()))
    .filter(Boolean)
    .reverse();
  const chain = [peer, ...forwarded];
  if (typeof trust === 'number') return chain[Math.min(trust, chain.length - 1)]!;
  const trusted = blockList(trust);
  for (let i = 0; i < chain.length - 1; i++) if (!contains(trusted, chain[i]!)) return chain[i]!;
  return chain[chain.length - 1]!;
}

/** The value to hand Fastify's `trustProxy` option (its types take a hop count as a function). */
export const fastifyTrustProxy = (trust: Trust): false | string[] | ((address: string, hop: number) => boolean) =>
  typeof trust === 'number' ? (_address, hop) => hop < trust : trust;

const normalise = (a: string) => (a.startsWith('::ffff:') && isIP(a.slice(7)) === 4 ? a.slice(7) : a);

const lists = new WeakMap<string[], BlockList>();
function blockList(entries: string[]): BlockList {
  let list = lists.get(entries);
  if (list) return list;
  list = new BlockList();
  for (const e of entries) {
    const [addr, bits] = e.split('/') as [string, string | undefined];
    const family = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(addr, family);
    else list.addSubnet(addr, Number(bits), family);
  }
  lists.set(entries, list);
  return list;
}

function contains(list: BlockList, addr: string) {
  const family = isIP(addr);
  return family !== 0 && list.check(addr, family === 6 ? 'ipv6' : 'ipv4');
}
