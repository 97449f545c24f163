import type { Namespace, Server, Socket } from 'socket.io';
import type { Principal } from '../auth/index.js';
import type {
  CandidateToServerEvents,
  InterServerEvents,
  ProctorToServerEvents,
  ServerToCandidateEvents,
  ServerToProctorEvents,
} from './protocol.js';
import type { CandidateSession } from './session-directory.js';

/** What a proctor socket's connection was authenticated as (`socket.data`). */
export interface ProctorSocketData {
  principal: Principal;
}

/** A candidate socket: its principal and the session it joined, set by the namespace middleware. */
export interface CandidateSocketData {
  principal: Principal;
  session: CandidateSession;
}

export type CandidateNamespace = Namespace<
  CandidateToServerEvents,
  ServerToCandidateEvents,
  InterServerEvents,
  CandidateSocketData
>;
export type ProctorNamespace = Namespace<
  ProctorToServerEvents,
  ServerToProctorEvents,
  InterServerEvents,
  ProctorSocketData
>;
export type CandidateSocket = Socket<
  CandidateToServerEvents,
  ServerToCandidateEvents,
  InterServerEvents,
  CandidateSocketData
>;
export type ProctorSocket = Socket<
  ProctorToServerEvents,
  ServerToProctorEvents,
  InterServerEvents,
  ProctorSocketData
>;

/** The root namespace serves nothing: every page talks to `/candidate` or `/proctor`. */
export type RealtimeServer = Server<Record<string, never>, Record<string, never>, InterServerEvents, unknown>;

export interface Namespaces {
  candidates: CandidateNamespace;
  proctors: ProctorNamespace;
}

/**
 * The two namespaces with their own event maps. socket.io types `io.of()` with the server's maps
 * only; the return type here is where the protocol's per-namespace maps are attached.
 */
export function namespacesOf(io: RealtimeServer): Namespaces {
  return {
    candidates: io.of('/candidate') as unknown as CandidateNamespace,
    proctors: io.of('/proctor') as unknown as ProctorNamespace,
  };
}
