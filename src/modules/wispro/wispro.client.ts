import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { Logger } from '../../platform/logger.ts';
import { OutboundClient } from '../../platform/http/outbound.ts';
import { UpstreamError } from '../../platform/http/errors.ts';
import { PermanentJobError } from '../../platform/jobs/job-definition.ts';

const envelope = z.object({
  status: z.coerce.number(),
  message: z.string().optional(),
  meta: z.object({
    pagination: z.object({
      total_records: z.coerce.number().int().min(0),
      total_pages: z.coerce.number().int().min(0),
      per_page: z.coerce.number().int().min(1),
      current_page: z.coerce.number().int().min(1),
    }).optional(),
  }).passthrough().optional(),
  data: z.unknown().optional(),
});

export interface WisproPage {
  clients: unknown[];
  page: number;
  totalPages: number;
  totalRecords: number;
  perPage: number;
}

const BODY_RETRIES = 3;

/**
 * Wispro's API: the raw token in `Authorization` (no `Bearer`), 1-based pages, and errors delivered
 * as HTTP 200 with the real status in the body.
 */
export class WisproClient {
  readonly #http: OutboundClient;
  readonly #token: string;

  constructor(o: { baseUrl: string; token: string; timeoutMs: number; logger: Logger }) {
    this.#token = o.token;
    this.#http = new OutboundClient({ service: 'Wispro', baseUrl: o.baseUrl, timeoutMs: o.timeoutMs, logger: o.logger });
  }

  async listClients(page: number, perPage: number, signal?: AbortSignal): Promise<WisproPage> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#listOnce(page, perPage, signal);
      } catch (err) {
        if (!(err instanceof UpstreamError && err.retryable) || attempt >= BODY_RETRIES) throw err;
        await sleep(250 * 2 ** attempt, undefined, { signal });
      }
    }
  }

  close() {
    return this.#http.close();
  }

  async #listOnce(page: number, perPage: number, signal?: AbortSignal): Promise<WisproPage> {
    const res = await this.#http.request({
      path: '/clients',
      query: { page, per_page: Math.min(perPage, 1000) },
      headers: { authorization: this.#token, accept: 'application/json' },
      signal,
    });
    let body: z.infer<typeof envelope>;
    try {
      body = envelope.parse(JSON.parse(res.text));
    } catch {
      throw new UpstreamError('Wispro', `respuesta no válida (HTTP ${res.status}, ${res.text.slice(0, 80).replace(/\s+/g, ' ')}…)`);
    }
    const status = res.status !== 200 ? res.status : body.status;
    if (status === 401 || status === 403) {
      throw new PermanentJobError(`Wispro rechazó el token (${status} ${body.message ?? 'Unauthorized'}): revise WISPRO_API_TOKEN`);
    }
    if (status === 402) throw new PermanentJobError(`Wispro respondió 402 ${body.message ?? 'Payment Required'}: la licencia de Wispro está vencida`);
    if (status !== 200) {
      throw new UpstreamError('Wispro', `HTTP ${res.status}, estado ${body.status}: ${body.message ?? 'error'}`, { retryable: status >= 500 || status === 429 });
    }
    const pagination = body.meta?.pagination;
    if (!pagination || !Array.isArray(body.data)) throw new UpstreamError('Wispro', 'la respuesta no trae data o meta.pagination');
    return {
      clients: body.data,
      page: pagination.current_page,
      totalPages: pagination.total_pages,
      totalRecords: pagination.total_records,
      perPage: pagination.per_page,
    };
  }
}
