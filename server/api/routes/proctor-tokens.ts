import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ServiceContext } from '../../app/context.js';
import { appendAudit } from '../../audit/index.js';
import { actorOf } from '../../auth/index.js';
import { principalOf } from '../request.js';
import { loadExam } from '../../proctoring/index.js';
import { proctorTokenBody } from '../schemas.js';

/** A proctor shift: long enough for an exam day, short enough that a leaked link expires. */
const proctorTokenTtlSeconds = 12 * 3600;

export const proctorTokenRoutes =
  (context: ServiceContext): FastifyPluginAsyncZod =>
  async (app) => {
    app.post(
      '/proctor-tokens',
      { config: { auth: ['apiKey'] }, schema: { tags: ['auth'], body: proctorTokenBody } },
      async (request, reply) => {
        const principal = principalOf(request);
        const examIds = request.body.examIds ? [...new Set(request.body.examIds)] : null;
        // Every listed exam must be the tenant's own (404 names the first that is not).
        for (const examId of examIds ?? []) await loadExam(context.db, principal, examId);
        const token = context.tokens.sign(
          { kind: 'proctorToken', tenantId: principal.tenantId, name: request.body.name, examIds },
          proctorTokenTtlSeconds,
        );
        await context.db.transaction((tx) =>
          appendAudit(tx, {
            tenantId: principal.tenantId,
            actor: actorOf(principal),
            action: 'proctor_token.create',
            target: null,
            details: { name: request.body.name, examIds },
          }),
        );
        return reply.code(201).send({ token, expiresIn: proctorTokenTtlSeconds });
      },
    );
  };
