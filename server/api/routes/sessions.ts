import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ServiceContext } from '../../app/context.js';
import { principalOf } from '../request.js';
import { applySessionAction, getSession, listViolations } from '../../proctoring/index.js';
import { idParams, sessionActionBody } from '../schemas.js';

const sessionParams = idParams;
const readers = ['apiKey', 'admin', 'proctor'] as const;

export const sessionRoutes =
  (context: ServiceContext): FastifyPluginAsyncZod =>
  async (app) => {
    const { db, events } = context;

    app.get(
      '/sessions/:id',
      { config: { auth: readers }, schema: { tags: ['sessions'], params: sessionParams } },
      async (request) => getSession(db, principalOf(request), request.params.id),
    );

    app.get(
      '/sessions/:id/violations',
      { config: { auth: readers }, schema: { tags: ['sessions'], params: sessionParams } },
      async (request) => listViolations(db, principalOf(request), request.params.id),
    );

    app.post(
      '/sessions/:id/actions',
      {
        config: { auth: readers },
        schema: { tags: ['sessions'], params: sessionParams, body: sessionActionBody },
      },
      async (request) =>
        applySessionAction(db, events, principalOf(request), request.params.id, request.body),
    );
  };
