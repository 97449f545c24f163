import type { Socket } from 'socket.io';
import { actorOf } from '../auth/index.js';
import {
  getSession,
  isFinal,
  recordClientSignal,
  signalEffect,
  transitionSession,
} from '../proctoring/index.js';
import { AppError } from '../shared/index.js';
import { turnCredentials } from '../media/index.js';
import type { RealtimeDeps } from './deps.js';
import { EventBudget, handle } from './handle.js';
import { schemas } from './protocol.js';
import type { CandidateSession } from './session-directory.js';
import { connectError, socketAuth, type SocketData } from './socket-auth.js';

interface CandidateSocketData extends SocketData {
  session: CandidateSession;
}

export const sessionRoom = (sessionId: string) => `session:${sessionId}`;
export const examRoom = (examId: string) => `exam:${examId}`;

/** `/candidate`: one socket per candidate page; connecting is joining the exam. */
export function registerCandidateNamespace(deps: RealtimeDeps): void {
  const { io, context, media, rules, presence, sessions } = deps;
  const namespace = io.of('/candidate');

  namespace.use(socketAuth(context.tokens, (principal) => principal.kind === 'candidate'));
  namespace.use((socket, next) => {
    const { principal } = socket.data as SocketData;
    if (principal.kind !== 'candidate') return next(connectError('forbidden', 'candidate token required'));
    sessions.get(principal.tenantId, principal.sessionId).then(
      (session) => {
        if (!session) return next(connectError('not_found', 'session not found'));
        if (isFinal(session.status))
          return next(connectError('session_ended', `the session is ${session.status}`));
        (socket.data as CandidateSocketData).session = session;
        next();
      },
      () => next(connectError('unavailable', 'could not load the session; try again')),
    );
  });

  namespace.on('connection', (socket) => void onConnection(socket));

  async function onConnection(socket: Socket): Promise<void> {
    const { principal, session } = socket.data as CandidateSocketData;
    const log = context.logger.child({
      sessionId: session.sessionId,
      examId: session.examId,
      socket: socket.id,
    });
    const budget = new EventBudget();
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
      io.of('/proctor')
        .to(examRoom(session.examId))
        .emit('session:left', { sessionId: session.sessionId, examId: session.examId });
      if (!isFinal(session.status)) rules.report(session, 'connection_lost', true, { details: { reason } });
    });

    handle(socket, budget, log, 'media:capabilities', schemas.empty, async () => ({
      routerRtpCapabilities: await media.routerCapabilities(socket.id),
    }));
    handle(socket, budget, log, 'media:createTransport', schemas.createTransport, async (payload) => {
      if (payload.direction !== 'send') throw new AppError('forbidden', 'candidates only send media');
      return { ...(await media.createTransport(socket.id)), iceServers: iceServersFor(session.sessionId) };
    });
    handle(socket, budget, log, 'media:connectTransport', schemas.connectTransport, async (payload) => {
      await media.connectTransport(socket.id, payload.transportId, payload.dtlsParameters);
      return {};
    });
    handle(socket, budget, log, 'media:produce', schemas.produce, async (payload) => ({
      producerId: await media.produce(socket.id, payload),
    }));
    handle(socket, budget, log, 'media:pauseProducer', schemas.producerState, async (payload) => {
      await media.setProducerPaused(socket.id, payload.producerId, true);
      return {};
    });
    handle(socket, budget, log, 'media:resumeProducer', schemas.producerState, async (payload) => {
      await media.setProducerPaused(socket.id, payload.producerId, false);
      return {};
    });
    handle(socket, budget, log, 'media:closeProducer', schemas.producerState, async (payload) => {
      media.closeProducer(socket.id, payload.producerId);
      return {};
    });
    handle(socket, budget, log, 'media:closeTransport', schemas.transport, async ({ transportId }) => {
      media.closeTransport(socket.id, transportId);
      return {};
    });
    handle(socket, budget, log, 'client:signal', schemas.clientSignal, async (signal) => {
      const result = await recordClientSignal(context.db, {
        tenantId: session.tenantId,
        sessionId: session.sessionId,
        seq: signal.seq,
        type: signal.type,
        at: new Date(signal.at),
        details: signal.details,
      });
      const effect = result.duplicate ? null : signalEffect(signal.type, session.policy);
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
    });
    handle(socket, budget, log, 'session:finish', schemas.empty, async () => {
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
    });
    handle(socket, budget, log, 'liveness:start', schemas.empty, async () => {
      if (!deps.monitor) throw new AppError('not_implemented', 'live analysis is not enabled on this server');
      return deps.monitor.startLiveness(session.sessionId);
    });

    // Joining: a new session starts, through `verifying` when identity or liveness must be
    // checked first; a paused one stays paused until the proctor resumes it.
    if (session.status === 'created') {
      const verify =
        deps.monitor !== undefined &&
        ((session.policy.identity.required && session.hasReference) || session.policy.liveness.required);
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
      io.of('/proctor')
        .to(examRoom(session.examId))
        .emit('session:joined', { sessionId: session.sessionId, examId: session.examId, session: live });
    }
    log.info('candidate connected');
  }
}
