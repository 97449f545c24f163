import type { candidates, evidence, exams, sessions, violations } from '../db/index.js';
import type { Policy } from './policy.js';
import type { CandidateView, EvidenceRef, ExamView, SessionView, ViolationView } from './view-types.js';

export type { CandidateView, EvidenceRef, ExamView, SessionView, ViolationView } from './view-types.js';

export const examView = (row: typeof exams.$inferSelect): ExamView => ({
  id: row.id,
  title: row.title,
  durationMinutes: row.durationMinutes,
  policy: row.policy as Policy,
  createdAt: row.createdAt.toISOString(),
});

export const candidateView = (row: typeof candidates.$inferSelect): CandidateView => ({
  id: row.id,
  examId: row.examId,
  externalId: row.externalId,
  name: row.name,
  hasReference: row.referenceEmbedding !== null,
});

export const evidenceRef = (row: typeof evidence.$inferSelect): EvidenceRef => ({
  id: row.id,
  kind: row.kind,
  sha256: row.sha256,
  url: `/api/v1/evidence/${row.id}`,
  ...(row.purgedAt ? { purgedAt: row.purgedAt.toISOString() } : {}),
});

export const violationView = (
  row: typeof violations.$inferSelect,
  evidenceRows: (typeof evidence.$inferSelect)[],
): ViolationView => ({
  id: row.id,
  sessionId: row.sessionId,
  type: row.type,
  severity: row.severity,
  source: row.source,
  startedAt: row.startedAt.toISOString(),
  endedAt: row.endedAt?.toISOString() ?? null,
  confidence: row.confidence,
  details: row.details,
  evidence: evidenceRows.map(evidenceRef),
});

export const sessionView = (
  row: typeof sessions.$inferSelect,
  counts: Record<string, number>,
  suspicionScore: number,
): SessionView => ({
  id: row.id,
  examId: row.examId,
  candidateId: row.candidateId,
  status: row.status,
  flagged: row.flagged,
  suspicionScore,
  verification: row.verification ?? null,
  violationCounts: counts,
  startedAt: row.startedAt?.toISOString() ?? null,
  endedAt: row.endedAt?.toISOString() ?? null,
  createdAt: row.createdAt.toISOString(),
});
