import { actorOf } from '../auth/index.js';
import {
  defaultHelpText,
  getSession,
  isFinal,
  needsVerification,
  recordClientSignal,
  sendMessage,
  signalEffect,
  transitionSession,
} from '../proctoring/index.js';
import { AppError } from '../shared/index.js';
import { turnCredentials } from '../media/index.js';
import { ChatBudget } from './chat-budget.js';
import type { RealtimeDeps } from './deps.js';
import { handler, serveRequests, type HandlerTable } from './handle.js';
import type { CandidateSocket } from './namespaces.js';
import { schemas, type CandidateToServerEvents } from './protocol.js';
import { connectError, socketAuth } from './socket-auth.js';

export const sessionRoom = (sessionId: string) => `session:${sessionId}`;
export const examRoom = (examId: string) => `exam:${examId}`;

/**
 * Candidate sockets one session may hold at once on a node: a page, plus a reload or reconnect
 * racing the old socket's timeout (the README's security model lists it).
 */
export const maxSocketsPerSession = 4;

/** `/candidate`: one socket per candidate page; connecting is joining the exam. */
export function registerCandidateNamespace(deps: RealtimeDeps): void {
  const { context, media, rules, presence, sessions } = deps;
  const { candidates: namespace, proctors } = deps.namespaces;
  const chatBudget = new ChatBudget();

  namespace.use(socketAuth(context.tokens, (principal) => principal.kind === 'candidate'));
  namespace.use((socket, next) => {
    const { principal } = socket.data;
    if (principal.kind !== 'candidate') return next(connectError('forbidden', 'candidate token required'));
    sessions.get(principal.tenantId, principal.sessionId).then(
      (session) => {
        if (!session) return next(connectError('not_found', 'session not found'));
        if (isFinal(session.status))
          return next(connectError('session_ended', `the session is ${session.status}`));
        const held = admitted.get(session.sessionId) ?? 0;
        if (held >= maxSocketsPerSession)
          return next(
            connectError('rate_limited', `a session may have ${maxSocketsPerSession} connections at most`),
          );
        admitted.set(session.sessionId, held + 1);
        socket.data.session = session;
        next();
      },
      () => next(connectError('unavailable', 'could not load the session; try again')),
    );
  });

  // Admitted sockets per session, counted from the handshake (so a burst cannot slip past).
  const admitted = new Map<string, number>();
  namespace.on('connection', (socket) => {
    const { sessionId } = socket.data.session;
    socket.once('disconnect', () => {
      const left = (admitted.get(sessionId) ?? 1) - 1;
      if (left > 0) admitted.set(sessionId, left);
      else admitted.delete(sessionId);
    });
    // A failure after the handshake (the database went away mid-join, a shutdown) must not
    // become an unhandled rejection, which would end the process: log it and drop the socket.
    onConnection(socket).catch((error: unknown) => {
      context.logger.warn({ err: error, sessionId }, 'candidate connection setup failed');
      socket.disconnect(true);
    });
  });

  async function onConnection(socket: CandidateSocket): Promise<void> {
    const { principal, session } = socket.data;
    const log = context.logger.child({
      sessionId: session.sessionId,
      examId: session.examId,
      socket: socket.id,
    });
    const iceServersFor = (label: string) =>
      context.config.turn ? turnCredentials(context.config.turn, label) : [];
    await socket.join(sessionRoom(session.sessionId));
    media.openPeer({
      id: socket.id,
      examId: session.examId,
      sessionId: session.sessionId,
      role: 'candidate',
    });
    const first = presence.connect(session.sessionId);
    rules.report(session, 'connection_lost', false);

    socket.on('disconnect', (reason) => {
      log.info({ reason }, 'candidate disconnected');
      const last = presence.disconnect(session.sessionId);
      media.closePeer(socket.id);
      if (!last) return;
      proctors
        .to(examRoom(session.examId))
        .emit('session:left', { sessionId: session.sessionId, examId: session.examId });
      if (!isFinal(session.status)) rules.report(session, 'connection_lost', true, { details: { reason } });
    });

    const requests: HandlerTable<CandidateToServerEvents> = {
      'media:capabilities': handler(schemas.empty, async () => ({
        routerRtpCapabilities: await media.routerCapabilities(socket.id),
      })),
      'media:createTransport': handler(schemas.createTransport, async (payload) => {
        if (payload.direction !== 'send') throw new AppError('forbidden', 'candidates only send media');
        return { ...(await media.createTransport(socket.id)), iceServers: iceServersFor(session.sessionId) };
      }),
      'media:connectTransport': handler(schemas.connectTransport, async (payload) => {
        await media.connectTransport(socket.id, payload.transportId, payload.dtlsParameters);
        return {};
      }),
      'media:produce': handler(schemas.produce, async (payload) => ({
        producerId: await media.produce(socket.id, payload),
      })),
      'media:pauseProducer': handler(schemas.producerState, async (payload) => {
        await media.setProducerPaused(socket.id, payload.producerId, true);
        return {};
      }),
      'media:resumeProducer': handler(schemas.producerState, async (payload) => {
        await media.setProducerPaused(socket.id, payload.producerId, false);
        return {};
      }),
      'media:closeProducer': handler(schemas.producerState, async (payload) => {
        media.closeProducer(socket.id, payload.producerId);
        return {};
      }),
      'media:closeTransport': handler(schemas.transport, async ({ transportId }) => {
        media.closeTransport(socket.id, transportId);
        return {};
      }),
      'client:signal': handler(schemas.clientSignal, async (signal) => {
        const result = await recordClientSignal(context.db, {
          tenantId: session.tenantId,
          sessionId: session.sessionId,
          seq: signal.seq,
          type: signal.type,
          at: new Date(signal.at),
          details: signal.details,
        });
        const inert = result.duplicate || result.stale || result.inert;
        const effect = inert ? null : signalEffect(signal.type, session.policy);
        if (effect) {
          const observation = {
            source: 'client' as const,
            details: { signal: signal.type, seq: signal.seq, at: signal.at },
          };
          if (effect.active === 'instant') {
            void rules.instant(session, effect.type, observation);
          } else {
            rules.report(session, effect.type, effect.active, observation);
          }
        }
        return result;
      }),
      'session:finish': handler(schemas.empty, async () => {
        // The lifecycle decides: only a running (or paused) exam can become completed.
        const finished = await transitionSession(
          context.db,
          context.events,
          {
            tenantId: session.tenantId,
            sessionId: session.sessionId,
            actor: actorOf(principal),
            reason: 'candidate_finished',
          },
          'completed',
        );
        return { status: finished.status };
      }),
      'liveness:start': handler(schemas.empty, async () => {
        if (!deps.monitor)
          throw new AppError('not_implemented', 'live analysis is not enabled on this server');
        return deps.monitor.startLiveness(session.sessionId);
      }),
      'chat:send': handler(schemas.candidateChat, async ({ text, kind }) => {
        chatBudget.take(session.sessionId); // per session: reconnecting does not refill it
        const input = { sessionId: session.sessionId, text: text ?? defaultHelpText, kind };
        return sendMessage(context.db, context.events, principal, input);
      }),
    };
    serveRequests(socket, requests, log);

    // Joining: a new session starts, through `verifying` when identity or liveness must be
    // checked first; a paused one stays paused until the proctor resumes it.
    if (session.status === 'created') {
      const verify = deps.monitor !== undefined && needsVerification(session.policy, session.hasReference);
      await transitionSession(
        context.db,
        context.events,
        {
          tenantId: session.tenantId,
          sessionId: session.sessionId,
          actor: actorOf(principal),
          reason: 'candidate_joined',
        },
        verify ? 'verifying' : 'in_progress',
      ).catch((error: unknown) => log.warn({ err: error }, 'could not start the session'));
    } else {
      socket.emit('session:status', {
        sessionId: session.sessionId,
        examId: session.examId,
        status: session.status,
      });
    }
    if (first) {
      const view = await getSession(context.db, principal, session.sessionId);
      const [live] = await sessions.live([view], presence, media);
      if (live)
        proctors
          .to(examRoom(session.examId))
          .emit('session:joined', { sessionId: session.sessionId, examId: session.examId, session: live });
    }
    log.info('candidate connected');
  }
}
