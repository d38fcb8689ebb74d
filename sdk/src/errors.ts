/**
 * Error codes: the server's (CONTRACT §2–3 and docs/protocol.md) plus the
 * client's own `network` (no response), `timeout` and `closed`.
 */
export type ErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'invalid_filter'
  | 'too_many_subscriptions'
  | 'rate_limited'
  | 'conflict'
  | 'unprocessable'
  | 'too_large'
  | 'internal'
  | 'network'
  | 'timeout'
  | 'closed'
  | (string & {});

/** Every error the SDK reports: a server error (with HTTP status when over REST) or a client one. */
export class WalrelayError extends Error {
  /** Machine-readable code, e.g. `forbidden`. */
  readonly code: ErrorCode;
  /** HTTP status for REST errors, undefined otherwise. */
  readonly status: number | undefined;
  /** The channel the error is about, for subscription errors. */
  readonly channel: string | undefined;

  constructor(code: ErrorCode, message: string, opts: { status?: number; channel?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'WalrelayError';
    this.code = code;
    this.status = opts.status;
    this.channel = opts.channel;
  }
}

const statusCodes: Record<number, ErrorCode> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  413: 'too_large',
  422: 'unprocessable',
  429: 'rate_limited',
};

/** The default code of an HTTP status without a JSON error body. */
export function codeForStatus(status: number): ErrorCode {
  return statusCodes[status] ?? 'internal';
}

/** Normalizes anything thrown into a WalrelayError. */
export function asError(e: unknown): WalrelayError {
  if (e instanceof WalrelayError) return e;
  return new WalrelayError('internal', e instanceof Error ? e.message : String(e), { cause: e });
}
