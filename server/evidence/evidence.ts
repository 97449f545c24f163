import { createHash } from 'node:crypto';
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Principal } from '../auth/index.js';
import { evidence, type Database, type EvidenceKind } from '../db/index.js';
import { AppError, notFound } from '../shared/index.js';
import type { EvidenceStore } from './store.js';

/**
 * Stores the bytes and their metadata row. The content's lock keeps the retention sweep from
 * deleting a file (shared by identical content) between the write and the row that needs it.
 */
export async function storeEvidence(
  db: Database,
  store: EvidenceStore,
  input: {
    tenantId: string;
    sessionId?: string | null;
    /** For a reference photo: the candidate it belongs to. */
    candidateId?: string | null;
    kind: EvidenceKind;
    mediaType: string;
    bytes: Buffer;
  },
): Promise<typeof evidence.$inferSelect> {
  const sha256 = createHash('sha256').update(input.bytes).digest('hex');
  return db.transaction(async (tx) => {
    await lockContent(tx, sha256);
    const stored = await store.put(input.bytes);
    const [row] = await tx
      .insert(evidence)
      .values({
        tenantId: input.tenantId,
        sessionId: input.sessionId ?? null,
        candidateId: input.candidateId ?? null,
        kind: input.kind,
        mediaType: input.mediaType,
        ...stored,
      })
      .returning();
    if (!row) throw new Error('insert returned no row');
    return row;
  });
}

/** Serialises writers and the retention sweep on one content address, until the transaction ends. */
export async function lockContent(tx: Pick<Database, 'execute'>, sha256: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`evidence:${sha256}`}, 0))`);
}

/** Deletes the file unless a row that is not purged still points at it. */
export async function deleteIfUnused(
  db: Database,
  store: EvidenceStore,
  sha256: string,
  storageKey: string,
): Promise<boolean> {
  return db.transaction(async (tx) => {
    await lockContent(tx, sha256);
    const [inUse] = await tx
      .select({ id: evidence.id })
      .from(evidence)
      .where(and(eq(evidence.storageKey, storageKey), isNull(evidence.purgedAt)))
      .limit(1);
    if (inUse) return false;
    await store.delete(storageKey);
    return true;
  });
}

/**
 * The bytes of one evidence item for an authorised reader: same tenant (else 404) and, for
 * evidence of a session, a reader `mayReadSession` lets through (it throws 404/403 otherwise;
 * the caller knows the session rules, this module does not).
 */
export async function readEvidence(
  db: Database,
  store: EvidenceStore,
  principal: Principal,
  evidenceId: string,
  mayReadSession: (sessionId: string) => Promise<unknown>,
): Promise<{ bytes: Buffer; mediaType: string; sha256: string }> {
  const [row] = await db
    .select()
    .from(evidence)
    .where(and(eq(evidence.id, evidenceId), eq(evidence.tenantId, principal.tenantId)));
  if (!row) throw notFound('evidence');
  if (row.sessionId) {
    await mayReadSession(row.sessionId);
  } else if (principal.kind === 'proctorToken' && principal.examIds) {
    // Evidence outside any session (a reference photo) is for unrestricted readers only.
    throw new AppError('forbidden', 'this credential is not allowed to read that evidence');
  }
  if (row.purgedAt) {
    throw new AppError(
      'not_found',
      `this evidence was deleted on ${row.purgedAt.toISOString()} under the retention policy`,
    );
  }
  const bytes = await store.get(row.storageKey).catch(() => {
    throw new AppError('not_found', 'evidence file is missing from the store');
  });
  return { bytes, mediaType: row.mediaType, sha256: row.sha256 };
}
