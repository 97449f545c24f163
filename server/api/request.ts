/**
 * What an API route knows of its request beyond Fastify's own: who may call it (route config)
 * and who is calling (set by the authentication hook before the body is parsed).
 */
import type { FastifyRequest } from 'fastify';
import type { Audience, Principal } from '../auth/index.js';
import { AppError } from '../shared/index.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route. Absent: public. */
    auth?: readonly Audience[];
  }
  interface FastifyRequest {
    principal: Principal | undefined;
  }
}

/** The principal of an authenticated route (its hook has already run). */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new AppError('unauthorized', 'authentication required');
  return request.principal;
}
