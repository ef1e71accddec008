import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request, errors as undiciErrors } from 'undici';
import type { Logger } from '../logger.ts';
import { outboundCalls } from '../metrics.ts';
import { UpstreamError } from './errors.ts';

export interface OutboundOptions {
  service: string;
  baseUrl: string;
  timeoutMs: number;
  logger: Logger;
  /** Attempts after the first for retryable failures (default 3). */
  retries?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Requests per second towards this service; none by default. */
  ratePerSecond?: number;
  /** Connections kept per origin (64 by default). */
  connections?: number;
  keepAliveMs?: number;
  /** What a reply that did arrive means; by default its HTTP status, see `classifyStatus`. */
  classify?: ReplyClassifier;
}

/**
 * What a reply that arrived means for the caller: `ok`, `retry` (the service says try again later:
 * 429, 5xx, or a vendor's own way of saying so in the body) or `final` (a refusal repeating cannot fix).
 */
export type ReplyClass = 'ok' | 'retry' | 'final';
export type ReplyClassifier = (res: OutboundResponse) => ReplyClass;

const classifyStatus: ReplyClassifier = (res) => (res.status === 429 || res.status >= 500 ? 'retry' : res.status < 400 ? 'ok' : 'final');

/**
 * How a call that got no reply failed. `unsent`: it never reached the service (refused, unresolvable,
 * no connection in time), so it is safe to send again; `timeout` and `broken`: it may have been
 * processed; `aborted`: the caller's signal.
 */
export type TransportFailure = { kind: 'unsent' | 'timeout' | 'broken' | 'aborted'; code: string };

/** An UpstreamError that says how the call failed. */
export class TransportError extends UpstreamError {
  readonly failure: TransportFailure;
  constructor(service: string, message: string, failure: TransportFailure, opts: ConstructorParameters<typeof UpstreamError>[2] = {}) {
    super(service, message, opts);
    this.failure = failure;
  }
}

export const transportFailureOf = (err: UpstreamError): TransportFailure | null => (err instanceof TransportError ? err.failure : null);

/**
 * `idempotent`: network errors, timeouts, 5xx and 429 are retried (reads, upserts).
 * `safe`: only failures that prove the request was not processed: connection refused, 429, 503.
 * `never`: one attempt.
 */
export type RetryPolicy = 'idempotent' | 'safe' | 'never';

export interface OutboundRequest {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  headers?: Record<string, string>;
  body?: string;
  retry?: RetryPolicy;
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface OutboundResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  durationMs: number;
}

const SECRET_KEY = /secret|password|token|key|identifier|authorization|apikey/i;

export function redactRecord(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, SECRET_KEY.test(k) ? '[redacted]' : v]));
}

export class OutboundClient {
  readonly #o: Required<Omit<OutboundOptions, 'ratePerSecond' | 'connections' | 'keepAliveMs'>> & { ratePerSecond?: number };
  readonly #agent: Agent;
  #nextSlot = 0;

