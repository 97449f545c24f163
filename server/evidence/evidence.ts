import { and, eq } from 'drizzle-orm';
import type { Principal } from '../auth/index.js';
import { evidence, type Database, type EvidenceKind } from '../db/index.js';
import { loadSession } from '../proctoring/index.js';
import { AppError, notFound } from '../shared/index.js';
import type { EvidenceStore } from './store.js';

export async function storeEvidence(
  db: Database,
  store: EvidenceStore,
  input: {
    tenantId: string;
    sessionId?: string | null;
    kind: EvidenceKind;
    mediaType: string;
    bytes: Buffer;
  },
): Promise<typeof evidence.$inferSelect> {
  const stored = await store.put(input.bytes);
  const [row] = await db
    .insert(evidence)
    .values({
      tenantId: input.tenantId,
      sessionId: input.sessionId ?? null,
      kind: input.kind,
      mediaType: input.mediaType,
      ...stored,
    })
    .returning();
  if (!row) throw new Error('insert returned no row');
  return row;
}

/**
 * The bytes of one evidence item for an authorised reader: same tenant (else 404) and, for a
 * proctor limited to some exams, an exam in its scope (else 403).
 */
export async function readEvidence(
  db: Database,
  store: EvidenceStore,
  principal: Principal,
  evidenceId: string,
): Promise<{ bytes: Buffer; mediaType: string; sha256: string }> {
  const [row] = await db
    .select()
    .from(evidence)
    .where(and(eq(evidence.id, evidenceId), eq(evidence.tenantId, principal.tenantId)));
  if (!row) throw notFound('evidence');
  if (row.sessionId) {
    await loadSession(db, principal, row.sessionId);
  } else if (principal.kind === 'proctorToken' && principal.examIds) {
    // Evidence outside any session (a reference photo) is for unrestricted readers only.
    throw new AppError('forbidden', 'this credential is not allowed to read that evidence');
  }
  const bytes = await store.get(row.storageKey).catch(() => {
    throw new AppError('not_found', 'evidence file is missing from the store');
  });
  return { bytes, mediaType: row.mediaType, sha256: row.sha256 };
}
