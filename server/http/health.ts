import type { FastifyInstance } from 'fastify';
import type { ServiceContext } from '../app/context.js';

export function registerHealth(app: FastifyInstance, context: ServiceContext): void {
  // Liveness: the process serves requests. Never touches dependencies, so a database
  // outage does not get healthy pods restarted.
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));

  // Readiness: the database answers and every migration is applied.
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    // Bounded: a frozen database makes the node not ready within its timeout, never a hang.
    const ready = await withinSeconds(context.database.isReady(), context.config.databaseTimeoutSeconds);
    const redis = context.redis ? context.redis.status === 'ready' : undefined;
    return reply.code(ready ? 200 : 503).send({
      status: ready ? 'ready' : 'not_ready',
      database: context.database.kind,
      migrations: ready ? 'applied' : 'pending_or_unreachable',
      ...(redis === undefined ? {} : { redis: redis ? 'up' : 'degraded' }),
    });
  });
}

/** The promise's value, or false when it takes longer than `seconds` (or fails). */
function withinSeconds(work: Promise<boolean>, seconds: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), seconds * 1000);
  });
  return Promise.race([work.catch(() => false), late]).finally(() => clearTimeout(timer));
}
