import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ServiceContext } from '../../app/context.js';
import { principalOf } from '../request.js';
import {
  createCandidate,
  createExam,
  createSession,
  getExam,
  listCandidates,
  listExams,
  listSessionsOfExam,
  policySchema,
} from '../../proctoring/index.js';
import { AppError } from '../../shared/index.js';
import {
  createCandidateBody,
  createExamBody,
  createSessionBody,
  examIdParams,
  listQuery,
} from '../schemas.js';

const examParams = examIdParams;

export const examRoutes =
  (context: ServiceContext): FastifyPluginAsyncZod =>
  async (app) => {
    const { db } = context;

    app.post(
      '/exams',
      { config: { auth: ['apiKey', 'admin'] }, schema: { tags: ['exams'], body: createExamBody } },
      async (request, reply) => {
        const policy = policySchema.safeParse(request.body.policy ?? {});
        if (!policy.success) {
          const issue = policy.error.issues[0];
          throw new AppError(
            'invalid_input',
            `invalid policy: ${['policy', ...(issue?.path ?? [])].join('.')}: ${issue?.message}`,
          );
        }
        const exam = await createExam(db, principalOf(request), { ...request.body, policy: policy.data });
        return reply.code(201).send(exam);
      },
    );

    app.get(
      '/exams',
      {
        config: { auth: ['apiKey', 'admin', 'proctor'] },
        schema: { tags: ['exams'], querystring: listQuery },
      },
      async (request) => listExams(db, principalOf(request), request.query.limit),
    );

    app.get(
      '/exams/:examId',
      { config: { auth: ['apiKey', 'admin', 'proctor'] }, schema: { tags: ['exams'], params: examParams } },
      async (request) => getExam(db, principalOf(request), request.params.examId),
    );

    app.post(
      '/exams/:examId/candidates',
      {
        config: { auth: ['apiKey', 'admin'] },
        schema: { tags: ['candidates'], params: examParams, body: createCandidateBody },
      },
      async (request, reply) => {
        const candidate = await createCandidate(
          db,
          principalOf(request),
          request.params.examId,
          request.body,
        );
        return reply.code(201).send(candidate);
      },
    );

    app.get(
      '/exams/:examId/candidates',
      {
        config: { auth: ['apiKey', 'admin', 'proctor'] },
        schema: { tags: ['candidates'], params: examParams },
      },
      async (request) => listCandidates(db, principalOf(request), request.params.examId),
    );

    app.post(
      '/exams/:examId/sessions',
      {
        config: { auth: ['apiKey', 'admin'] },
        schema: { tags: ['sessions'], params: examParams, body: createSessionBody },
      },
      async (request, reply) => {
        const session = await createSession(
          db,
          context.tokens,
          context.config.publicUrl,
          principalOf(request),
          request.params.examId,
          request.body.candidateId,
        );
        return reply.code(201).send(session);
      },
    );

    app.get(
      '/exams/:examId/sessions',
      {
        config: { auth: ['apiKey', 'admin', 'proctor'] },
        schema: { tags: ['sessions'], params: examParams, querystring: z.strictObject({}) },
      },
      async (request) => listSessionsOfExam(db, principalOf(request), request.params.examId),
    );
  };
