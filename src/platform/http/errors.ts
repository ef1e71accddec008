/**
 * One error type for everything a user can get wrong or an upstream can break. Routes throw it; the
 * error handler shapes the reply in the seed's format of the route (see `replyShape`).
 */
export class AppError extends Error {
  readonly code: string;
  readonly httpStatus: number;
  readonly details: unknown;
  /** Fields a seed puts at the top level of its error reply (e.g. the existing `whmcs_id` of a 409). */
  readonly extra: Record<string, unknown> | undefined;
  constructor(code: string, httpStatus: number, message: string, details?: unknown, extra?: Record<string, unknown>) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.httpStatus = httpStatus;
    this.details = details;
    this.extra = extra;
  }
}

export const badRequest = (message: string, details?: unknown) => new AppError('bad_request', 400, message, details);
export const unauthorized = (message = 'No autorizado / Unauthorized') => new AppError('unauthorized', 401, message);
export const forbidden = (message = 'Prohibido / Forbidden') => new AppError('forbidden', 403, message);
export const notFound = (message: string) => new AppError('not_found', 404, message);
export const conflict = (message: string, details?: unknown) => new AppError('conflict', 409, message, details);

/** An upstream failure: 502 when it answered badly, 504 when it did not answer in time. */
export class UpstreamError extends AppError {
  readonly retryable: boolean;
  constructor(service: string, message: string, opts: { timeout?: boolean; retryable?: boolean; status?: number; details?: unknown } = {}) {
    super(opts.timeout ? 'upstream_timeout' : 'upstream_error', opts.status ?? (opts.timeout ? 504 : 502), `${service}: ${message}`, opts.details);
    this.retryable = opts.retryable ?? true;
  }
}

/** Reply shapes used by the seeds: 000/002 answer `{success:false,message}`, 004 answers `{status:"error",message}`. */
export type ReplyShape = 'success' | 'status';

export function errorBody(shape: ReplyShape, message: string, code: string, details?: unknown, top?: Record<string, unknown>): Record<string, unknown> {
  const extra = { ...top, ...(details === undefined ? {} : { details }) };
  return shape === 'status'
    ? { status: 'error', message, code, ...extra }
    : { success: false, message, code, ...extra };
}
