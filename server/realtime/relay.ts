import type { EventEmitter } from 'node:events';
import type { ProducerRef } from '../media/index.js';
import { isFinal, type ProctoringEventMap } from '../proctoring/index.js';
import { examRoom, sessionRoom } from './candidate.js';
import type { RealtimeDeps } from './deps.js';
import type { InterServerEvents } from './protocol.js';

/** Candidates see their ended session's status before their socket is closed. */
const endedSessionGraceMs = 1000;

/**
 * Relays what the services announce to the sockets concerned: the candidate's room and the
 * proctors watching the exam. Room broadcasts cross nodes through the Redis adapter.
 */
export function relayProctoringEvents(deps: RealtimeDeps): () => void {
  const { context, media, rules, sessions } = deps;
  const { candidates, proctors } = deps.namespaces;
  const { events } = context;

  // This node's own status changes are told to the other nodes (Redis), which drop or update
  // their cached status and forget the session's rule state when it ended.
  const shared = context.config.redisUrl !== undefined;
  // Pending disconnects of ended sessions; cancelled on shutdown (the Redis clients go with it).
  const graceTimers = new Set<NodeJS.Timeout>();
  const onPeerStatus: InterServerEvents['session:status'] = (event) => {
    sessions.updateStatus(event.sessionId, event.status);
    if (isFinal(event.status)) void rules.endSession(event);
  };
  if (shared) candidates.on('session:status', onPeerStatus);

  const onStatus = (event: ProctoringEventMap['session:status'][0]) => {
    sessions.updateStatus(event.sessionId, event.status);
    if (shared) {
      const { tenantId, examId, sessionId, status } = event;
      candidates.serverSideEmit('session:status', { tenantId, examId, sessionId, status });
    }
    const ref = { sessionId: event.sessionId, examId: event.examId };
    candidates.to(sessionRoom(event.sessionId)).emit('session:status', { ...ref, status: event.status });
    proctors
      .to(examRoom(event.examId))
      .emit('session:status', { ...ref, status: event.status, flagged: event.flagged });
    if (isFinal(event.status)) {
      void rules.endSession(event);
      const timer = setTimeout(() => {
        graceTimers.delete(timer);
        candidates.in(sessionRoom(event.sessionId)).disconnectSockets(true);
      }, endedSessionGraceMs).unref();
      graceTimers.add(timer);
    }
  };
  const onMessage = (event: ProctoringEventMap['proctor:message'][0]) => {
    candidates.to(sessionRoom(event.sessionId)).emit('proctor:message', {
      sessionId: event.sessionId,
      action: event.action,
      message: event.message,
      at: event.at,
    });
  };
  const onChat = (event: ProctoringEventMap['chat:message'][0]) => {
    const { id, sessionId, from, kind, text, at } = event;
    const message = { id, sessionId, from, kind, text, at };
    candidates.to(sessionRoom(sessionId)).emit('chat:message', message);
    proctors.to(examRoom(event.examId)).emit('chat:message', message);
  };
  const onOpened = (event: ProctoringEventMap['violation:opened'][0]) => {
    candidates.to(sessionRoom(event.sessionId)).emit('violation:opened', event.violation);
    proctors
      .to(examRoom(event.examId))
      .emit('violation:opened', { ...event.violation, examId: event.examId });
  };
  const onClosed = (event: ProctoringEventMap['violation:closed'][0]) => {
    candidates.to(sessionRoom(event.sessionId)).emit('violation:closed', event.violation);
    proctors
      .to(examRoom(event.examId))
      .emit('violation:closed', { ...event.violation, examId: event.examId });
  };

  const onTick = (event: ProctoringEventMap['analysis:tick'][0]) => {
    const { sessionId, at, frameAt, faces, identitySimilarity, speaking, score } = event;
    proctors
      .to(examRoom(event.examId))
      .emit('analysis:tick', { sessionId, at, frameAt, faces, identitySimilarity, speaking, score });
  };
  const onGuidance = (event: ProctoringEventMap['guidance'][0]) => {
    candidates
      .to(sessionRoom(event.sessionId))
      .emit('guidance', { code: event.code, message: event.message });
  };
  const onChallenge = (event: ProctoringEventMap['liveness:challenge'][0]) => {
    candidates.to(sessionRoom(event.sessionId)).emit('liveness:challenge', {
      step: event.step,
      instruction: event.instruction,
      deadline: event.deadline,
    });
  };
  const onLivenessResult = (event: ProctoringEventMap['liveness:result'][0]) => {
    candidates
      .to(sessionRoom(event.sessionId))
      .emit('liveness:result', { passed: event.passed, details: event.details });
  };

  // Media: proctors learn about streams (the conditions they raise are monitoring's).
  const onProducer = (ref: ProducerRef) => {
    proctors
      .to(examRoom(ref.examId))
      .emit('media:producer', { sessionId: ref.sessionId, examId: ref.examId, producer: ref.producer });
  };
  const onProducerClosed = (ref: ProducerRef) => {
    proctors.to(examRoom(ref.examId)).emit('media:producerClosed', {
      sessionId: ref.sessionId,
      examId: ref.examId,
      producerId: ref.producer.id,
    });
  };
  const onPeersReset = ({ peerIds, reason }: { peerIds: string[]; reason: string }) => {
    for (const peerId of peerIds) {
      const [socketId] = peerId.split(':');
      const socket = candidates.sockets.get(peerId) ?? proctors.sockets.get(socketId ?? '');
      socket?.emit('media:reconnect', { reason });
    }
  };

  const unsubscribe = [
    listen(events, 'session:status', onStatus),
    listen(events, 'proctor:message', onMessage),
    listen(events, 'chat:message', onChat),
    listen(events, 'violation:opened', onOpened),
    listen(events, 'violation:closed', onClosed),
    listen(events, 'analysis:tick', onTick),
    listen(events, 'guidance', onGuidance),
    listen(events, 'liveness:challenge', onChallenge),
    listen(events, 'liveness:result', onLivenessResult),
    listen(media, 'producer:new', onProducer),
    listen(media, 'producer:state', onProducer),
    listen(media, 'producer:closed', onProducerClosed),
    listen(media, 'peers:reset', onPeersReset),
  ];
  return () => {
    unsubscribe.forEach((stop) => stop());
    candidates.off('session:status', onPeerStatus);
    for (const timer of graceTimers) clearTimeout(timer);
    graceTimers.clear();
  };
}

/** Subscribes and returns the matching unsubscribe. */
function listen<Events extends Record<keyof Events, unknown[]>, Name extends keyof Events & string>(
  emitter: EventEmitter<Events>,
  event: Name,
  listener: (...args: Events[Name]) => void,
): () => void {
  const typed = emitter as unknown as NodeJS.EventEmitter;
  const untyped = listener as (...args: unknown[]) => void;
  typed.on(event, untyped);
  return () => typed.off(event, untyped);
}
