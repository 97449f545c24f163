import { and, eq, inArray } from 'drizzle-orm';
import { evidence as evidenceTable, type Database } from '../db/index.js';
import type { EvidenceStore } from '../evidence/index.js';
import type { Logger } from '../shared/index.js';

export interface EvidenceFile {
  id: string;
  violationId: string | null;
  kind: string;
  mediaType: string;
  sha256: string;
  /** Null when the bytes are gone (retention deleted them, or the store lost them). */
  bytes: Buffer | null;
  missing?: 'purged' | 'unreadable';
}

/**
 * The evidence files of a session's violations, read from the store. The caller has already
 * authorised the session; rows are still scoped by tenant so no other tenant's file is read.
 */
export async function evidenceFilesOf(
  deps: { db: Database; evidenceStore: EvidenceStore; logger: Logger },
  tenantId: string,
  violationIds: string[],
): Promise<EvidenceFile[]> {
  if (violationIds.length === 0) return [];
  const rows = await deps.db
    .select()
    .from(evidenceTable)
    .where(and(eq(evidenceTable.tenantId, tenantId), inArray(evidenceTable.violationId, violationIds)));
  return Promise.all(
    rows.map(async (row): Promise<EvidenceFile> => {
      const file = {
        id: row.id,
        violationId: row.violationId,
        kind: row.kind,
        mediaType: row.mediaType,
        sha256: row.sha256,
      };
      if (row.purgedAt) return { ...file, bytes: null, missing: 'purged' };
      try {
        return { ...file, bytes: await deps.evidenceStore.get(row.storageKey) };
      } catch (error) {
        deps.logger.warn({ err: error, evidenceId: row.id }, 'evidence file unreadable for a report');
        return { ...file, bytes: null, missing: 'unreadable' };
      }
    }),
  );
}
