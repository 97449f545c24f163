import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ServiceContext } from '../../app/context.js';
import { appendAudit } from '../../audit/index.js';
import { actorOf } from '../../auth/index.js';
import { principalOf } from '../request.js';
import { loadCandidate, loadExam, type Policy } from '../../proctoring/index.js';
import { AppError } from '../../shared/index.js';
import { verifyBody } from '../schemas.js';
import { assertImageSize, imageJsonBodyLimit } from './candidates.js';
import { imageBytes } from './images.js';

export const verifyRoutes =
  (context: ServiceContext): FastifyPluginAsyncZod =>
  async (app) => {
    app.post(
      '/verify',
      {
        bodyLimit: imageJsonBodyLimit,
        config: { auth: ['apiKey'] },
        schema: { tags: ['verify'], body: verifyBody },
      },
      async (request) => {
        const principal = principalOf(request);
        const candidate = await loadCandidate(context.db, principal, request.body.candidateId);
        const bytes = imageBytes(request.body, 'application/json');
        assertImageSize(bytes);
        if (!candidate.referenceEmbedding) {
          throw new AppError(
            'conflict',
            'the candidate has no reference photo yet (PUT /candidates/:id/reference)',
          );
        }
        if (!context.analysis)
          throw new AppError('not_implemented', 'face analysis is not enabled on this server');
        const exam = await loadExam(context.db, principal, candidate.examId);
        const result = await context.analysis.verify(bytes, candidate.referenceEmbedding, {
          matchThreshold: (exam.policy as Policy).identity.matchThreshold,
        });
        await context.db.transaction((tx) =>
          appendAudit(tx, {
            tenantId: principal.tenantId,
            actor: actorOf(principal),
            action: 'candidate.verify',
            target: candidate.id,
            details: { faceMatch: result.faceMatch, similarity: result.similarity, faces: result.faces },
          }),
        );
        return result;
      },
    );
  };
