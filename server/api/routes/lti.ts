import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ServiceContext } from '../../app/context.js';
import { actorOf } from '../../auth/index.js';
import {
  KeySealer,
  ToolKeys,
  attemptOfSession,
  deletePlatform,
  listPlatforms,
  registerPlatform,
  registerPlatformBody,
  startAssessmentForm,
  toolBaseUrl,
} from '../../lti/index.js';
import { loadSession } from '../../proctoring/index.js';
import { forbidden } from '../../shared/index.js';
import { principalOf } from '../request.js';
import { idParams } from '../schemas.js';

const admins = ['apiKey', 'admin'] as const;

/** LTI 1.3: platform registration, the tool's key rotation, a session's LTI side, LtiStartAssessment. */
export const ltiApiRoutes =
  (context: ServiceContext): FastifyPluginAsyncZod =>
  async (app) => {
    const { db, config } = context;
    const keys = new ToolKeys(db, new KeySealer(config.jwt));

    app.post(
      '/lti/platforms',
      {
        config: { auth: admins },
        schema: {
          tags: ['lti'],
          body: registerPlatformBody,
          description:
            'Registers an LTI 1.3 platform (LMS); the answer carries the tool URLs to enter there.',
        },
      },
      async (request, reply) => {
        const created = await registerPlatform(
          db,
          principalOf(request),
          request.body,
          toolBaseUrl(config.publicUrl, request),
          config.lti.allowPrivateTargets,
        );
        return reply.code(201).send(created);
      },
    );

    app.get('/lti/platforms', { config: { auth: admins }, schema: { tags: ['lti'] } }, async (request) =>
      listPlatforms(db, principalOf(request), toolBaseUrl(config.publicUrl, request)),
    );

    app.delete(
      '/lti/platforms/:id',
      { config: { auth: admins }, schema: { tags: ['lti'], params: idParams } },
      async (request, reply) => {
        await deletePlatform(db, principalOf(request), request.params.id);
        return reply.code(204).send();
      },
    );

    app.post(
      '/lti/keys/rotate',
      {
        config: { auth: admins },
        schema: {
          tags: ['lti'],
          description: "Replaces the tenant's tool signing key; the old key stays in /lti/jwks for 7 days.",
        },
      },
      async (request) => {
        const principal = principalOf(request);
        return keys.rotate(principal.tenantId, actorOf(principal));
      },
    );

    app.get(
      '/sessions/:id/lti',
      { config: { auth: ['apiKey', 'admin', 'proctor'] }, schema: { tags: ['lti'], params: idParams } },
      async (request) => {
        const principal = principalOf(request);
        const session = await loadSession(db, principal, request.params.id);
        return attemptOfSession(db, principal.tenantId, session.id);
      },
    );

    app.post(
      '/lti/start-assessment',
      {
        config: { auth: ['candidate'] },
        schema: {
          tags: ['lti'],
          description:
            "The candidate page's LtiStartAssessment form (action URL and signed JWT field) once its session is in progress; 404 for a session that did not come from an LTI launch.",
        },
      },
      async (request) => {
        const principal = principalOf(request);
        if (principal.kind !== 'candidate') throw forbidden();
        return startAssessmentForm(db, keys, {
          tenantId: principal.tenantId,
          sessionId: principal.sessionId,
          actor: actorOf(principal),
        });
      },
    );
  };
