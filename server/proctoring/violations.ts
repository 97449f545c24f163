import { and, asc, eq, inArray, isNull, sql } from 'drizzle-orm';
import { appendAudit } from '../audit/index.js';
import {
  defaultSeverityByViolationType,
  evidence,
  sessions,
  violationDecisions,
  violations,
  type Database,
  type Severity,
  type ViolationSource,
  type ViolationType,
} from '../db/index.js';
import { notFound } from '../shared/index.js';
import { recordWebhookEvent } from '../webhooks/index.js';
import type { ProctoringEvents } from './events.js';
import { assertSessionOpen } from './session-guard.js';
import { violationView, type ViolationView } from './views.js';

/** How much one violation (at confidence 1) adds to the 0..100 suspicion score. */
export const severityWeight: Record<Severity, number> = { low: 2, medium: 5, high: 15, critical: 30 };

export interface ViolationSummary {
  counts: Record<string, number>;
  suspicionScore: number;
}

/** Per-type counts and the suspicion score of each session, in one query. */
export async function summariseViolations(
  db: Database,
  sessionIds: string[],
): Promise<Map<string, ViolationSummary>> {
  const summaries = new Map<string, ViolationSummary>(
    sessionIds.map((id) => [id, { counts: {}, suspicionScore: 0 }]),
  );
  if (sessionIds.length === 0) return summaries;
  const rows = await db
    .select({
      sessionId: violations.sessionId,
      type: violations.type,
      severity: violations.severity,
      count: sql<number>`count(*)::int`,
      // A violation a reviewer dismissed still happened (it is counted) but leaves the score.
      confidence: sql<number>`coalesce(sum(${violations.confidence}) filter (where ${violationDecisions.decision} is distinct from 'dismissed'), 0)::float8`,
    })
    .from(violations)
    .leftJoin(violationDecisions, eq(violationDecisions.violationId, violations.id))
    .where(inArray(violations.sessionId, sessionIds))
    .groupBy(violations.sessionId, violations.type, violations.severity);
  for (const row of rows) {
    const summary = summaries.get(row.sessionId);
    if (!summary) continue;
    summary.counts[row.type] = (summary.counts[row.type] ?? 0) + row.count;
    summary.suspicionScore += severityWeight[row.severity] * row.confidence;
  }
  for (const summary of summaries.values()) {
    summary.suspicionScore = Math.min(100, Math.round(summary.suspicionScore * 10) / 10);
  }
  return summaries;
}

/** Violations of one session, oldest first, each with its evidence references. */
export async function violationsOfSession(
  db: Database,
  tenantId: string,
  sessionId: string,
): Promise<ViolationView[]> {
  const rows = await db
    .select()
    .from(violations)
    .where(and(eq(violations.sessionId, sessionId), eq(violations.tenantId, tenantId)))
    .orderBy(asc(violations.startedAt), asc(violations.id));
  return withEvidence(db, rows);
}

/** Views of `rows`, each with its evidence references (oldest first). */
async function withEvidence(
  db: Database,
  rows: (typeof violations.$inferSelect)[],
): Promise<ViolationView[]> {
  if (rows.length === 0) return [];
  const evidenceRows = await db
    .select()
    .from(evidence)
    .where(
      inArray(
        evidence.violationId,
        rows.map((row) => row.id),
      ),
    )
    .orderBy(asc(evidence.createdAt));
  return rows.map((row) =>
    violationView(
      row,
      evidenceRows.filter((item) => item.violationId === row.id),
    ),
  );
}

export interface OpenViolationInput {
  tenantId: string;
  examId: string;
  sessionId: string;
  type: ViolationType;
  source: ViolationSource;
  confidence: number;
  severity?: Severity | undefined;
  details?: Record<string, unknown> | undefined;
  startedAt?: Date | undefined;
  /** Evidence rows already stored for this violation (ids from the evidence module). */
  evidenceIds?: string[] | undefined;
}

/**
 * Persists a violation with its audit entry, then announces it. Persisting first means a
 * proctor never sees a violation that a reload would not show.
 */
