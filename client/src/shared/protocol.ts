/**
 * The client's one door to the server's socket.io protocol. Type-only imports, so nothing from
 * server/ is bundled. Violation and session shapes are derived from the event maps so the client
 * depends on protocol.ts (and the enum leaf) alone.
 */
import type {
  ClientSignal,
  LiveSession,
  ServerToCandidateEvents,
  SessionActionRequest,
} from '../../../server/realtime/protocol.js';

export type {
  Ack,
  AckError,
  AnalysisTick,
  CandidateToServerEvents,
  ClientSignal,
  ConsumerOptions,
  LiveSession,
  MessageView,
  ProctorMessage,
  ProctorToServerEvents,
  ProducerInfo,
  ServerToCandidateEvents,
  ServerToProctorEvents,
  SessionRef,
  TransportOptions,
} from '../../../server/realtime/protocol.js';
export type { ViolationType } from '../../../server/db/schema/enums.js';

export type SessionStatus = LiveSession['status'];
export type Violation = Parameters<ServerToCandidateEvents['violation:opened']>[0];
export type Evidence = Violation['evidence'][number];
export type SessionAction = SessionActionRequest['action'];
export type SignalType = ClientSignal['type'];

/** Statuses after which nothing more happens in a session. */
const TERMINAL: readonly SessionStatus[] = ['completed', 'terminated', 'failed'];
export const isTerminal = (status: SessionStatus): boolean => TERMINAL.includes(status);
