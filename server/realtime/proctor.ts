import { turnCredentials } from '../media/index.js';
import {
  applySessionAction,
  isFinal,
  listSessionsOfExam,
  loadExam,
  sendMessage,
} from '../proctoring/index.js';
import { AppError } from '../shared/index.js';
import { examRoom } from './candidate.js';
import { ChatBudget } from './chat-budget.js';
import type { RealtimeDeps } from './deps.js';
import { EventBudget, handler, serveRequests, type HandlerTable } from './handle.js';
import type { ProctorSocket } from './namespaces.js';
import { schemas, type ProctorToServerEvents } from './protocol.js';
import { socketAuth } from './socket-auth.js';

/** Per proctor socket: room for every tile of a full exam grid to consume, resume and pause. */
const proctorBurst = 600;
const proctorPerSecond = 100;

/** `/proctor`: dashboards watch exams, receive their streams and act on sessions. */
export function registerProctorNamespace(deps: RealtimeDeps): void {
  const { context, media, presence, sessions } = deps;
  const namespace = deps.namespaces.proctors;
  const chatBudget = new ChatBudget();

  namespace.use(
    socketAuth(
      context.tokens,
      (principal) =>
        principal.kind === 'proctorToken' ||
        (principal.kind === 'user' && ['admin', 'proctor'].includes(principal.role)),
    ),
  );

  namespace.on('connection', (socket: ProctorSocket) => {
    const { principal } = socket.data;
    const log = context.logger.child({ socket: socket.id, proctor: principal.kind });
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

    const requests: HandlerTable<ProctorToServerEvents> = {
      'exam:watch': handler(schemas.watch, async ({ examId }) => {
        await loadExam(context.db, principal, examId); // tenant (404) and exam scope (403)
        await socket.join(examRoom(examId));
        const views = (await listSessionsOfExam(context.db, principal, examId)).filter(
          (view) => !isFinal(view.status),
        );
        return { sessions: await sessions.live(views, presence, media) };
      }),
      'exam:unwatch': handler(schemas.watch, async ({ examId }) => {
        await socket.leave(examRoom(examId));
        const peerId = peers.get(examId);
        if (peerId) media.closePeer(peerId);
        peers.delete(examId);
        return {};
      }),
      'media:capabilities': handler(schemas.proctorCapabilities, async ({ examId }) => ({
        routerRtpCapabilities: await media.routerCapabilities(peerFor(examId)),
      })),
      'media:createTransport': handler(schemas.proctorCreateTransport, async ({ examId }) => ({
        ...(await media.createTransport(peerFor(examId))),
        iceServers: context.config.turn ? turnCredentials(context.config.turn, `proctor-${socket.id}`) : [],
      })),
      'media:connectTransport': handler(schemas.connectTransport, async (payload) => {
        await media.connectTransport(
          peerWithTransport(payload.transportId),
          payload.transportId,
          payload.dtlsParameters,
        );
        return {};
      }),
      'media:consume': handler(schemas.consume, async (payload) =>
        media.consume(peerWithTransport(payload.transportId), payload),
      ),
      'media:resume': handler(schemas.consumer, async ({ consumerId }) => {
        await media.resumeConsumer(peerWithConsumer(consumerId), consumerId);
        return {};
      }),
      'media:pause': handler(schemas.consumer, async ({ consumerId }) => {
        await media.pauseConsumer(peerWithConsumer(consumerId), consumerId);
        return {};
      }),
      'media:closeConsumer': handler(schemas.consumer, async ({ consumerId }) => {
        media.closeConsumer(peerWithConsumer(consumerId), consumerId);
        return {};
      }),
      'media:setLayers': handler(schemas.layers, async ({ consumerId, spatialLayer }) => {
        await media.setConsumerLayers(peerWithConsumer(consumerId), consumerId, spatialLayer);
        return {};
      }),
      'media:closeTransport': handler(schemas.transport, async ({ transportId }) => {
        media.closeTransport(peerWithTransport(transportId), transportId);
        return {};
      }),
      'session:action': handler(schemas.sessionAction, async ({ sessionId, action, message }) =>
        applySessionAction(context.db, context.events, principal, sessionId, { action, message }),
      ),
      'chat:send': handler(schemas.proctorChat, async ({ sessionId, text }) => {
        chatBudget.take(`${socket.id}:${sessionId}`);
        return sendMessage(context.db, context.events, principal, { sessionId, text });
      }),
    };
    // A dashboard opening on a 100-candidate exam sends a few requests per tile at once.
    serveRequests(socket, requests, log, new EventBudget(proctorBurst, proctorPerSecond));
  });
}
