import { and, desc, eq, inArray } from 'drizzle-orm';
import { appendAudit } from '../audit/index.js';
import { actorOf, type Principal, type TokenService } from '../auth/index.js';
import { candidates, sessions, type Database, type SessionStatus } from '../db/index.js';
import { AppError, notFound } from '../shared/index.js';
import { recordWebhookEvent } from '../webhooks/index.js';
import { loadCandidate } from './candidates.js';
import type { ProctoringEvents } from './events.js';
import { loadExam } from './exams.js';
import { assertExamInScope } from './scope.js';
import {
  actionAllowed,
  canTransition,
  isFinal,
  openStatuses,
  statusAfterAction,
  type SessionAction,
} from './session-state.js';
import { sessionView, type SessionView } from './views.js';
import { sessionEventType, sessionSnapshot } from './webhook-announcements.js';
import { closeOpenViolationsOfSession, summariseViolations, violationsOfSession } from './violations.js';

type SessionRow = typeof sessions.$inferSelect;

/** Candidate links stay valid for the exam's duration plus this much slack (late starts, reconnects). */
const candidateTokenSlackSeconds = 4 * 3600;

export async function createSession(
  db: Database,
  tokens: TokenService,
  publicUrl: string,
  principal: Principal,
  examId: string,
  candidateId: string,
): Promise<SessionView & { candidateToken: string; joinUrl: string }> {
  const exam = await loadExam(db, principal, examId);
  const candidate = await loadCandidate(db, principal, candidateId);
  if (candidate.examId !== exam.id) throw notFound('candidate');
  const row = await db.transaction(async (tx) => {
    // Lock the candidate row so two concurrent requests cannot both open a session; a candidate
    // erased meanwhile is gone (404), not a failed insert.
    const [locked] = await tx
      .select({ id: candidates.id })
      .from(candidates)
      .where(eq(candidates.id, candidate.id))
      .for('update');
    if (!locked) throw notFound('candidate');
    const open = await tx
      .select({ id: sessions.id })
      .from(sessions)
      .where(and(eq(sessions.candidateId, candidate.id), inArray(sessions.status, [...openStatuses])));
    if (open.length > 0) {
      throw new AppError('session_exists', `candidate already has an open session (${open[0]!.id})`);
    }
    const [inserted] = await tx
      .insert(sessions)
      .values({ tenantId: principal.tenantId, examId: exam.id, candidateId: candidate.id })
      .returning();
    if (!inserted) throw new Error('insert returned no row');
    await appendAudit(tx, {
      tenantId: principal.tenantId,
      actor: actorOf(principal),
      action: 'session.create',
      target: inserted.id,
      details: { examId: exam.id, candidateId: candidate.id },
    });
    return inserted;
  });
  const candidateToken = tokens.sign(
    {
      kind: 'candidate',
      tenantId: row.tenantId,
      candidateId: candidate.id,
      sessionId: row.id,
      examId: exam.id,
    },
    exam.durationMinutes * 60 + candidateTokenSlackSeconds,
  );
  const joinUrl = `${publicUrl}/candidate?token=${encodeURIComponent(candidateToken)}`;
  return { ...sessionView(row, {}, 0), candidateToken, joinUrl };
}

export async function loadSession(
  db: Database,
  principal: Principal,
  sessionId: string,
): Promise<SessionRow> {
  const [row] = await db
    .select()
    .from(sessions)
    .where(and(eq(sessions.id, sessionId), eq(sessions.tenantId, principal.tenantId)));
  if (!row) throw notFound('session');
  assertExamInScope(principal, row.examId);
  if (principal.kind === 'candidate' && principal.sessionId !== row.id) throw notFound('session');
  return row;
}

async function withSummary(db: Database, rows: SessionRow[]): Promise<SessionView[]> {
  const summaries = await summariseViolations(
    db,
    rows.map((row) => row.id),
  );
  return rows.map((row) => {
    const summary = summaries.get(row.id) ?? { counts: {}, suspicionScore: 0 };
    return sessionView(row, summary.counts, summary.suspicionScore);
  });
}

export async function getSession(
  db: Database,
  principal: Principal,
  sessionId: string,
): Promise<SessionView> {
  const [view] = await withSummary(db, [await loadSession(db, principal, sessionId)]);
  return view!;
}

export async function listSessionsOfExam(
  db: Database,
  principal: Principal,
  examId: string,
): Promise<SessionView[]> {
  await loadExam(db, principal, examId);
  const rows = await db
    .select()
    .from(sessions)
    .where(and(eq(sessions.examId, examId), eq(sessions.tenantId, principal.tenantId)))
    .orderBy(desc(sessions.createdAt))
    .limit(1000);
  return withSummary(db, rows);
}

export async function listViolations(db: Database, principal: Principal, sessionId: string) {
  const session = await loadSession(db, principal, sessionId);
  return violationsOfSession(db, principal.tenantId, session.id);
}

/**
 * Moves a session to `to` if the lifecycle allows it, recording who did it. Returns the
 * updated row, or throws 409 for a transition the state machine forbids.
 */
