import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ServiceContext } from '../../app/context.js';
import { AppError } from '../../shared/index.js';
import { startOfMonth, usageReport } from '../../usage/index.js';
import { principalOf } from '../request.js';

const maxRangeMs = 366 * 24 * 3600_000;

const limitsSchema = z.object({
  maxConcurrentSessions: z.number().nullable(),
  maxCandidates: z.number().nullable(),
  maxCandidateMinutesPerMonth: z.number().nullable(),
});

const usageResponse = z.object({
  tenantId: z.string(),
  from: z.string(),
  to: z.string(),
  sessions: z.number(),
  candidateMinutes: z.number(),
  framesAnalysed: z.number(),
  evidenceBytes: z.number(),
  apiRequests: z.number(),
  plan: z.string(),
  /** null: unlimited. */
  limits: limitsSchema,
  current: z.object({
    concurrentSessions: z.number(),
    candidates: z.number(),
    candidateMinutesThisMonth: z.number(),
  }),
});

const usageQuery = z.strictObject({
  from: z.iso.datetime({ offset: true, error: 'from must be an ISO 8601 date-time' }).optional(),
  to: z.iso.datetime({ offset: true, error: 'to must be an ISO 8601 date-time' }).optional(),
});

export const usageRoutes =
  (context: ServiceContext): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/usage',
      {
        config: { auth: ['apiKey', 'admin'] },
        schema: {
          tags: ['usage'],
          querystring: usageQuery,
          response: { 200: usageResponse },
          description:
            "The tenant's usage in [from, to) (default: this month so far), counted per hour, with its plan and limits.",
        },
      },
      async (request) => {
        const to = request.query.to ? new Date(request.query.to) : new Date();
        const from = request.query.from ? new Date(request.query.from) : startOfMonth(to);
        if (from >= to) throw new AppError('invalid_input', 'from must be before to');
        if (to.getTime() - from.getTime() > maxRangeMs) {
          throw new AppError('invalid_input', 'the range may span at most 366 days');
        }
        // This node's latest counts first, so a caller sees its own requests.
        await context.usage.flush();
        return usageReport(context.db, {
          tenantId: principalOf(request).tenantId,
          from,
          to,
          defaultPlan: context.config.defaultPlan,
        });
      },
    );
  };
