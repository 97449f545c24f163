/**
 * Every route in the OpenAPI document declares its responses, so clients can be generated from
 * it: the contract's error shape for the statuses the route can answer, and a success entry for
 * routes that do not declare their own (typed as unknown until they do). Documentation only:
 * nothing here changes how a response is serialised.
 */
import type { FastifySchema } from 'fastify';
import { errorCodes, type ErrorCode } from '../shared/index.js';

type JsonSchema = Record<string, unknown>;
type Transform<T> = (input: T) => { schema: FastifySchema; url: string };

const errorBody = (codes: ErrorCode[], description: string): JsonSchema => ({
  description,
  type: 'object',
  required: ['error'],
  additionalProperties: false,
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      additionalProperties: false,
      properties: {
        code: { type: 'string', enum: codes },
        message: { type: 'string' },
      },
    },
  },
});

const codesWithStatus = (status: number) =>
  (Object.keys(errorCodes) as ErrorCode[]).filter((code) => errorCodes[code] === status);

const statusDescriptions: Record<number, string> = {
  400: 'The request is invalid (the message names the field)',
  401: 'Missing or invalid credentials',
  402: 'Over a limit of the tenant’s plan (the message names the limit)',
  403: 'This credential may not do this',
  404: 'No such object for this tenant',
  409: 'Conflicts with the current state (or an Idempotency-Key reused or in progress)',
  413: 'The request body is too large',
  415: 'Unsupported content type',
  422: 'The image cannot be used (no face, several faces)',
  429: 'Too many requests; retry after the Retry-After header',
  500: 'Internal error',
  503: 'A dependency is briefly unavailable; retry after the Retry-After header',
};

/** Routes that create what a plan limits (server/usage). */
const quotaLimited = /\/exams\/[^/]+\/(candidates|sessions)(\/bulk)?$/;

/** The error statuses a route can answer, from what it takes and who may call it. */
function errorStatuses(method: string, url: string, schema: FastifySchema, authenticated: boolean): number[] {
  const statuses = [400, 404, 429, 500, 503];
  if (authenticated) statuses.push(401, 403);
  if (method !== 'GET' && method !== 'HEAD') statuses.push(409, 413, 415);
  if (method === 'POST' && quotaLimited.test(url)) statuses.push(402);
  if ((schema.description ?? '').includes('image') || (schema.description ?? '').includes('photo')) {
    statuses.push(422);
  }
  return statuses.sort((a, b) => a - b);
}

/** Wraps the zod → JSON Schema transform of `@fastify/swagger` to complete each route's responses. */
export function withDocumentedResponses<
  T extends { schema: FastifySchema; url: string; route: { method: string | string[]; config?: unknown } },
>(inner: Transform<T>): Transform<T> {
  return (input) => {
    const transformed = inner(input);
    const schema = transformed.schema;
    if ((schema as { hide?: boolean }).hide) return transformed;
    const response = { ...((schema.response as Record<string, JsonSchema> | undefined) ?? {}) };
    const methods = [input.route.method].flat();
    const config = input.route.config as { auth?: readonly string[] } | undefined;
    for (const status of errorStatuses(methods[0] ?? 'GET', input.url, schema, Boolean(config?.auth))) {
      if (response[String(status)]) continue;
      const codes = codesWithStatus(status);
      if (codes.length > 0)
        response[String(status)] = errorBody(codes, statusDescriptions[status] ?? 'Error');
    }
    if (!Object.keys(response).some((status) => status.startsWith('2'))) {
      response['2XX'] = { description: 'Success (this route does not declare its body yet)' };
    }
    return { ...transformed, schema: { ...schema, response } };
  };
}