  constructor(options: OutboundOptions) {
    this.#o = { retries: 3, baseDelayMs: 200, maxDelayMs: 10_000, classify: classifyStatus, ...options, baseUrl: options.baseUrl.replace(/\/+$/, '') };
    this.#agent = new Agent({
      connections: options.connections ?? 64,
      keepAliveTimeout: options.keepAliveMs ?? 10_000,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    });
  }

  get service() {
    return this.#o.service;
  }

  async request(req: OutboundRequest): Promise<OutboundResponse> {
    const policy = req.retry ?? ((req.method ?? 'GET') === 'GET' ? 'idempotent' : 'safe');
    const maxAttempts = policy === 'never' ? 1 : this.#o.retries + 1;
    let lastError: UpstreamError | null = null;
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      if (attempt > 0) await sleep(this.#delay(attempt, lastError), undefined, { signal: req.signal });
      await this.#waitForSlot(req.signal);
      const outcome = await this.#once(req);
      if (!(outcome instanceof UpstreamError)) {
        if (this.#retryableReply(outcome, policy) && attempt + 1 < maxAttempts) {
          lastError = new UpstreamError(this.#o.service, `HTTP ${outcome.status}`, { details: { retryAfter: outcome.headers['retry-after'] } });
          continue;
        }
        outboundCalls.inc({ service: this.#o.service, outcome: String(outcome.status) });
        return outcome;
      }
      lastError = outcome;
      outboundCalls.inc({ service: this.#o.service, outcome: outcome.code });
      const retryable = policy === 'idempotent' || (policy === 'safe' && (outcome.details as { refused?: boolean })?.refused === true);
      if (!retryable || req.signal?.aborted) break;
    }
    throw lastError!;
  }

  /**
   * One attempt, never retried and never thrown: the reply, or how the call failed (`transportFailureOf`).
   * For callers that own their retries (a bulk send decides per recipient what to do next).
   */
  async exchange(req: Omit<OutboundRequest, 'retry'>): Promise<OutboundResponse | UpstreamError> {
    await this.#waitForSlot(req.signal);
    const outcome = await this.#once(req);
    outboundCalls.inc({ service: this.#o.service, outcome: outcome instanceof UpstreamError ? outcome.code : String(outcome.status) });
    return outcome;
  }

  /** What this client's classifier makes of a reply. */
  classify(res: OutboundResponse): ReplyClass {
    return this.#o.classify(res);
  }

  async close() {
    await this.#agent.close();
  }

  #retryableReply(res: OutboundResponse, policy: RetryPolicy) {
    if (policy === 'never' || this.#o.classify(res) !== 'retry') return false;
    // A `safe` request is repeated only when the service shows it did not process it.
    return policy === 'idempotent' || res.status === 429 || res.status === 503;
  }

  #delay(attempt: number, last: UpstreamError | null) {
    const retryAfter = (last?.details as { retryAfter?: string } | undefined)?.retryAfter;
    if (retryAfter) {
      const seconds = Number(retryAfter);
      const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(retryAfter) - Date.now();
      if (ms > 0) return Math.min(ms, 60_000);
    }
    const cap = Math.min(this.#o.maxDelayMs, this.#o.baseDelayMs * 2 ** (attempt - 1));
    return cap / 2 + Math.random() * (cap / 2);
  }

  async #waitForSlot(signal?: AbortSignal) {
    if (!this.#o.ratePerSecond) return;
    const now = Date.now();
    const slot = Math.max(now, this.#nextSlot);
    this.#nextSlot = slot + 1000 / this.#o.ratePerSecond;
    if (slot > now) await sleep(slot - now, undefined, { signal });
  }

  async #once(req: OutboundRequest): Promise<OutboundResponse | UpstreamError> {
    const url = new URL(this.#o.baseUrl + req.path);
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const timeoutMs = req.timeoutMs ?? this.#o.timeoutMs;
    const signals = [AbortSignal.timeout(timeoutMs), ...(req.signal ? [req.signal] : [])];
    const started = performance.now();
    try {
      const res = await request(url, {
        method: req.method ?? 'GET',
        headers: req.headers,
        body: req.body,
        dispatcher: this.#agent,
        signal: AbortSignal.any(signals),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const text = await res.body.text();
      const durationMs = performance.now() - started;
      this.#o.logger.debug(
        { service: this.#o.service, method: req.method ?? 'GET', path: url.pathname, status: res.statusCode, ms: Math.round(durationMs) },
        'outbound call',
      );
      return { status: res.statusCode, headers: res.headers, text, durationMs };
    } catch (err) {
      return this.#classify(err, timeoutMs, req.signal);
    }
  }

  #classify(err: unknown, timeoutMs: number, callerSignal?: AbortSignal): UpstreamError {
    const e = err as NodeJS.ErrnoException & { name?: string };
    const service = this.#o.service;
    const code = e.code ?? (e.cause as NodeJS.ErrnoException | undefined)?.code;
    if (callerSignal?.aborted) {
      return new TransportError(
        service,
        'la operación fue cancelada / request aborted',
        { kind: 'aborted', code: code ?? e.name ?? 'AbortError' },
        { retryable: false },
      );
    }
    const timedOut =
      e.name === 'TimeoutError' || e.name === 'AbortError' || err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError;
    if (timedOut) {
      return new TransportError(
        service,
        `sin respuesta en ${timeoutMs} ms / no answer within ${timeoutMs} ms`,
        { kind: 'timeout', code: code ?? e.name ?? 'TimeoutError' },
        { timeout: true },
      );
    }
    const refused = code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN';
    // No connection in time: nothing was sent either (still not `refused`, which `safe` requests retry on).
    const unsent = refused || code === 'UND_ERR_CONNECT_TIMEOUT';
    return new TransportError(
      service,
      `no se pudo conectar (${code ?? e.message}) / connection failed`,
      { kind: unsent ? 'unsent' : 'broken', code: code ?? e.name ?? 'Error' },
      { details: { refused } },
    );
  }
}
