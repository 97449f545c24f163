import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../shared/index.js';

/** A large body must keep arriving at least this fast (on top of the base timeout). */
export const uploadMinBytesPerSecond = 64 * 1024;
/** Bodies above the JSON limit (image uploads) in flight at once; more get 429. */
export const maxConcurrentUploads = 8;

/**
 * Node's server options for the header deadline, checked twice as often as it is long. Node's own
 * whole-request deadline stays off: it would cut slow but honest large uploads, and the body
 * deadline of `registerBodyTimeouts` replaces it.
 */
export function httpServerTimeouts(timeoutMs: number) {
  return {
    headersTimeout: timeoutMs,
    requestTimeout: 0,
    connectionsCheckingInterval: Math.max(100, Math.min(5000, Math.floor(timeoutMs / 2))),
  };
}

/**
 * Bounds how long a client may take to send a request body: `timeoutMs` plus its declared
 * length at `uploadMinBytesPerSecond`. A body that misses its deadline is answered 408 and the
 * connection closed, so what it had buffered is freed. At most `maxConcurrentUploads` large
 * bodies are read at once.
 */
export function registerBodyTimeouts(
  app: FastifyInstance,
  options: { timeoutMs: number; largeBodyBytes: number },
): void {
  let uploads = 0;

  app.addHook('preParsing', async (request, reply, payload) => {
    const declared = Number(request.headers['content-length']);
    const chunked = request.headers['transfer-encoding'] !== undefined;
    if (!(declared > 0) && !chunked) return payload;
    const large = chunked || declared > options.largeBodyBytes;
    if (large) {
      if (uploads >= maxConcurrentUploads) {
        reply.header('connection', 'close');
        throw new AppError('rate_limited', 'too many uploads in progress; try again shortly', {
          'retry-after': '5',
        });
      }
      uploads += 1;
    }
    const allowedMs =
      options.timeoutMs + (Number.isFinite(declared) ? (declared / uploadMinBytesPerSecond) * 1000 : 0);
    const timer = setTimeout(() => {
      reply.header('connection', 'close');
      payload.emit(
        'error',
        new AppError(
          'request_timeout',
          `the request body did not arrive within ${Math.round(allowedMs / 1000)} s`,
        ),
      );
    }, allowedMs);
    timer.unref();
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (large) uploads -= 1;
    };
    payload.once('end', settle);
    payload.once('error', settle);
    payload.once('close', settle);
    request.raw.once('close', settle);
    return payload;
  });
}

/**
 * An API request that has not been answered within `timeoutMs` of arriving (the time its body
 * takes to arrive not counted: that has its own deadline) gets 503 `unavailable` with
 * `Retry-After`: a frozen database never hangs a caller longer than that, in authentication or
 * in the handler. The late answer is then dropped.
 */
export function registerHandlerDeadline(app: FastifyInstance, timeoutMs: number): void {
  const timers = new WeakMap<object, NodeJS.Timeout>();
  const clear = async (request: object) => clearTimeout(timers.get(request));
  const arm = async (request: FastifyRequest, reply: FastifyReply) => {
    if (!request.url.startsWith('/api/')) return;
    clearTimeout(timers.get(request));
    const timer = setTimeout(() => {
      if (reply.sent || reply.raw.headersSent) return;
      void reply
        .code(503)
        .headers({ 'retry-after': '5' })
        .send({
          error: { code: 'unavailable', message: 'the service did not answer in time; try again' },
        });
    }, timeoutMs);
    timer.unref();
    timers.set(request, timer);
  };
  app.addHook('onRequest', arm);
  app.addHook('preParsing', async (request, _reply, payload) => {
    await clear(request);
    return payload;
  });
  app.addHook('preHandler', arm);
  app.addHook('onResponse', clear);
  app.addHook('onRequestAbort', clear);
}
