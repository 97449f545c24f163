import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ServiceContext } from '../../app/context.js';
import { listAudit, verifyAuditChain } from '../../audit/index.js';
import { principalOf } from '../request.js';
import { auditQuery } from '../schemas.js';

export const auditRoutes =
  (context: ServiceContext): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/audit',
      { config: { auth: ['apiKey', 'admin'] }, schema: { tags: ['audit'], querystring: auditQuery } },
      async (request) => listAudit(context.db, principalOf(request).tenantId, request.query),
    );

    app.get(
      '/audit/verify',
      { config: { auth: ['apiKey', 'admin'] }, schema: { tags: ['audit'], querystring: z.strictObject({}) } },
      async (request) => verifyAuditChain(context.db, principalOf(request).tenantId),
    );
  };
