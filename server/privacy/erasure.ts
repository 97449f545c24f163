/**
 * Erasing one candidate on request (e.g. a GDPR erasure request): their reference photo and
 * embedding, every session with its violations, browser signals and evidence, and the files
 * behind that evidence. What stays is the audit log (hash-chained, so it cannot be edited),
 * which names the candidate only by id and the integrator's `externalId`, and an audit entry
 * of the erasure itself with counts.
 */
import { and, eq, inArray, or } from 'drizzle-orm';
import { appendAudit } from '../audit/index.js';
import { actorOf, type Principal } from '../auth/index.js';
import { candidates, evidence, sessions, type Database } from '../db/index.js';
import { deleteIfUnused, type EvidenceStore } from '../evidence/index.js';
import { isFinal, loadCandidate } from '../proctoring/index.js';
import { AppError } from '../shared/index.js';

export interface ErasureOutcome {
  sessions: number;
  evidence: number;
  filesDeleted: number;
}

export async function eraseCandidate(
  db: Database,
  store: EvidenceStore,
  principal: Principal,
  candidateId: string,
): Promise<ErasureOutcome> {
  const candidate = await loadCandidate(db, principal, candidateId); // 404 for other tenants
  const erased = await db.transaction(async (tx) => {
    // Locked, so no session can be opened for the candidate while it is being erased.
    await tx
      .select({ id: candidates.id })
      .from(candidates)
      .where(eq(candidates.id, candidate.id))
      .for('update');
    const ownSessions = await tx
      .select({ id: sessions.id, status: sessions.status })
      .from(sessions)
      .where(eq(sessions.candidateId, candidate.id));
    const open = ownSessions.find((session) => !isFinal(session.status));
    if (open) {
      throw new AppError(
        'conflict',
        `the candidate's session ${open.id} is ${open.status}: end it before erasing the candidate`,
      );
    }
    const sessionIds = ownSessions.map((session) => session.id);
    const files = await tx
      .select({ sha256: evidence.sha256, storageKey: evidence.storageKey })
      .from(evidence)
      .where(
        and(
          eq(evidence.tenantId, candidate.tenantId),
          sessionIds.length > 0
            ? or(eq(evidence.candidateId, candidate.id), inArray(evidence.sessionId, sessionIds))
            : eq(evidence.candidateId, candidate.id),
        ),
      );
    // Sessions, violations, signals and evidence rows go with the candidate (foreign keys cascade).
    await tx.delete(candidates).where(eq(candidates.id, candidate.id));
    await appendAudit(tx, {
      tenantId: candidate.tenantId,
      actor: actorOf(principal),
      action: 'candidate.erase',
      target: candidate.id,
      details: { examId: candidate.examId, sessions: sessionIds.length, evidence: files.length },
    });
    return { sessions: sessionIds.length, files };
  });
  let filesDeleted = 0;
  const unique = new Map(erased.files.map((file) => [file.sha256, file.storageKey]));
  for (const [sha256, storageKey] of unique) {
    if (await deleteIfUnused(db, store, sha256, storageKey)) filesDeleted += 1;
  }
  return { sessions: erased.sessions, evidence: erased.files.length, filesDeleted };
}
