import type { FastifyInstance } from 'fastify';
import type { Database } from '../db/index.js';
import type { UsageMeter } from './meter.js';
import type { LimitName, PlanId } from './plans.js';
import { assertWithinLimit } from './quota.js';

/** The routes that create what a plan limits, and the limits each must fit. */
const limitedRoutes: Record<string, LimitName[]> = {
  'POST /api/v1/exams/:examId/candidates': ['maxCandidates'],
  'POST /api/v1/exams/:examId/sessions': ['maxConcurrentSessions', 'maxCandidateMinutesPerMonth'],
};
const sessionCreation = 'POST /api/v1/exams/:examId/sessions';

/**
 * Counts authenticated API requests and created sessions, and refuses with 402 a request that
 * would go over the tenant's plan. Register after idempotency, so a replay is not refused.
 */
export function registerUsageAccounting(
  app: FastifyInstance,
  options: { db: Database; usage: UsageMeter; defaultPlan: PlanId },
): void {
  app.addHook('preHandler', async (request) => {
    const limits = limitedRoutes[`${request.method} ${request.routeOptions.url ?? ''}`];
    const tenantId = request.principal?.tenantId;
    if (!limits || !tenantId) return;
    for (const limit of limits) {
      await assertWithinLimit(options.db, { tenantId, limit, defaultPlan: options.defaultPlan });
    }
  });

  app.addHook('onResponse', async (request, reply) => {
    const tenantId = request.principal?.tenantId;
    if (!tenantId) return;
    options.usage.count(tenantId, 'api_requests');
    const replayed = reply.getHeader('idempotent-replayed') !== undefined;
    if (
      reply.statusCode === 201 &&
      !replayed &&
      `${request.method} ${request.routeOptions.url ?? ''}` === sessionCreation
    ) {
      options.usage.count(tenantId, 'sessions');
    }
  });
}
