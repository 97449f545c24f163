import type { Socket } from 'socket.io';
import { turnCredentials } from '../media/index.js';
import { applySessionAction, isFinal, listSessionsOfExam, loadExam } from '../proctoring/index.js';
import { AppError } from '../shared/index.js';
import { examRoom } from './candidate.js';
import type { RealtimeDeps } from './deps.js';
import { EventBudget, handle } from './handle.js';
import { schemas } from './protocol.js';
import { socketAuth, type SocketData } from './socket-auth.js';

/** `/proctor`: dashboards watch exams, receive their streams and act on sessions. */
export function registerProctorNamespace(deps: RealtimeDeps): void {
  const { io, context, media, presence, sessions } = deps;
  const namespace = io.of('/proctor');

  namespace.use(
    socketAuth(
      context.tokens,
      (principal) =>
        principal.kind === 'proctorToken' ||
        (principal.kind === 'user' && ['admin', 'proctor'].includes(principal.role)),
    ),
  );

  namespace.on('connection', (socket: Socket) => {
    const { principal } = socket.data as SocketData;
    const log = context.logger.child({ socket: socket.id, proctor: principal.kind });
    const budget = new EventBudget();
    /** One media peer per watched exam: examId → peer id. */
    const peers = new Map<string, string>();
    const peerFor = (examId: string) => {
      if (!socket.rooms.has(examRoom(examId)))
        throw new AppError('forbidden', 'watch the exam first (exam:watch)');
      let peerId = peers.get(examId);
      if (!peerId) {
        peerId = `${socket.id}:${examId}`;
        media.openPeer({ id: peerId, examId, sessionId: null, role: 'proctor' });
        peers.set(examId, peerId);
      }
      return peerId;
    };
    /** The peer owning a transport, among this socket's peers only. */
    const peerWithTransport = (transportId: string) => {
      for (const peerId of peers.values()) if (media.peer(peerId).transports.has(transportId)) return peerId;
      throw new AppError('not_found', 'unknown transport');
    };
    const peerWithConsumer = (consumerId: string) => {
      for (const peerId of peers.values()) if (media.peer(peerId).consumers.has(consumerId)) return peerId;
      throw new AppError('not_found', 'unknown consumer');
    };

    socket.on('disconnect', () => {
      for (const peerId of peers.values()) media.closePeer(peerId);
      peers.clear();
    });

    handle(socket, budget, log, 'exam:watch', schemas.watch, async ({ examId }) => {
      await loadExam(context.db, principal, examId); // tenant (404) and exam scope (403)
      await socket.join(examRoom(examId));
      const views = (await listSessionsOfExam(context.db, principal, examId)).filter(
        (view) => !isFinal(view.status),
      );
      return { sessions: await sessions.live(views, presence, media) };
    });
    handle(socket, budget, log, 'exam:unwatch', schemas.watch, async ({ examId }) => {
      await socket.leave(examRoom(examId));
      const peerId = peers.get(examId);
      if (peerId) media.closePeer(peerId);
      peers.delete(examId);
      return {};
    });
    handle(socket, budget, log, 'media:capabilities', schemas.proctorCapabilities, async ({ examId }) => ({
      routerRtpCapabilities: await media.routerCapabilities(peerFor(examId)),
    }));
    handle(
      socket,
      budget,
      log,
      'media:createTransport',
      schemas.proctorCreateTransport,
      async ({ examId }) => ({
        ...(await media.createTransport(peerFor(examId))),
        iceServers: context.config.turn ? turnCredentials(context.config.turn, `proctor-${socket.id}`) : [],
      }),
    );
    handle(socket, budget, log, 'media:connectTransport', schemas.connectTransport, async (payload) => {
      await media.connectTransport(
        peerWithTransport(payload.transportId),
        payload.transportId,
        payload.dtlsParameters,
      );
      return {};
    });
    handle(socket, budget, log, 'media:consume', schemas.consume, async (payload) =>
      media.consume(peerWithTransport(payload.transportId), payload),
    );
    handle(socket, budget, log, 'media:resume', schemas.resume, async ({ consumerId }) => {
      await media.resumeConsumer(peerWithConsumer(consumerId), consumerId);
      return {};
    });
    handle(
      socket,
      budget,
      log,
      'session:action',
      schemas.sessionAction,
      async ({ sessionId, action, message }) =>
        applySessionAction(context.db, context.events, principal, sessionId, { action, message }),
    );
  });
}
