import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ServiceContext } from '../app/context.js';
import { recordAudit } from '../audit/index.js';
import { systemTenantId } from '../auth/index.js';
import { toolBaseUrl } from './base-url.js';
import { claim } from './claims.js';
import { PlatformKeySets, verifyIdToken } from './id-token.js';
import { endAssessment, startProctoring } from './launch.js';
import { consumeState, initiateLogin, loginParams, parseCookies, stateCookieName } from './login.js';
import { loadPlatformById } from './platforms.js';
import { LtiRefusal, messagePage, refusalPage } from './refusal.js';
import { ToolKeys } from './tool-keys.js';
import { KeySealer } from './sealing.js';

const launchForm = z.object({
  id_token: z.string().min(1).max(100_000).optional(),
  state: z.string().min(1).max(500).optional(),
  error: z.string().max(200).optional(),
  error_description: z.string().max(1000).optional(),
});

/** Pages the platform's browser traffic lands on: no scripts, nothing from elsewhere. */
const pageSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors *";

/**
 * The tool endpoints of LTI 1.3 outside the REST API: login initiation, launch, JWKS. They speak
 * HTML forms and redirects to browsers, so failures are pages a candidate can read (never JSON).
 */
export const ltiRoutes =
  (context: ServiceContext) =>
  async (app: FastifyInstance): Promise<void> => {
    const { db, config, logger } = context;
    const keys = new ToolKeys(db, new KeySealer(config.jwt));
    const keySets = new PlatformKeySets({ allowPrivateTargets: config.lti.allowPrivateTargets });

    // Anonymous and each login stores a state: the same per-address budget as the API.
    app.addHook('onRequest', async (request) => context.rateLimiter.consumeRequest(`ip:${request.ip}`));

    // Platforms post HTML forms here; the parser is scoped to these routes.
    app.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 128 * 1024 },
      (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
    );

    const page = (reply: FastifyReply, status: number, html: string) =>
      reply
        .code(status)
        .header('content-type', 'text/html; charset=utf-8')
        .header('cache-control', 'no-store')
        .header('content-security-policy', pageSecurityPolicy)
        .send(html);

    const refuse = async (
      request: FastifyRequest,
      reply: FastifyReply,
      refusal: LtiRefusal,
      step: string,
    ) => {
      await recordAudit(db, {
        tenantId: refusal.platform?.tenantId ?? systemTenantId,
        actor: `ip:${request.ip}`,
        action: `lti.${step}.refused`,
        target: refusal.platform?.id ?? null,
        details: { reason: refusal.reason, status: refusal.status },
      });
      return page(reply, refusal.status, refusalPage(refusal));
    };

    const guarded =
      (step: string, handler: (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>) =>
      async (request: FastifyRequest, reply: FastifyReply) => {
        try {
          return await handler(request, reply);
        } catch (error) {
          if (error instanceof LtiRefusal) return refuse(request, reply, error, step);
          throw error;
        }
      };

    const login = guarded('login', async (request, reply) => {
      const source = request.method === 'GET' ? request.query : request.body;
      const params = loginParams.safeParse(source ?? {});
      if (!params.success) {
        const field = params.error.issues[0]?.path.join('.') ?? 'a parameter';
        throw new LtiRefusal(400, `the login request lacks a valid ${field}`);
      }
      const launchUrl = `${toolBaseUrl(config.publicUrl, request)}/lti/launch`;
      const redirect = await initiateLogin(db, params.data, launchUrl);
      return reply
        .header('set-cookie', redirect.cookie)
        .header('cache-control', 'no-store')
        .redirect(redirect.location, 302);
    });
    app.get('/lti/login', { schema: { hide: true } }, login);
    app.post('/lti/login', { schema: { hide: true } }, login);

    app.post(
      '/lti/launch',
      { schema: { hide: true } },
      guarded('launch', async (request, reply) => {
        const form = launchForm.safeParse(request.body ?? {});
        if (!form.success) throw new LtiRefusal(400, 'the launch form is malformed');
        if (form.data.error) {
          throw new LtiRefusal(401, `the platform refused the sign-in (${form.data.error})`);
        }
        const { id_token: idToken, state } = form.data;
        if (!idToken || !state) throw new LtiRefusal(400, 'the launch form lacks its id_token or state');
        const consumed = await consumeState(db, state, parseCookies(request.headers.cookie));
        const platform = await loadPlatformById(db, consumed.platformId);
        if (!platform) throw new LtiRefusal(401, 'this learning platform is no longer registered with Vigil');
        // The cookie has done its job either way.
        reply.header(
          'set-cookie',
          `${stateCookieName(state)}=; Path=/lti; Max-Age=0; HttpOnly; Secure; SameSite=None`,
        );
        if (consumed.expired)
          throw new LtiRefusal(401, 'the sign-in took too long and has expired', platform);
        if (!consumed.sameBrowser) {
          throw new LtiRefusal(
            401,
            'the sign-in was started in another browser, or cookies are blocked',
            platform,
          );
        }
        const claims = await verifyIdToken(keySets, platform, idToken, consumed.nonce);
        if (claims[claim.messageType] === 'LtiEndAssessment') {
          const ended = await endAssessment(db, context.events, platform, claims);
          return page(
            reply,
            200,
            messagePage(
              'Your proctored session has ended',
              `Vigil recorded the end of this attempt (${ended.status}). You may close this window.`,
            ),
          );
        }
        const started = await startProctoring(db, context.tokens, platform, claims);
        logger.info({ sessionId: started.sessionId, platformId: platform.id }, 'LTI proctoring started');
        return reply
          .header('cache-control', 'no-store')
          .redirect(`/candidate?token=${encodeURIComponent(started.candidateToken)}`, 302);
      }),
    );

    app.get('/lti/jwks', { schema: { hide: true } }, async (_request, reply) =>
      reply.header('cache-control', 'public, max-age=300').send(await keys.jwks()),
    );
  };
