/**
 * The retention policy: evidence of sessions that ended more than `EVIDENCE_RETENTION_DAYS`
 * ago is deleted. Rows stay, marked `purgedAt` with their sha256, and each purge is an audit
 * entry, so the record of what existed outlives the bytes. A file is removed once no live row
 * needs it (identical content is stored once).
 */
import { and, eq, inArray, isNull, lt } from 'drizzle-orm';
import { appendAudit } from '../audit/index.js';
import { evidence, sessions, type Database } from '../db/index.js';
import { runPeriodically, type Logger } from '../shared/index.js';
import { deleteIfUnused } from './evidence.js';
import type { EvidenceStore } from './store.js';

export interface RetentionOutcome {
  /** Evidence rows marked purged. */
  items: number;
  /** Sessions those rows belonged to (one audit entry each). */
  sessions: number;
  /** Files removed from the store. */
  filesDeleted: number;
}

const dayMs = 86_400_000;

export async function purgeExpiredEvidence(
  db: Database,
  store: EvidenceStore,
  options: {
    retentionDays: number;
    now?: Date;
    batchSize?: number;
    /** Sweep one tenant only (all when absent). */
    tenantId?: string;
  },
): Promise<RetentionOutcome> {
  const now = options.now ?? new Date();
  const cutoff = new Date(now.getTime() - options.retentionDays * dayMs);
  const batchSize = options.batchSize ?? 500;
  const outcome: RetentionOutcome = { items: 0, sessions: 0, filesDeleted: 0 };
  for (;;) {
    const purged = await purgeBatch(db, {
      now,
      cutoff,
      batchSize,
      retentionDays: options.retentionDays,
      tenantId: options.tenantId,
    });
    outcome.items += purged.items;
    outcome.sessions += purged.sessions;
    for (const [sha256, storageKey] of purged.files) {
      if (await deleteIfUnused(db, store, sha256, storageKey)) outcome.filesDeleted += 1;
    }
    if (purged.items < batchSize) return outcome;
  }
}

/** Marks one batch purged and audits it per session, in one transaction. */
async function purgeBatch(
  db: Database,
  options: {
    now: Date;
    cutoff: Date;
    batchSize: number;
    retentionDays: number;
    tenantId: string | undefined;
  },
): Promise<{ items: number; sessions: number; files: Map<string, string> }> {
  return db.transaction(async (tx) => {
    // Several nodes may sweep at once: each claims rows the others have not locked.
    const expired = tx
      .select({ id: evidence.id })
      .from(evidence)
      .innerJoin(sessions, eq(sessions.id, evidence.sessionId))
      .where(
        and(
          isNull(evidence.purgedAt),
          lt(sessions.endedAt, options.cutoff),
          options.tenantId ? eq(evidence.tenantId, options.tenantId) : undefined,
        ),
      )
      .limit(options.batchSize)
      .for('update', { of: evidence, skipLocked: true });
    const rows = await tx
      .update(evidence)
      .set({ purgedAt: options.now })
      .where(and(inArray(evidence.id, expired), isNull(evidence.purgedAt)))
      .returning({
        tenantId: evidence.tenantId,
        sessionId: evidence.sessionId,
        sha256: evidence.sha256,
        storageKey: evidence.storageKey,
      });
    const bySession = new Map<string, { tenantId: string; sha256: string[] }>();
    const files = new Map<string, string>();
    for (const row of rows) {
      const key = row.sessionId ?? '';
      const entry = bySession.get(key) ?? { tenantId: row.tenantId, sha256: [] };
      entry.sha256.push(row.sha256);
      bySession.set(key, entry);
      files.set(row.sha256, row.storageKey);
    }
    for (const [sessionId, entry] of bySession) {
      await appendAudit(tx, {
        tenantId: entry.tenantId,
        actor: 'system:retention',
        action: 'evidence.purge',
        target: sessionId,
        details: { items: entry.sha256.length, retentionDays: options.retentionDays, sha256: entry.sha256 },
      });
    }
    return { items: rows.length, sessions: bySession.size, files };
  });
}

/** Sweeps soon after start-up, then every `intervalMs` (hourly by default) while the service runs. */
export function scheduleRetention(options: {
  db: Database;
  store: EvidenceStore;
  retentionDays: number;
  logger: Logger;
  intervalMs?: number;
}): { stop(): Promise<void> } {
  return runPeriodically(
    async () => {
      const outcome = await purgeExpiredEvidence(options.db, options.store, {
        retentionDays: options.retentionDays,
      });
      if (outcome.items > 0) options.logger.info({ ...outcome }, 'expired evidence deleted');
    },
    { intervalMs: options.intervalMs ?? 3_600_000, logger: options.logger, what: 'evidence retention sweep' },
  );
}
