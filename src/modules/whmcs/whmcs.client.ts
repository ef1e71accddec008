import { z } from 'zod';
import type { Logger } from '../../platform/logger.ts';
import { OutboundClient, redactRecord, type RetryPolicy } from '../../platform/http/outbound.ts';
import { UpstreamError } from '../../platform/http/errors.ts';

/** One call to WHMCS as the audit log keeps it: secrets redacted, with its duration. */
export interface WhmcsCall {
  action: string;
  request: Record<string, unknown>;
  response: unknown;
  status: 'success' | 'error';
  error: string | null;
  durationMs: number;
}
export type CallSink = (call: WhmcsCall) => void;

/** WHMCS answered `result: error` to a valid, authenticated request (HTTP 200): a business error. */
export class WhmcsApiError extends Error {
  readonly action: string;
  constructor(action: string, message: string) {
    super(message);
    this.name = 'WhmcsApiError';
    this.action = action;
  }
}

// Loose types: ids and counts arrive as numbers or strings depending on the install.
const num = z.union([z.number(), z.string().regex(/^-?\d+(\.\d+)?$/)]).transform(Number);
const text = z
  .union([z.string(), z.number(), z.null()])
  .optional()
  .transform((v) => (v === null || v === undefined ? '' : String(v)));

const clientRow = z
  .object({
    id: num,
    firstname: text,
    lastname: text,
    companyname: text,
    email: text,
    datecreated: text,
    groupid: num.optional(),
    status: text,
  })
  .passthrough();

const getClientsReply = z.object({
  totalresults: num,
  startnumber: num.optional(),
  numreturned: num.optional(),
  // "" when nothing matches; one row arrives as an object on some versions.
  clients: z.union([z.literal(''), z.null(), z.object({ client: z.union([z.array(clientRow), clientRow]) })]).optional(),
});

const clientDetails = z
  .object({
    id: num,
    firstname: text,
    lastname: text,
    companyname: text,
    email: text,
    address1: text,
    address2: text,
    city: text,
    state: text,
    postcode: text,
    countrycode: text,
    country: text,
    phonenumber: text,
    status: text,
  })
  .passthrough();
export type WhmcsClientDetails = z.infer<typeof clientDetails>;

const detailsReply = z.object({ client: z.record(z.string(), z.unknown()).optional() }).passthrough();
const idReply = z.object({ clientid: num });
const versionReply = z.object({ whmcs: z.object({ version: text, canonicalversion: text.optional() }) });

const NOT_FOUND = /client not found/i;
const READS = new Set(['getclients', 'getclientsdetails', 'whmcsdetails']);
const ACCESS_HINT: [RegExp, string][] = [
  [/authentication failed|invalid or missing credentials/i, 'revise WHMCS_API_IDENTIFIER y WHMCS_API_SECRET / check the API credentials'],
  [
    /invalid ip/i,
    'agregue la IP de Puente en WHMCS (Setup > General Settings > Security) o configure WHMCS_API_ACCESS_KEY / allow Puente’s IP in WHMCS or set WHMCS_API_ACCESS_KEY',
  ],
  [/invalid permissions/i, 'el rol de la credencial API no permite esta acción / the API role does not allow this action'],
];

/**
 * WHMCS's API: one form POST to `/includes/api.php` with `action`, credentials and
 * `responsetype=json`. Business errors come as HTTP 200 with `result: error`; access errors as
 * 400/403; some installs answer HTML with 200. Every reply is validated before use.
 */
export class WhmcsClient {
  readonly #http: OutboundClient;
  readonly #auth: Record<string, string>;
  readonly configured: boolean;

  constructor(o: { baseUrl?: string; identifier?: string; secret?: string; accessKey?: string; timeoutMs: number; logger: Logger }) {
    this.configured = Boolean(o.baseUrl && o.identifier && o.secret);
    this.#auth = { identifier: o.identifier ?? '', secret: o.secret ?? '', ...(o.accessKey ? { accesskey: o.accessKey } : {}) };
    this.#http = new OutboundClient({ service: 'WHMCS', baseUrl: o.baseUrl ?? 'http://whmcs.invalid', timeoutMs: o.timeoutMs, logger: o.logger, retries: 2 });
  }

