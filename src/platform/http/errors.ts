import { ERROR_CODES, type ErrorCode } from './error-codes.ts';

export type { ErrorCode } from './error-codes.ts';

/**
 * One error type for everything a user can get wrong or an upstream can break. Routes throw it; the
 * error handler shapes the reply in the seed's format of the route (see `replyShape`). The status
 * comes from the code's row in `error-codes.ts`; `fields` are the values the message was built from,
 * answered at the top level of the reply beside `message` and `code` (e.g. the existing `whmcs_id`).
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly httpStatus: number;
  /** Per-field issues (`[{field, message}]`) or other structured detail, answered as `details`. */
  readonly details: unknown;
  /** Values the message was built from, answered at the top level of the reply. */
  readonly extra: Record<string, unknown> | undefined;
  constructor(code: ErrorCode, message: string, fields?: Record<string, unknown>, details?: unknown) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.httpStatus = ERROR_CODES[code].status;
    this.details = details;
    this.extra = fields;
  }
}

/** An upstream failure: `upstream_error` (502) when it answered badly, `upstream_timeout` (504) when it did not answer in time. */
export class UpstreamError extends AppError {
  readonly retryable: boolean;
  constructor(service: string, message: string, opts: { timeout?: boolean; retryable?: boolean; details?: unknown } = {}) {
    super(opts.timeout ? 'upstream_timeout' : 'upstream_error', `${service}: ${message}`, { service }, opts.details);
    this.retryable = opts.retryable ?? true;
  }
}

/** Reply shapes used by the seeds: 000/002 answer `{success:false,message}`, 004 answers `{status:"error",message}`. */
export type ReplyShape = 'success' | 'status';

export function errorBody(shape: ReplyShape, message: string, code: ErrorCode, details?: unknown, top?: Record<string, unknown>): Record<string, unknown> {
  const extra = { ...top, ...(details === undefined ? {} : { details }) };
  return shape === 'status' ? { ...extra, status: 'error', message, code } : { ...extra, success: false, message, code };
}
