import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ServiceContext } from '../../app/context.js';
import { recordAudit } from '../../audit/index.js';
import {
  checkPassword,
  issueTokenPair,
  revokeRefreshToken,
  rotateRefreshToken,
  systemTenantId,
} from '../../auth/index.js';
import { AppError } from '../../shared/index.js';
import { loginBody, refreshBody } from '../schemas.js';

export const authRoutes =
  (context: ServiceContext): FastifyPluginAsyncZod =>
  async (app) => {
    const { db, tokens, rateLimiter, config } = context;

    app.post('/auth/token', { schema: { tags: ['auth'], body: loginBody } }, async (request) => {
      await rateLimiter.assertNotBlocked('password', request.ip);
      const { user, ok } = await checkPassword(db, request.body.email, request.body.password);
      if (!ok || !user) {
        await recordAudit(db, {
          tenantId: user?.tenantId ?? systemTenantId,
          actor: `ip:${request.ip}`,
          action: 'auth.login_failure',
          target: user?.id ?? null,
          details: { email: request.body.email.trim().toLowerCase() },
        });
        if (await rateLimiter.recordAuthFailure('password', request.ip)) {
          await rateLimiter.assertNotBlocked('password', request.ip);
        }
        throw new AppError('invalid_credentials', 'wrong e-mail or password');
      }
      const pair = await issueTokenPair(db, tokens, user, config.jwt.refreshTokenTtlSeconds);
      await recordAudit(db, {
        tenantId: user.tenantId,
        actor: `user:${user.id}`,
        action: 'auth.login',
        target: user.id,
      });
      return pair;
    });

    app.post('/auth/refresh', { schema: { tags: ['auth'], body: refreshBody } }, async (request) => {
      await rateLimiter.assertNotBlocked('refresh_token', request.ip);
      const outcome = await rotateRefreshToken(
        db,
        tokens,
        request.body.refreshToken,
        config.jwt.refreshTokenTtlSeconds,
      );
      if (!outcome.ok) {
        await recordAudit(db, {
          tenantId: outcome.tenantId ?? systemTenantId,
          actor: `ip:${request.ip}`,
          action: 'auth.refresh_failure',
          target: outcome.userId ?? null,
          details: { reason: outcome.reason },
        });
        if (await rateLimiter.recordAuthFailure('refresh_token', request.ip)) {
          await rateLimiter.assertNotBlocked('refresh_token', request.ip);
        }
        throw new AppError(
          'invalid_token',
          `refresh token is ${outcome.reason === 'unknown' ? 'not valid' : outcome.reason}`,
        );
      }
      return outcome.pair;
    });

    // Sign-out: the refresh token's family stops working at once (access tokens expire by themselves).
    app.post('/auth/revoke', { schema: { tags: ['auth'], body: refreshBody } }, async (request, reply) => {
      const revoked = await revokeRefreshToken(db, request.body.refreshToken);
      if (revoked) {
        await recordAudit(db, {
          tenantId: revoked.tenantId,
          actor: `user:${revoked.userId}`,
          action: 'auth.revoke',
          target: revoked.userId,
        });
      }
      return reply.code(204).send();
    });
  };