  /**
   * One API call. `answers` names `result: error` messages that are an answer, not a failure (a
   * lookup that finds nothing): the body is returned and the call is logged as a success.
   */
  async call(
    action: string,
    params: Record<string, string | number | undefined>,
    sink: CallSink,
    signal?: AbortSignal,
    answers?: RegExp,
  ): Promise<Record<string, unknown>> {
    const clean = Object.fromEntries(
      Object.entries(params)
        .filter(([, v]) => v !== undefined && v !== '')
        .map(([k, v]) => [k, String(v)]),
    );
    const form = new URLSearchParams({ action, ...this.#auth, responsetype: 'json', ...clean });
    const request = redactRecord({ action, ...this.#auth, ...clean });
    const started = performance.now();
    const record = (status: 'success' | 'error', response: unknown, error: string | null) =>
      sink({ action, request, response, status, error, durationMs: performance.now() - started });
    // Reads may be retried; a write is retried only when the failure proves WHMCS never saw it.
    const retry: RetryPolicy = READS.has(action.toLowerCase()) ? 'idempotent' : 'safe';
    let res;
    try {
      res = await this.#http.request({
        method: 'POST',
        path: '/includes/api.php',
        body: form.toString(),
        retry,
        signal,
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      });
    } catch (err) {
      record('error', null, (err as Error).message);
      throw err;
    }
    let body: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(res.text);
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      body = parsed as Record<string, unknown>;
    } catch {
      const snippet = res.text
        .replace(/<[^>]+>/g, ' ')
        .replace(/\s+/g, ' ')
        .trim()
        .slice(0, 120);
      const message = `WHMCS respondió algo que no es JSON (HTTP ${res.status}, ${String(res.headers['content-type'] ?? 'sin content-type')}): «${snippet}» — revise WHMCS_API_URL / WHMCS answered non-JSON`;
      record('error', { http_status: res.status, body: snippet }, message);
      throw new UpstreamError('WHMCS', message.replace(/^WHMCS /, ''));
    }
    const response = redactRecord(body);
    if (body.result === 'success' && res.status < 300) {
      record('success', response, null);
      return body;
    }
    const message = typeof body.message === 'string' ? body.message : `HTTP ${res.status} sin mensaje`;
    if (answers?.test(message) && res.status < 300) {
      record('success', response, null);
      return body;
    }
    record('error', { http_status: res.status, ...response }, message);
    if (res.status >= 400 || /authentication failed|invalid or missing credentials|invalid ip|invalid permissions|empty action/i.test(message)) {
      const hint = ACCESS_HINT.find(([re]) => re.test(message))?.[1];
      throw new UpstreamError('WHMCS', `${message}${hint ? ` — ${hint}` : ''}`, { retryable: false });
    }
    throw new WhmcsApiError(action, message);
  }

  async details(sink: CallSink) {
    const body = await this.call('WhmcsDetails', {}, sink);
    return parseReply(versionReply, body, 'WhmcsDetails').whmcs;
  }

  /** Always sends `limitnum`: WHMCS silently returns 25 rows when it is left out. */
  async getClients(q: { offset: number; limit: number; search?: string }, sink: CallSink) {
    const body = await this.call('GetClients', { limitstart: q.offset, limitnum: q.limit, search: q.search, orderby: 'id', sorting: 'ASC' }, sink);
    const reply = parseReply(getClientsReply, body, 'GetClients');
    const raw = reply.clients && typeof reply.clients === 'object' ? reply.clients.client : [];
    return { total: reply.totalresults, clients: Array.isArray(raw) ? raw : [raw] };
  }

  /**
   * The client, or null on `Client Not Found`. Looking up an email is asking whether it is taken,
   * so there "not found" is an answer and is logged as one; asking for an id that WHMCS does not
   * have is logged as an error.
   */
  async getClient(by: { clientid?: number; email?: string }, sink: CallSink, signal?: AbortSignal): Promise<WhmcsClientDetails | null> {
    try {
      // No `stats`: it is a PHP boolean, so any non-empty value but "0" (the string "false" included)
      // asks WHMCS to compute the client's invoice and service totals. Omitted means false.
      const body = await this.call('GetClientsDetails', { clientid: by.clientid, email: by.email }, sink, signal, by.email ? NOT_FOUND : undefined);
      if (body.result !== 'success') return null;
      const reply = parseReply(detailsReply, body, 'GetClientsDetails');
      // `client` is the current shape; older installs only have the deprecated top-level copy.
      return parseReply(clientDetails, reply.client ?? body, 'GetClientsDetails');
    } catch (err) {
      if (err instanceof WhmcsApiError && NOT_FOUND.test(err.message)) return null;
      throw err;
    }
  }

  /**
   * AddClient e-mails the new client a welcome message unless `noemail` is true (documented as "pass
   * as true to skip sending welcome email"); a bulk push of every customer must not do that.
   */
  async addClient(fields: Record<string, string>, sink: CallSink, signal?: AbortSignal, opts: { welcomeEmail?: boolean } = {}) {
    const body = await this.call('AddClient', { ...fields, ...(opts.welcomeEmail ? {} : { noemail: 'true' }) }, sink, signal);
    return parseReply(idReply, body, 'AddClient').clientid;
  }

  async updateClient(id: number, fields: Record<string, string>, sink: CallSink) {
    const body = await this.call('UpdateClient', { clientid: id, ...fields }, sink);
    return parseReply(idReply, body, 'UpdateClient').clientid;
  }

  close() {
    return this.#http.close();
  }
}

function parseReply<T extends z.ZodType>(schema: T, body: unknown, action: string): z.infer<T> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new UpstreamError('WHMCS', `respuesta de ${action} inesperada (${issue?.path.join('.') || 'raíz'}: ${issue?.message}) / unexpected reply`);
}

/** AddClient's and UpdateClient's ways of saying the email is taken. */
export const isDuplicateEmail = (message: string) => /already exists with that email|email address entered is not available|duplicate email/i.test(message);

/** AddClient's validation messages: the request lacked or had a bad field. */
export const isFieldError = (message: string) => /you did not enter|not valid|invalid country|is required/i.test(message);
