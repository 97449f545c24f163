import type { FastifyBaseLogger, FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError, toAppError, toErrorBody, type ErrorCode } from '../shared/index.js';

/** Fastify's own client-error codes, mapped onto the contract's error codes. */
const fastifyCodes: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_input',
  FST_ERR_CTP_INVALID_TYPE: 'unsupported_media_type',
};

const codeByStatus: Record<number, ErrorCode> = {
  400: 'invalid_input',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
};

/** Turns any error a request raised, Fastify's own included, into the contract's `{error:{code,message}}`. */
export function httpAppError(error: unknown, logger: Pick<FastifyBaseLogger, 'error'>): AppError {
  if (error instanceof AppError) return error;
  if (hasZodFastifySchemaValidationErrors(error)) {
    // An id in the path that is not even well-formed names no object: unknown, like any other.
    if (error.validationContext === 'params') {
      const fields = error.validation.map((issue) => describePath('', issue.instancePath)).join(', ');
      return new AppError('not_found', `not found: no object has that ${fields} (ids are UUIDs)`);
    }
    const details = error.validation
      .slice(0, 5)
      .map((issue) => `${describePath(error.validationContext, issue.instancePath)}: ${issue.message}`)
      .join('; ');
    return new AppError('invalid_input', `invalid request: ${details}`);
  }
  const fastifyError = error as Partial<FastifyError>;
  const mapped = fastifyError.code ? fastifyCodes[fastifyError.code] : undefined;
  if (mapped) return new AppError(mapped, publicMessage(mapped, fastifyError.message));
  if (
    error instanceof SyntaxError ||
    (fastifyError.statusCode === 400 && /JSON/i.test(fastifyError.message ?? ''))
  ) {
    return new AppError('invalid_json', 'request body is not valid JSON');
  }
  const status = fastifyError.statusCode;
  if (status && status >= 400 && status < 500) {
    return new AppError(codeByStatus[status] ?? 'invalid_input', fastifyError.message ?? 'bad request');
  }
  return toAppError(error, logger);
}

function describePath(context: string | undefined, instancePath: string): string {
  const field = instancePath.replace(/^\//, '').replaceAll('/', '.');
  return [context ?? 'request', field].filter(Boolean).join('.');
}

function publicMessage(code: ErrorCode, fallback: string | undefined): string {
  switch (code) {
    case 'invalid_json':
      return 'request body is not valid JSON';
    case 'payload_too_large':
      return 'request body is too large';
    case 'unsupported_media_type':
      return 'unsupported content type';
    default:
      return fallback ?? 'bad request';
  }
}

/**
 * Errors Fastify raises before any route runs (`frameworkErrors`): a path that is not valid
 * percent-encoded UTF-8, or a path parameter over the router's length limit. Answered in the
 * contract's shape, never echoing the URL.
 */
export function frameworkAppError(error: Partial<FastifyError>): AppError {
  switch (error.code) {
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new AppError('not_found', 'not found: a path segment is longer than any id');
    case 'FST_ERR_BAD_URL':
      return new AppError('invalid_input', 'the request path is not valid percent-encoded UTF-8');
    default:
      return new AppError('invalid_input', 'bad request');
  }
}

export function sendError(reply: FastifyReply, error: AppError): FastifyReply {
  return reply.code(error.status).headers(error.headers).send(toErrorBody(error));
}

export function errorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply) {
  return sendError(reply, httpAppError(error, request.log));
}
