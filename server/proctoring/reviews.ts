import { createHash } from 'node:crypto';
import { and, asc, desc, eq, isNull, lte, sql } from 'drizzle-orm';
import { appendAudit } from '../audit/index.js';
import { actorOf, type Principal } from '../auth/index.js';
import {
  candidates,
  sessionReviews,
  sessions,
  violationDecisions,
  violations,
  type Database,
  type ReviewDecision,
} from '../db/index.js';
import { AppError, notFound } from '../shared/index.js';
import { loadExam } from './exams.js';
import { loadSession } from './sessions.js';
import { summariseViolations } from './violations.js';

export interface ReviewView {
  id: string;
  sessionId: string;
  /** Null: a decision on the whole session (every violation it had then). */
  violationId: string | null;
  decision: ReviewDecision;
  note: string;
  reviewer: string;
  at: string;
  /** How many violations this decision covered when it was made. */
  covered?: number;
}

export interface ReviewInput {
  violationId?: string | undefined;
  decision: ReviewDecision;
  note: string;
}

/** One session of the review queue: it has violations no one has decided on yet. */
export interface ReviewQueueItem {
  sessionId: string;
  candidateId: string;
  candidateName: string;
  status: string;
  suspicionScore: number;
  /** Violations without a decision, per type. */
  unreviewed: Record<string, number>;
  unreviewedTotal: number;
}

const reviewView = (row: typeof sessionReviews.$inferSelect): ReviewView => ({
  id: row.id,
  sessionId: row.sessionId,
  violationId: row.violationId,
  decision: row.decision,
  note: row.note,
  reviewer: row.reviewer,
  at: row.at.toISOString(),
});

/** Reviews are people's decisions: an admin or a proctor makes them (no API key, never a candidate). */
function assertReviewer(principal: Principal): void {
  if (principal.kind === 'apiKey' || principal.kind === 'candidate')
    throw new AppError('forbidden', 'reviews are made by an admin or a proctor');
}

/**
 * Records a reviewer's decision on one violation of the session or on the whole session (every
 * violation it has now), audited in the same transaction. The latest decision on a violation
 * stands: a dismissed violation leaves the suspicion score, a confirmed one stays in it.
 */
export async function addReview(
  db: Database,
  principal: Principal,
  sessionId: string,
  input: ReviewInput,
): Promise<ReviewView> {
  assertReviewer(principal);
  const session = await loadSession(db, principal, sessionId); // tenant (404), exam scope (403)
  const reviewer = actorOf(principal);
  return db.transaction(async (tx) => {
    const at = new Date();
    const covered = await tx
      .select({ id: violations.id })
      .from(violations)
      .where(
        and(
          eq(violations.sessionId, session.id),
          eq(violations.tenantId, session.tenantId),
          input.violationId ? eq(violations.id, input.violationId) : lte(violations.startedAt, at),
        ),
      )
      .for('update');
    if (input.violationId && covered.length === 0) throw notFound('violation');
    const [row] = await tx
      .insert(sessionReviews)
      .values({
        tenantId: session.tenantId,
        sessionId: session.id,
        violationId: input.violationId ?? null,
        decision: input.decision,
        note: input.note,
        reviewer,
        at,
      })
      .returning();
    if (!row) throw new Error('insert returned no row');
    if (covered.length > 0) {
      await tx
        .insert(violationDecisions)
        .values(
          covered.map((v) => ({
            violationId: v.id,
            tenantId: session.tenantId,
            sessionId: session.id,
            decision: input.decision,
            reviewId: row.id,
            at,
          })),
        )
        .onConflictDoUpdate({
          target: violationDecisions.violationId,
          set: { decision: input.decision, reviewId: row.id, at },
        });
    }
    await appendAudit(tx, {
      tenantId: session.tenantId,
      actor: reviewer,
      action: 'session.review',
      target: session.id,
      details: {
        reviewId: row.id,
        violationId: row.violationId,
        decision: row.decision,
        covered: covered.map((v) => v.id),
        // The note by hash and length: the log is never rewritten, so it keeps no free text.
        note: { sha256: createHash('sha256').update(input.note).digest('hex'), length: input.note.length },
      },
    });
    return { ...reviewView(row), covered: covered.length };
  });
}

/** A session's reviews, oldest first. */
export async function listReviews(
  db: Database,
  principal: Principal,
  sessionId: string,
): Promise<ReviewView[]> {
  const session = await loadSession(db, principal, sessionId);
  return reviewsOfSession(db, session.tenantId, session.id);
}

/** Reviews of a session already loaded (and authorised) by the caller, oldest first. */
export async function reviewsOfSession(
  db: Database,
  tenantId: string,
  sessionId: string,
): Promise<ReviewView[]> {
  const rows = await db
    .select()
    .from(sessionReviews)
    .where(and(eq(sessionReviews.sessionId, sessionId), eq(sessionReviews.tenantId, tenantId)))
    .orderBy(asc(sessionReviews.at), asc(sessionReviews.id));
  return rows.map(reviewView);
}

/** The standing decision on each reviewed violation of a session (violation id → decision). */
export async function decisionsOfSession(
  db: Database,
  tenantId: string,
  sessionId: string,
): Promise<Map<string, ReviewDecision>> {
  const rows = await db
    .select({ violationId: violationDecisions.violationId, decision: violationDecisions.decision })
    .from(violationDecisions)
    .where(and(eq(violationDecisions.sessionId, sessionId), eq(violationDecisions.tenantId, tenantId)));
  return new Map(rows.map((row) => [row.violationId, row.decision]));
}

/**
 * The exam's sessions that need a human look: those with a violation no one has decided on,
 * most suspicious first. A session without violations never lands here.
 */
export async function reviewQueue(
  db: Database,
  principal: Principal,
  examId: string,
): Promise<ReviewQueueItem[]> {
  const exam = await loadExam(db, principal, examId); // tenant (404), exam scope (403)
  const rows = await db
    .select({
      sessionId: sessions.id,
      candidateId: sessions.candidateId,
      candidateName: candidates.name,
      status: sessions.status,
      type: violations.type,
      count: sql<number>`count(*)::int`,
    })
    .from(violations)
    .innerJoin(sessions, eq(sessions.id, violations.sessionId))
    .innerJoin(candidates, eq(candidates.id, sessions.candidateId))
    .leftJoin(violationDecisions, eq(violationDecisions.violationId, violations.id))
    .where(
      and(
        eq(sessions.examId, exam.id),
        eq(sessions.tenantId, exam.tenantId),
        isNull(violationDecisions.violationId),
      ),
    )
    .groupBy(sessions.id, sessions.candidateId, candidates.name, sessions.status, violations.type)
    .orderBy(desc(sql`count(*)`));
  const items = new Map<string, ReviewQueueItem>();
  for (const row of rows) {
    let item = items.get(row.sessionId);
    if (!item) {
      item = {
        sessionId: row.sessionId,
        candidateId: row.candidateId,
        candidateName: row.candidateName,
        status: row.status,
        suspicionScore: 0,
        unreviewed: {},
        unreviewedTotal: 0,
      };
      items.set(row.sessionId, item);
    }
    item.unreviewed[row.type] = row.count;
    item.unreviewedTotal += row.count;
  }
  const scores = await summariseViolations(db, [...items.keys()]);
  for (const item of items.values()) item.suspicionScore = scores.get(item.sessionId)?.suspicionScore ?? 0;
  return [...items.values()].sort(
    (a, b) => b.suspicionScore - a.suspicionScore || b.unreviewedTotal - a.unreviewedTotal,
  );
}