export async function transitionSession(
  db: Database,
  events: ProctoringEvents,
  ref: { tenantId: string; sessionId: string; actor: string; reason: string },
  to: SessionStatus,
): Promise<SessionRow> {
  const result = await db.transaction(async (tx) => {
    const [current] = await tx
      .select()
      .from(sessions)
      .where(and(eq(sessions.id, ref.sessionId), eq(sessions.tenantId, ref.tenantId)))
      .for('update');
    if (!current) throw notFound('session');
    if (current.status === to) return { session: current, closed: [] };
    if (!canTransition(current.status, to)) {
      throw new AppError('invalid_transition', `a session that is ${current.status} cannot become ${to}`);
    }
    const now = new Date();
    const [updated] = await tx
      .update(sessions)
      .set({
        status: to,
        updatedAt: now,
        ...(to === 'in_progress' && !current.startedAt ? { startedAt: now } : {}),
        ...(isFinal(to) ? { endedAt: now } : {}),
      })
      .where(eq(sessions.id, current.id))
      .returning();
    await appendAudit(tx, {
      tenantId: ref.tenantId,
      actor: ref.actor,
      action: 'session.status',
      target: current.id,
      details: { from: current.status, to, reason: ref.reason },
    });
    const closed = isFinal(to) ? await closeOpenViolationsOfSession(tx, { ...ref, endedAt: now }) : [];
    const type = sessionEventType(current.status, to);
    if (type) {
      await recordWebhookEvent(tx, {
        tenantId: ref.tenantId,
        sessionId: current.id,
        type,
        object: () => sessionSnapshot(tx, updated!),
      });
    }
    return { session: updated!, closed };
  });
  const { session, closed } = result;
  for (const violation of closed) {
    events.emit('violation:closed', {
      tenantId: session.tenantId,
      examId: session.examId,
      sessionId: session.id,
      violation,
    });
  }
  events.emit('session:status', {
    tenantId: session.tenantId,
    examId: session.examId,
    sessionId: session.id,
    status: session.status,
    flagged: session.flagged,
  });
  return session;
}

/** A proctor's warn / pause / resume / terminate / flag, via REST or the dashboard socket. */
export async function applySessionAction(
  db: Database,
  events: ProctoringEvents,
  principal: Principal,
  sessionId: string,
  input: { action: SessionAction; message?: string | undefined },
): Promise<SessionView> {
  const session = await loadSession(db, principal, sessionId);
  const actor = actorOf(principal);
  if (isFinal(session.status)) {
    throw new AppError('invalid_transition', `the session is already ${session.status}`);
  }
  const target = statusAfterAction(input.action);
  if (target) {
    if (!actionAllowed(input.action, session.status, target)) {
      throw new AppError('invalid_transition', `cannot ${input.action} a session that is ${session.status}`);
    }
    await transitionSession(
      db,
      events,
      { tenantId: session.tenantId, sessionId, actor, reason: input.action },
      target,
    );
  }
  if (input.action === 'flag' || input.action === 'warn') {
    await db.transaction(async (tx) => {
      // Decided on the locked row: an action racing the session's end lands before it or is refused.
      const [locked] = await tx
        .select({ status: sessions.status })
        .from(sessions)
        .where(eq(sessions.id, session.id))
        .for('update');
      if (!locked || isFinal(locked.status)) {
        throw new AppError('invalid_transition', `the session is already ${locked?.status ?? 'gone'}`);
      }
      if (input.action === 'flag') {
        const [flagged] = await tx
          .update(sessions)
          .set({ flagged: true, updatedAt: new Date() })
          .where(eq(sessions.id, session.id))
          .returning();
        await recordWebhookEvent(tx, {
          tenantId: session.tenantId,
          sessionId: session.id,
          type: 'session.flagged',
          object: () => sessionSnapshot(tx, flagged!),
        });
      }
      await appendAudit(tx, {
        tenantId: session.tenantId,
        actor,
        action: `session.${input.action}`,
        target: session.id,
        details: input.message ? { message: input.message } : {},
      });
    });
  }
  events.emit('proctor:message', {
    tenantId: session.tenantId,
    examId: session.examId,
    sessionId: session.id,
    action: input.action,
    message: input.message ?? null,
    at: new Date().toISOString(),
  });
  return getSession(db, principal, sessionId);
}

/** Merges a verification step's outcome into the session (`GET /sessions/:id` shows it). */
export async function recordVerification(
  db: Database,
  ref: { tenantId: string; sessionId: string; actor: string },
  step: 'identity' | 'liveness',
  outcome: Record<string, unknown>,
): Promise<void> {
  await db.transaction(async (tx) => {
    const [row] = await tx
      .select({ verification: sessions.verification })
      .from(sessions)
      .where(and(eq(sessions.id, ref.sessionId), eq(sessions.tenantId, ref.tenantId)))
      .for('update');
    if (!row) throw notFound('session');
    const verification = { ...(row.verification ?? {}), [step]: outcome };
    const [updated] = await tx
      .update(sessions)
      .set({ verification, updatedAt: new Date() })
      .where(eq(sessions.id, ref.sessionId))
      .returning();
    await recordWebhookEvent(tx, {
      tenantId: ref.tenantId,
      sessionId: ref.sessionId,
      type: 'verification.completed',
      object: async () => ({ verification: { step, ...outcome }, ...(await sessionSnapshot(tx, updated!)) }),
    });
    await appendAudit(tx, {
      tenantId: ref.tenantId,
      actor: ref.actor,
      action: `session.verification.${step}`,
      target: ref.sessionId,
      details: outcome,
    });
  });
}
