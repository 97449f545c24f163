/**
 * The error codes Vigil answers with. Every error that reaches a client, over HTTP or as a
 * socket ack, is `{ error: { code, message } }` with one of these codes.
 */
export const errorCodes = {
  invalid_input: 400,
  invalid_json: 400,
  unauthorized: 401,
  invalid_token: 401,
  token_expired: 401,
  invalid_credentials: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  invalid_transition: 409,
  session_exists: 409,
  /** The session is completed, terminated or failed: nothing more can be recorded for it. */
  session_ended: 409,
  /** The request does not fit the object's current state (e.g. a transport connected twice). */
  invalid_state: 409,
  /** An `Idempotency-Key` reused with another request (method, path or body). */
  idempotency_conflict: 409,
  /** The first request with this `Idempotency-Key` is still running; retry after it. */
  idempotency_in_progress: 409,
  /** The tenant's plan does not allow more (the message names the limit). */
  quota_exceeded: 402,
  /** The client took too long to send its request (headers or body). */
  request_timeout: 408,
  payload_too_large: 413,
  unsupported_media_type: 415,
  no_face: 422,
  multiple_faces: 422,
  unprocessable: 422,
  rate_limited: 429,
  internal: 500,
  not_implemented: 501,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof errorCodes;

export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

/** An expected failure: its code and message are safe to show to the caller. */
export class AppError extends Error {
  override name = 'AppError';
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.status = errorCodes[code];
  }
}

export const notFound = (what: string) => new AppError('not_found', `${what} not found`);
export const forbidden = (message = 'not allowed for this credential') => new AppError('forbidden', message);

export function toErrorBody(error: AppError): ErrorBody {
  return { error: { code: error.code, message: error.message } };
}

/**
 * Any thrown error as an AppError, with no transport attached: an AppError passes through, anything
 * else is logged and becomes `internal`, so internals never reach a client.
 */
export function toAppError(
  error: unknown,
  logger: { error(object: object, message: string): void },
): AppError {
  if (error instanceof AppError) return error;
  if (isUnavailable(error)) {
    logger.error({ err: error }, 'the database is unavailable');
    return new AppError('unavailable', 'the service is briefly unavailable; try again', {
      'retry-after': String(retryAfterSeconds),
    });
  }
  logger.error({ err: error }, 'unhandled error');
  return new AppError('internal', 'internal error');
}

/** What a client is told to wait when a dependency is away. */
const retryAfterSeconds = 5;

/** Network errors, and the driver's and PostgreSQL's codes for a connection that is gone or refused. */
const unavailableCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '57014', // query_canceled: statement_timeout
  '53300', // too_many_connections
]);

/**
 * Whether an error (or one it wraps: drizzle puts the driver's in `cause`) means the database
 * could not be reached or did not answer in time, rather than a bug: SQLSTATE class 08 too.
 */
export function isUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && (unavailableCodes.has(code) || /^08[0-9A-Z]{3}$/.test(code))) return true;
    if (current instanceof AggregateError && current.errors.some((inner) => isUnavailable(inner)))
      return true;
    current = current.cause;
  }
  return false;
}
