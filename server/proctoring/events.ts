import { EventEmitter } from 'node:events';
import type { SessionStatus } from '../db/index.js';
import type { MessageView } from './message-types.js';
import type { SessionAction } from './session-state.js';
import type { AnalysisTick, ViolationView } from './view-types.js';

interface SessionRef {
  tenantId: string;
  examId: string;
  sessionId: string;
}

/** What the proctoring services announce; the realtime layer relays it to sockets. */
export interface ProctoringEventMap {
  'session:status': [SessionRef & { status: SessionStatus; flagged: boolean }];
  'proctor:message': [
    SessionRef & {
      action: SessionAction;
      message: string | null;
      at: string;
    },
  ];
  'violation:opened': [SessionRef & { violation: ViolationView }];
  'violation:closed': [SessionRef & { violation: ViolationView }];
  /** Live analysis summary for proctors, at most once a second per session. */
  'analysis:tick': [SessionRef & AnalysisTick];
  /** A capture problem the candidate can fix (never counted as cheating). */
  guidance: [SessionRef & { code: string; message: string }];
  'liveness:challenge': [SessionRef & { step: string; instruction: string; deadline: string }];
  'liveness:result': [SessionRef & { passed: boolean; details: Record<string, unknown> }];
  /** A chat message (or raised hand) was stored: for the candidate and the exam's proctors. */
  'chat:message': [SessionRef & MessageView];
}

export class ProctoringEvents extends EventEmitter<ProctoringEventMap> {}
