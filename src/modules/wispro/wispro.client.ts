import { z } from 'zod';
import type { Logger } from '../../platform/logger.ts';
import { OutboundClient, type OutboundResponse, type ReplyClass } from '../../platform/http/outbound.ts';
import { UpstreamError } from '../../platform/http/errors.ts';
import { PermanentJobError } from '../../platform/jobs/job-definition.ts';

const envelope = z.object({
  status: z.coerce.number(),
  message: z.string().optional(),
  meta: z
    .object({
      pagination: z
        .object({
          total_records: z.coerce.number().int().min(0),
          total_pages: z.coerce.number().int().min(0),
          per_page: z.coerce.number().int().min(1),
          current_page: z.coerce.number().int().min(1),
        })
        .optional(),
    })
    .passthrough()
    .optional(),
  data: z.unknown().optional(),
});

export interface WisproPage {
  clients: unknown[];
  page: number;
  totalPages: number;
  totalRecords: number;
  perPage: number;
}

type Envelope = z.infer<typeof envelope>;

/** Each reply's envelope, read once: the classifier reads it first, then `listClients` the same reply. */
const envelopes = new WeakMap<OutboundResponse, Envelope | null>();

function readEnvelope(res: OutboundResponse): Envelope | null {
  let body = envelopes.get(res);
  if (body !== undefined) return body;
  try {
    body = envelope.parse(JSON.parse(res.text));
  } catch {
    body = null;
  }
  envelopes.set(res, body);
  return body;
}

/**
 * Wispro says "try again" in the body too (HTTP 200 with `status: 500`); a reply that is not its
 * envelope, or lacks the page, is a proxy's or a glitch's and is asked again as well.
 */
function classifyWispro(res: OutboundResponse): ReplyClass {
  const body = readEnvelope(res);
  if (!body) return 'retry';
  const status = res.status !== 200 ? res.status : body.status;
  if (status === 429 || status >= 500) return 'retry';
  if (status !== 200) return 'final';
  return body.meta?.pagination && Array.isArray(body.data) ? 'ok' : 'retry';
}

/**
 * Wispro's API: the raw token in `Authorization` (no `Bearer`), 1-based pages, and errors delivered
 * as HTTP 200 with the real status in the body. Retries happen once, in the outbound client, by
 * `classifyWispro`; the job's own retry resumes from the last saved page.
 */
export class WisproClient {
  readonly #http: OutboundClient;
  readonly #token: string;

  constructor(o: { baseUrl: string; token: string; timeoutMs: number; logger: Logger }) {
    this.#token = o.token;
    this.#http = new OutboundClient({ service: 'Wispro', baseUrl: o.baseUrl, timeoutMs: o.timeoutMs, logger: o.logger, classify: classifyWispro });
  }

  close() {
    return this.#http.close();
  }

  async listClients(page: number, perPage: number, signal?: AbortSignal): Promise<WisproPage> {
    const res = await this.#http.request({
      path: '/clients',
      query: { page, per_page: Math.min(perPage, 1000) },
      headers: { authorization: this.#token, accept: 'application/json' },
      signal,
    });
    const body = readEnvelope(res);
    if (!body) throw new UpstreamError('Wispro', `respuesta no válida (HTTP ${res.status}, ${res.text.slice(0, 80).replace(/\s+/g, ' ')}…)`);
    const status = res.status !== 200 ? res.status : body.status;
    if (status === 401 || status === 403) {
      throw new PermanentJobError(`Wispro rechazó el token (${status} ${body.message ?? 'Unauthorized'}): revise WISPRO_API_TOKEN`);
    }
    if (status === 402) throw new PermanentJobError(`Wispro respondió 402 ${body.message ?? 'Payment Required'}: la licencia de Wispro está vencida`);
    if (status !== 200) {
      throw new UpstreamError('Wispro', `HTTP ${res.status}, estado ${body.status}: ${body.message ?? 'error'}`, {
        retryable: status >= 500 || status === 429,
      });
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
