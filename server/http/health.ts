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
    const analysis = analysisReport(context);
    return reply.code(ready ? 200 : 503).send({
      status: ready ? 'ready' : 'not_ready',
      database: context.database.kind,
      migrations: ready ? 'applied' : 'pending_or_unreachable',
      ...(redis === undefined ? {} : { redis: redis ? 'up' : 'degraded' }),
      ...(analysis ? { analysis } : {}),
      // Serving, but not watching the streams: said here rather than hidden (the node stays ready).
      ...(analysis?.status === 'off'
        ? { degraded: [{ part: analysis.part, reason: analysis.reason, fix: analysis.fix }] }
        : {}),
    });
  });
}

/**
 * Stream analysis as `/readyz` reports it: `on` (with the analysis backend and the ffmpeg in use:
 * system or packaged, and its version, not its path), `off` with the part and why, or `disabled`
 * (built without it).
 */
function analysisReport(context: ServiceContext) {
  const state = context.analysisStatus?.state;
  if (!state) return undefined;
  if (state.status === 'on') {
    return {
      status: 'on' as const,
      // Which backend the models run on: the first thing to check when analysis is slow.
      ...(context.analysis ? { backend: context.analysis.backend } : {}),
      ffmpeg: { source: state.ffmpeg.source, version: state.ffmpeg.version },
    };
  }
  return state;
}

/** The promise's value, or false when it takes longer than `seconds` (or fails). */
function withinSeconds(work: Promise<boolean>, seconds: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), seconds * 1000);
  });
  return Promise.race([work.catch(() => false), late]).finally(() => clearTimeout(timer));
}