export async function openViolation(
  db: Database,
  events: ProctoringEvents,
  input: OpenViolationInput,
): Promise<ViolationView> {
  const view = await db.transaction(async (tx) => {
    // No violation starts in (or outlives) a session that already ended.
    await assertSessionOpen(tx, input);
    const [row] = await tx
      .insert(violations)
      .values({
        tenantId: input.tenantId,
        sessionId: input.sessionId,
        type: input.type,
        severity: input.severity ?? defaultSeverityByViolationType[input.type],
        source: input.source,
        confidence: Math.min(1, Math.max(0, input.confidence)),
        details: input.details ?? {},
        startedAt: input.startedAt ?? new Date(),
      })
      .returning();
    if (!row) throw new Error('insert returned no row');
    let evidenceRows: (typeof evidence.$inferSelect)[] = [];
    if (input.evidenceIds?.length) {
      evidenceRows = await tx
        .update(evidence)
        .set({ violationId: row.id, sessionId: input.sessionId })
        .where(and(inArray(evidence.id, input.evidenceIds), eq(evidence.tenantId, input.tenantId)))
        .returning();
    }
    await appendAudit(tx, {
      tenantId: input.tenantId,
      actor: input.source === 'server' ? 'system:analysis' : `candidate-page:${input.sessionId}`,
      action: 'violation.open',
      target: row.id,
      details: {
        sessionId: input.sessionId,
        type: row.type,
        severity: row.severity,
        confidence: row.confidence,
      },
    });
    const view = violationView(row, evidenceRows);
    await recordWebhookEvent(tx, {
      tenantId: input.tenantId,
      sessionId: input.sessionId,
      type: 'violation.opened',
      object: () => Promise.resolve({ violation: view }),
    });
    return view;
  });
  events.emit('violation:opened', {
    tenantId: input.tenantId,
    examId: input.examId,
    sessionId: input.sessionId,
    violation: view,
  });
  return view;
}

/** Ends an open violation (idempotent: closing a closed one returns it unchanged, no event). */
export async function closeViolation(
  db: Database,
  events: ProctoringEvents,
  ref: { tenantId: string; examId: string; violationId: string; endedAt?: Date },
): Promise<ViolationView> {
  const result = await db.transaction(async (tx) => {
    // Share-lock the session: a close racing the session's end cannot end after it.
    const [owner] = await tx
      .select({ endedAt: sessions.endedAt })
      .from(sessions)
      .innerJoin(violations, eq(violations.sessionId, sessions.id))
      .where(and(eq(violations.id, ref.violationId), eq(violations.tenantId, ref.tenantId)))
      .for('share', { of: sessions });
    let endedAt = ref.endedAt ?? new Date();
    if (owner?.endedAt && owner.endedAt < endedAt) endedAt = owner.endedAt;
    const [row] = await tx
      .update(violations)
      .set({ endedAt })
      .where(
        and(
          eq(violations.id, ref.violationId),
          eq(violations.tenantId, ref.tenantId),
          isNull(violations.endedAt),
        ),
      )
      .returning();
    const current =
      row ??
      (await tx
        .select()
        .from(violations)
        .where(and(eq(violations.id, ref.violationId), eq(violations.tenantId, ref.tenantId)))
        .then((rows) => rows[0]));
    if (!current) throw notFound('violation');
    if (row) {
      await appendAudit(tx, {
        tenantId: ref.tenantId,
        actor: 'system:analysis',
        action: 'violation.close',
        target: row.id,
        details: { sessionId: row.sessionId, type: row.type },
      });
    }
    const evidenceRows = await tx.select().from(evidence).where(eq(evidence.violationId, current.id));
    const view = violationView(current, evidenceRows);
    if (row) {
      await recordWebhookEvent(tx, {
        tenantId: ref.tenantId,
        sessionId: row.sessionId,
        type: 'violation.closed',
        object: () => Promise.resolve({ violation: view }),
      });
    }
    return { view, changed: !!row };
  });
  if (result.changed) {
    events.emit('violation:closed', {
      tenantId: ref.tenantId,
      examId: ref.examId,
      sessionId: result.view.sessionId,
      violation: result.view,
    });
  }
  return result.view;
}

/**
 * Ends every violation still open in a session that is ending, in the caller's transaction
 * (audited each), so no violation outlives its session whichever node ran its rules. Returns
 * the closed ones for the caller to announce after commit.
 */
export async function closeOpenViolationsOfSession(
  tx: Database,
  ref: { tenantId: string; sessionId: string; actor: string; endedAt: Date },
): Promise<ViolationView[]> {
  const closed = await tx
    .update(violations)
    .set({ endedAt: ref.endedAt })
    .where(
      and(
        eq(violations.sessionId, ref.sessionId),
        eq(violations.tenantId, ref.tenantId),
        isNull(violations.endedAt),
      ),
    )
    .returning();
  if (closed.length === 0) return [];
  for (const row of closed) {
    await appendAudit(tx, {
      tenantId: ref.tenantId,
      actor: ref.actor,
      action: 'violation.close',
      target: row.id,
      details: { sessionId: row.sessionId, type: row.type, reason: 'session_ended' },
    });
  }
  const views = await withEvidence(tx, closed);
  for (const view of views) {
    await recordWebhookEvent(tx, {
      tenantId: ref.tenantId,
      sessionId: ref.sessionId,
      type: 'violation.closed',
      object: () => Promise.resolve({ violation: view }),
    });
  }
  return views;
}
