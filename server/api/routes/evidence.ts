import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ServiceContext } from '../../app/context.js';
import { readEvidence } from '../../evidence/index.js';
import { loadSession } from '../../proctoring/index.js';
import { principalOf } from '../request.js';
import { idParams } from '../schemas.js';

export const evidenceRoutes =
  (context: ServiceContext): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/evidence/:id',
      { config: { auth: ['apiKey', 'admin', 'proctor'] }, schema: { tags: ['evidence'], params: idParams } },
      async (request, reply) => {
        const principal = principalOf(request);
        const item = await readEvidence(
          context.db,
          context.evidenceStore,
          principal,
          request.params.id,
          (id) => loadSession(context.db, principal, id),
        );
        return reply
          .header('content-type', item.mediaType)
          .header('x-content-sha256', item.sha256)
          .header('cache-control', 'private, max-age=3600, immutable')
          .header('x-content-type-options', 'nosniff')
          .send(item.bytes);
      },
    );
  };
