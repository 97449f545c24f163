import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ServiceContext } from '../../app/context.js';
import { reviewDecisions } from '../../db/index.js';
import { addReview, listReviews, messageText, reviewQueue } from '../../proctoring/index.js';
import { principalOf } from '../request.js';
import { idParams } from '../schemas.js';

const reviewBody = z.strictObject({
  /** Absent: the decision is on the whole session. */
  violationId: z.uuid({ error: 'violationId must be a UUID' }).optional(),
  decision: z.enum(reviewDecisions),
  /** Why: a decision without a reason is no review. */
  note: messageText,
});

/**
 * Human review (CONTRACT "Reports and appeals"): a reviewer confirms or dismisses a violation or
 * the whole session with a note; the exam's review queue lists what no one has decided on yet.
 */
export const reviewRoutes =
  (context: ServiceContext): FastifyPluginAsyncZod =>
  async (app) => {
    const { db } = context;

    app.post(
      '/sessions/:id/reviews',
      {
        config: { auth: ['admin', 'proctor'] },
        schema: { tags: ['reviews'], params: idParams, body: reviewBody },
      },
      async (request, reply) =>
        reply.code(201).send(await addReview(db, principalOf(request), request.params.id, request.body)),
    );

    app.get(
      '/sessions/:id/reviews',
      { config: { auth: ['apiKey', 'admin', 'proctor'] }, schema: { tags: ['reviews'], params: idParams } },
      async (request) => listReviews(db, principalOf(request), request.params.id),
    );

    app.get(
      '/exams/:id/review-queue',
      { config: { auth: ['apiKey', 'admin', 'proctor'] }, schema: { tags: ['reviews'], params: idParams } },
      async (request) => reviewQueue(db, principalOf(request), request.params.id),
    );
  };
