import { and, asc, eq } from 'drizzle-orm';
import { appendAudit } from '../audit/index.js';
import { actorOf, type Principal } from '../auth/index.js';
import { candidates, type Database } from '../db/index.js';
import { AppError, notFound } from '../shared/index.js';
import { loadExam } from './exams.js';
import { assertExamInScope } from './scope.js';
import { candidateView, type CandidateView } from './views.js';

export async function createCandidate(
  db: Database,
  principal: Principal,
  examId: string,
  input: { externalId: string; name: string },
): Promise<CandidateView> {
  await loadExam(db, principal, examId);
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(candidates)
      .values({ tenantId: principal.tenantId, examId, externalId: input.externalId, name: input.name })
      .onConflictDoNothing({ target: [candidates.examId, candidates.externalId] })
      .returning();
    if (!row)
      throw new AppError('conflict', `candidate ${input.externalId} is already registered for this exam`);
    await appendAudit(tx, {
      tenantId: principal.tenantId,
      actor: actorOf(principal),
      action: 'candidate.create',
      target: row.id,
      details: { examId, externalId: input.externalId },
    });
    return candidateView(row);
  });
}

export async function loadCandidate(
  db: Database,
  principal: Principal,
  candidateId: string,
): Promise<typeof candidates.$inferSelect> {
  const [row] = await db
    .select()
    .from(candidates)
    .where(and(eq(candidates.id, candidateId), eq(candidates.tenantId, principal.tenantId)));
  if (!row) throw notFound('candidate');
  assertExamInScope(principal, row.examId);
  return row;
}

export async function getCandidate(
  db: Database,
  principal: Principal,
  candidateId: string,
): Promise<CandidateView> {
  return candidateView(await loadCandidate(db, principal, candidateId));
}

export async function listCandidates(
  db: Database,
  principal: Principal,
  examId: string,
): Promise<CandidateView[]> {
  await loadExam(db, principal, examId);
  const rows = await db
    .select()
    .from(candidates)
    .where(and(eq(candidates.examId, examId), eq(candidates.tenantId, principal.tenantId)))
    .orderBy(asc(candidates.createdAt));
  return rows.map(candidateView);
}

/** Stores a candidate's reference face (embedding from the analysis engine, photo as evidence). */
export async function setCandidateReference(
  db: Database,
  principal: Principal,
  candidateId: string,
  reference: { embedding: number[]; evidenceId: string; quality: Record<string, number> },
): Promise<CandidateView> {
  const candidate = await loadCandidate(db, principal, candidateId);
  return db.transaction(async (tx) => {
    const [row] = await tx
      .update(candidates)
      .set({
        referenceEmbedding: reference.embedding,
        referenceEvidenceId: reference.evidenceId,
        referenceQuality: reference.quality,
      })
      .where(eq(candidates.id, candidate.id))
      .returning();
    await appendAudit(tx, {
      tenantId: principal.tenantId,
      actor: actorOf(principal),
      action: 'candidate.reference',
      target: candidate.id,
      details: { evidenceId: reference.evidenceId, replaced: candidate.referenceEmbedding !== null },
    });
    return candidateView(row!);
  });
}
