import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ServiceContext } from '../app/context.js';
import { restApi } from '../api/index.js';
import { ltiRoutes } from '../lti/index.js';
import { AppError, assertSafeText } from '../shared/index.js';
import { registerAuthentication } from './authenticate.js';
import { httpServerTimeouts, registerBodyTimeouts, registerHandlerDeadline } from './body-timeout.js';
import { errorHandler, frameworkAppError, sendError } from './errors.js';
import { registerHealth } from './health.js';
import { registerMetrics } from './metrics.js';
import { registerOpenApi } from './openapi.js';
import { registerPages } from './pages.js';

/** JSON bodies are small; image routes raise their own limit. */
const jsonBodyLimit = 64 * 1024;

/** Builds the HTTP application: REST API, health, metrics, OpenAPI. Pages and sockets attach to it. */
export async function createHttpApp(context: ServiceContext): Promise<FastifyInstance> {
  // Widened to Fastify's logger type so the instance keeps Fastify's default generics.
  const logger: FastifyBaseLogger = context.logger;
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: jsonBodyLimit,
    trustProxy: context.config.trustProxy,
    // One line per request only when debugging; metrics count requests otherwise.
    logController: new LogController({
      disableRequestLogging: context.config.logLevel !== 'debug' && context.config.logLevel !== 'trace',
    }),
    return503OnClosing: true,
    routerOptions: { maxParamLength: 200 },
    http: httpServerTimeouts(context.config.requestTimeoutSeconds * 1000),
    frameworkErrors: (error, _request, reply) => void sendError(reply, frameworkAppError(error)),
  }).withTypeProvider<ZodTypeProvider>();

  registerBodyTimeouts(app, {
    timeoutMs: context.config.requestTimeoutSeconds * 1000,
    largeBodyBytes: jsonBodyLimit,
  });
  registerHandlerDeadline(app, (context.config.databaseTimeoutSeconds + 5) * 1000);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, new AppError('not_found', `no route ${request.method} ${request.url.split('?')[0]}`)),
  );

  // Only JSON and images are accepted; anything else is a 415, not a confusing 400.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser(['image/jpeg', 'image/png'], { parseAs: 'buffer' }, (_request, body, done) =>
    done(null, body),
  );

  app.addHook('onSend', async (_request, reply) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
  });

  // Per-address request budget for the API (health probes and metrics are not counted).
  app.addHook('onRequest', async (request) => {
    if (request.url.startsWith('/api/')) await context.rateLimiter.consumeRequest(`ip:${request.ip}`);
  });

  // NUL and lone surrogates cannot be stored (PostgreSQL refuses them): 400 at the edge, on both legs.
  app.addHook('preValidation', async (request) => {
    assertSafeText(request.params, 'path');
    assertSafeText(request.query, 'query');
    assertSafeText(request.body, 'body');
  });

  context.usage.exposeMetrics(registerMetrics(app));
  registerHealth(app, context);
  registerAuthentication(app, context);
  await registerOpenApi(app, context.config.publicUrl);
  await app.register(restApi(context), { prefix: '/api/v1' });
  await registerPages(app);
  // LTI 1.3 tool endpoints (login, launch, JWKS): browser forms and redirects, outside the REST API.
  await app.register(ltiRoutes(context));
  return app;
}
