import { and, asc, eq } from 'drizzle-orm';
import { ltiAttempts, ltiControlCalls, type Database } from '../db/index.js';
import { notFound } from '../shared/index.js';
import { claim } from './claims.js';

export interface ControlCallView {
  id: string;
  action: string;
  status: string;
  attempts: number;
  responseStatus: number | null;
  platformStatus: string | null;
  error: string | null;
  body: Record<string, unknown>;
  at: string;
  updatedAt: string;
}

export interface AttemptView {
  sessionId: string;
  platformId: string;
  resourceLinkId: string;
  userSub: string;
  attemptNumber: unknown;
  startAssessmentSentAt: string | null;
  endedAt: string | null;
  assessmentControl: boolean;
  controlCalls: ControlCallView[];
}

/** A session's LTI side: the attempt it serves and what was sent to the platform's ACS. */
export async function attemptOfSession(
  db: Database,
  tenantId: string,
  sessionId: string,
): Promise<AttemptView> {
  const [attempt] = await db
    .select()
    .from(ltiAttempts)
    .where(and(eq(ltiAttempts.sessionId, sessionId), eq(ltiAttempts.tenantId, tenantId)));
  if (!attempt) throw notFound('LTI attempt');
  const calls = await db
    .select()
    .from(ltiControlCalls)
    .where(and(eq(ltiControlCalls.sessionId, sessionId), eq(ltiControlCalls.tenantId, tenantId)))
    .orderBy(asc(ltiControlCalls.createdAt))
    .limit(1000);
  return {
    sessionId: attempt.sessionId,
    platformId: attempt.platformId,
    resourceLinkId: attempt.resourceLinkId,
    userSub: attempt.userSub,
    attemptNumber: attempt.claims[claim.attemptNumber],
    startAssessmentSentAt: attempt.startSentAt?.toISOString() ?? null,
    endedAt: attempt.endedAt?.toISOString() ?? null,
    assessmentControl: attempt.controlUrl !== null,
    controlCalls: calls.map((call) => ({
      id: call.id,
      action: call.action,
      status: call.status,
      attempts: call.attempts,
      responseStatus: call.responseStatus,
      platformStatus: call.platformStatus,
      error: call.error,
      body: call.body,
      at: call.createdAt.toISOString(),
      updatedAt: call.updatedAt.toISOString(),
    })),
  };
}
