import { and, asc, eq, inArray, or, sql } from 'drizzle-orm';
import { auditEntryOf, type AuditEntry } from '../audit/index.js';
import type { Principal } from '../auth/index.js';
import { auditLog, type Database } from '../db/index.js';
import {
  accommodationsOf,
  decisionsOfSession,
  describeProfile,
  getCandidate,
  getExam,
  getSession,
  listViolations,
  profileOf,
  reviewsOfSession,
  severityWeight,
  type AccessibilityProfile,
  type CandidateView,
  type ExamView,
  type ReviewView,
  type SessionView,
  type ViolationView,
} from '../proctoring/index.js';
import { contributions, scoreCurve, sentenceOf, type Contribution, type ScorePoint } from './explain.js';

export interface TimelineEntry {
  at: string;
  /** `status`: the session's lifecycle; `violation`: one opened or closed; `review`: a decision. */
  kind: 'status' | 'violation' | 'review' | 'verification' | 'action';
  type: string;
  [key: string]: unknown;
}

export interface SessionReport {
  /** The report's format, for readers of stored copies (bundles). */
  format: 'vigil-session-report/1';
  generatedAt: string;
  session: SessionView;
  exam: Pick<ExamView, 'id' | 'title' | 'durationMinutes'>;
  candidate: CandidateView;
  verification: unknown;
  /** The candidate's accessibility profile and the checks it switched off, in words. */
  accommodations: AccessibilityProfile & { description: string[] };
  timeline: TimelineEntry[];
  scoreCurve: ScorePoint[];
  /** How the score is made: each violation's points and a sentence. */
  explanation: { score: number; contributions: Contribution[] };
  violations: (ViolationView & { decision: string | null; sentence: string })[];
  reviews: ReviewView[];
  /** Every audit entry about the session or its violations, with its place in the tenant's chain. */
  auditEntries: AuditEntry[];
}

/**
 * Everything recorded about one session, as the contract's report (CONTRACT "Reports and
 * appeals"). The caller's credential decides, as for `GET /sessions/:id`: another tenant's
 * session is 404, an exam outside a proctor token's scope 403.
 */
export async function buildReport(
  db: Database,
  principal: Principal,
  sessionId: string,
): Promise<SessionReport> {
  const session = await getSession(db, principal, sessionId);
  const [exam, candidate, violations, reviews, decisions, profile] = await Promise.all([
    getExam(db, principal, session.examId),
    getCandidate(db, principal, session.candidateId),
    listViolations(db, principal, session.id),
    reviewsOfSession(db, principal.tenantId, session.id),
    decisionsOfSession(db, principal.tenantId, session.id),
    profileOf(db, principal.tenantId, session.candidateId),
  ]);
  const auditEntries = await auditOfSession(
    db,
    principal.tenantId,
    session.id,
    violations.map((v) => v.id),
  );
  const explained = contributions(violations, decisions, severityWeight);
  return {
    format: 'vigil-session-report/1',
    generatedAt: new Date().toISOString(),
    session,
    exam: { id: exam.id, title: exam.title, durationMinutes: exam.durationMinutes },
    candidate,
    verification: session.verification,
    accommodations: { ...accommodationsOf(profile), description: describeProfile(profile) },
    timeline: timelineOf(violations, reviews, auditEntries),
    scoreCurve: scoreCurve(session.startedAt, violations, explained),
    explanation: { score: session.suspicionScore, contributions: explained },
    violations: violations.map((v) => ({
      ...v,
      decision: decisions.get(v.id) ?? null,
      sentence: sentenceOf(v),
    })),
    reviews,
    auditEntries,
  };
}

/** Audit entries whose target is the session or one of its violations, or that name the session. */
async function auditOfSession(
  db: Database,
  tenantId: string,
  sessionId: string,
  violationIds: string[],
): Promise<AuditEntry[]> {
  const rows = await db
    .select()
    .from(auditLog)
    .where(
      and(
        eq(auditLog.tenantId, tenantId),
        or(
          eq(auditLog.target, sessionId),
          violationIds.length > 0 ? inArray(auditLog.target, violationIds) : undefined,
          sql`${auditLog.details}->>'sessionId' = ${sessionId}`,
        ),
      ),
    )
    .orderBy(asc(auditLog.seq));
  return rows.map(auditEntryOf);
}

function timelineOf(
  violations: readonly ViolationView[],
  reviews: readonly ReviewView[],
  audit: readonly AuditEntry[],
): TimelineEntry[] {
  const entries: TimelineEntry[] = [];
  for (const entry of audit) {
    if (entry.action === 'session.status') {
      const { from, to, reason } = entry.details;
      entries.push({
        at: entry.at,
        kind: 'status',
        type: typeof to === 'string' ? to : 'changed',
        from,
        reason,
      });
    } else if (entry.action.startsWith('session.verification.')) {
      entries.push({
        at: entry.at,
        kind: 'verification',
        type: entry.action.slice('session.verification.'.length),
      });
    } else if (/^session\.(warn|pause|resume|terminate|flag)$/.test(entry.action)) {
      entries.push({
        at: entry.at,
        kind: 'action',
        type: entry.action.slice('session.'.length),
        actor: entry.actor,
      });
    }
  }
  for (const v of violations) {
    const base = { kind: 'violation' as const, type: v.type, violationId: v.id, severity: v.severity };
    entries.push({ at: v.startedAt, ...base, event: 'opened', sentence: sentenceOf(v) });
    if (v.endedAt) entries.push({ at: v.endedAt, ...base, event: 'closed' });
  }
  for (const r of reviews) {
    entries.push({
      at: r.at,
      kind: 'review',
      type: r.decision,
      reviewId: r.id,
      violationId: r.violationId,
      reviewer: r.reviewer,
    });
  }
  return entries.sort((a, b) => a.at.localeCompare(b.at));
}
