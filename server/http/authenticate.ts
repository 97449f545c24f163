import type { FastifyInstance, FastifyRequest } from 'fastify';
import '../api/request.js'; // the request typing (principal, route auth) this hook fills in
import type { ServiceContext } from '../app/context.js';
import { recordAudit } from '../audit/index.js';
import { actorOf, audienceOf, resolveApiKey, systemTenantId, type Principal } from '../auth/index.js';
import { AppError } from '../shared/index.js';

/**
 * Resolves `X-API-Key` or `Authorization: Bearer` before the body is parsed, enforces the
 * route's audience list, throttles guessing, and audits every failure.
 */
export function registerAuthentication(app: FastifyInstance, context: ServiceContext): void {
  app.decorateRequest('principal', undefined);

  const auditFailure = async (
    request: FastifyRequest,
    tenantId: string | undefined,
    action: string,
    reason: string,
  ) => {
    try {
      await recordAudit(context.db, {
        tenantId: tenantId ?? systemTenantId,
        actor: `ip:${request.ip}`,
        action,
        target: request.routeOptions.url ?? request.url,
        details: { reason, method: request.method },
      });
    } catch (error) {
      request.log.error({ err: error }, 'could not audit an authentication failure');
    }
  };

  app.addHook('onRequest', async (request) => {
    const allowed = request.routeOptions.config.auth;
    if (!allowed) return;
    const principal = await authenticate(request);
    await context.rateLimiter.consumeRequest(`principal:${principalKey(principal)}`);
    if (!allowed.includes(audienceOf(principal))) {
      await auditFailure(
        request,
        principal.tenantId,
        'auth.forbidden',
        `${actorOf(principal)} may not call this route`,
      );
      throw new AppError('forbidden', 'this credential may not call this endpoint');
    }
    request.principal = principal;
  });

  async function authenticate(request: FastifyRequest): Promise<Principal> {
    const apiKey = request.headers['x-api-key'];
    const authorization = request.headers.authorization;
    if (typeof apiKey === 'string' && apiKey.length > 0) {
      const resolved = await resolveApiKey(context.db, apiKey.trim());
      if ('kind' in resolved) return resolved;
      await context.rateLimiter.assertNotBlocked('api_key', request.ip);
      await auditFailure(request, resolved.unknownTenant, 'auth.failure', 'invalid API key');
      if (await context.rateLimiter.recordAuthFailure('api_key', request.ip)) {
        await context.rateLimiter.assertNotBlocked('api_key', request.ip);
      }
      throw new AppError('unauthorized', 'invalid API key');
    }
    if (typeof authorization === 'string' && /^bearer\s+/i.test(authorization)) {
      try {
        return context.tokens.verify(authorization.replace(/^bearer\s+/i, '').trim());
      } catch (error) {
        await auditFailure(
          request,
          undefined,
          'auth.failure',
          error instanceof AppError ? error.code : 'invalid_token',
        );
        throw error;
      }
    }
    throw new AppError(
      'unauthorized',
      'missing credentials: send X-API-Key or Authorization: Bearer <token>',
    );
  }
}

function principalKey(principal: Principal): string {
  switch (principal.kind) {
    case 'apiKey':
      return `key:${principal.clientId}`;
    case 'user':
      return `user:${principal.userId}`;
    case 'proctorToken':
      return `proctor:${principal.tenantId}:${principal.name}`;
    case 'candidate':
      return `candidate:${principal.sessionId}`;
  }
}
