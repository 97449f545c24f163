import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ServiceContext } from '../app/context.js';
import { registerUsageAccounting } from '../usage/index.js';
import { registerIdempotency } from './idempotency.js';
import { auditRoutes } from './routes/audit.js';
import { authRoutes } from './routes/auth.js';
import { bulkRoutes } from './routes/bulk.js';
import { candidateRoutes } from './routes/candidates.js';
import { evidenceRoutes } from './routes/evidence.js';
import { examRoutes } from './routes/exams.js';
import { ltiApiRoutes } from './routes/lti.js';
import { messageRoutes } from './routes/messages.js';
import { proctorTokenRoutes } from './routes/proctor-tokens.js';
import { profileRoutes } from './routes/profiles.js';
import { reportRoutes } from './routes/reports.js';
import { reviewRoutes } from './routes/reviews.js';
import { sessionRoutes } from './routes/sessions.js';
import { usageRoutes } from './routes/usage.js';
import { verifyRoutes } from './routes/verify.js';
import { webhookRoutes } from './routes/webhooks.js';

/** The REST API of CONTRACT.md; mount under `/api/v1`. */
export const restApi =
  (context: ServiceContext): FastifyPluginAsyncZod =>
  async (app) => {
    registerIdempotency(app, context);
    registerUsageAccounting(app, {
      db: context.db,
      usage: context.usage,
      defaultPlan: context.config.defaultPlan,
    });
    for (const routes of [
      authRoutes,
      examRoutes,
      candidateRoutes,
      bulkRoutes,
      sessionRoutes,
      messageRoutes,
      reviewRoutes,
      evidenceRoutes,
      reportRoutes,
      profileRoutes,
      proctorTokenRoutes,
      auditRoutes,
      ltiApiRoutes,
      verifyRoutes,
      webhookRoutes,
      usageRoutes,
    ]) {
      await app.register(routes(context));
    }
  };
