import type { RuntimeContext } from '../../platform/context.ts';
import { AppError } from '../../platform/http/errors.ts';
import { normalisePhone } from './phones.format.ts';
import { suppressionsRepository } from './suppressions.repository.ts';

/** What the service uses. */
export type SuppressionsDeps = Pick<RuntimeContext, 'db' | 'config'>;

/** Upper case, accents and punctuation gone, spaces collapsed: "No más." and "NO MAS" read the same. */
const foldText = (s: string) =>
  s
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toUpperCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();

/**
 * An opt-out is a short reply that is one of the words, or starts with one ("baja por favor"):
 * a long message that happens to contain "stop" is a conversation, not an opt-out.
 */
function isOptOut(text: string, words: string[]) {
  const t = foldText(text);
  if (!t) return false;
  return words.some((w) => t === w || (t.startsWith(`${w} `) && t.split(' ').length <= w.split(' ').length + 3));
}

/** Numbers that must not get bulk messages: opt-out replies, operators' entries and imported lists. */
export class SuppressionsService {
  readonly #ctx: SuppressionsDeps;
  readonly #words: string[];
  constructor(ctx: SuppressionsDeps) {
    this.#ctx = ctx;
    this.#words = ctx.config.MESSAGING_OPT_OUT_WORDS.split(',').map(foldText).filter(Boolean);
  }
  get #db() {
    return this.#ctx.db.orm;
  }

  phoneOf(raw: string) {
    const n = normalisePhone(raw, this.#ctx.config.DEFAULT_COUNTRY);
    if (!n.ok) throw new AppError('suppressions.invalid_phone', n.reason, { phone: raw });
    return n.e164;
  }

  list(limit: number, offset: number) {
    return suppressionsRepository.list(this.#db, limit, offset);
  }

  async add(rawPhone: string, source: string, reason: string | null) {
    const phone = this.phoneOf(rawPhone);
    await suppressionsRepository.add(this.#db, [{ phone, source, reason, device_id: null }]);
    return (await suppressionsRepository.get(this.#db, phone))!;
  }

  async remove(rawPhone: string) {
    const phone = this.phoneOf(rawPhone);
    if (!(await suppressionsRepository.remove(this.#db, phone)))
      throw new AppError('suppressions.not_found', `${phone} no está en la lista de bajas / not suppressed`, { phone });
    return phone;
  }

  /** A CSV (or one number a line): the first column is the number; a header line is skipped. */
  async import(lines: AsyncIterable<string>, source: string) {
    let added = 0,
      already = 0,
      invalid = 0,
      batch: string[] = [];
    const flush = async () => {
      const unique = [...new Set(batch)];
      const n = await suppressionsRepository.add(
        this.#db,
        unique.map((phone) => ({ phone, source, reason: null, device_id: null })),
      );
      added += n;
      already += batch.length - n;
      batch = [];
    };
    let first = true;
    for await (const line of lines) {
      const cell = line
        .split(/[,;|\t]/)[0]!
        .trim()
        .replace(/^"|"$/g, '');
      if (!cell) continue;
      if (first && !/\d/.test(cell)) {
        first = false;
        continue;
      }
      first = false;
      const n = normalisePhone(cell, this.#ctx.config.DEFAULT_COUNTRY);
      if (!n.ok) {
        invalid++;
        continue;
      }
      batch.push(n.e164);
      if (batch.length >= 1000) await flush();
    }
    await flush();
    return { added, already, invalid };
  }

  /** An inbound message: an opt-out word puts its sender on the list. Returns whether it did. */
  async inbound(m: { from: string; text: string; deviceId: number; provider: string }) {
    if (!isOptOut(m.text, this.#words)) return false;
    const n = normalisePhone(`+${m.from.replace(/\D/g, '')}`, this.#ctx.config.DEFAULT_COUNTRY);
    if (!n.ok) return false;
    await suppressionsRepository.add(this.#db, [{ phone: n.e164, source: `reply:${m.provider}`, reason: m.text.slice(0, 200), device_id: m.deviceId }]);
    return true;
  }

  among(phones: string[]) {
    return suppressionsRepository.among(this.#db, phones);
  }
}
