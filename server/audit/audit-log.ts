import { randomUUID } from 'node:crypto';
import { and, asc, eq, gt } from 'drizzle-orm';
import { auditHeads, auditLog, type Database } from '../db/index.js';
import { notFound } from '../shared/index.js';
import { entryHash, genesisHash, type AuditFields } from './chain.js';

export interface AuditInput {
  tenantId: string;
  actor: string;
  action: string;
  target?: string | null;
  details?: Record<string, unknown>;
}

export interface AuditEntry {
  id: string;
  seq: number;
  at: string;
  tenant: string;
  actor: string;
  action: string;
  target: string | null;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

/**
 * Appends one entry to the tenant's chain. Call it inside the transaction that makes the
 * change it records, so both land or neither does; the head row lock orders concurrent writers.
 */
export async function appendAudit(tx: Database, input: AuditInput): Promise<AuditEntry> {
  await tx
    .insert(auditHeads)
    .values({ tenantId: input.tenantId, seq: 0, lastId: null, hash: genesisHash })
    .onConflictDoNothing();
  const [head] = await tx
    .select()
    .from(auditHeads)
    .where(eq(auditHeads.tenantId, input.tenantId))
    .for('update');
  if (!head) throw new Error('audit head row vanished inside its transaction');

  const fields: AuditFields = {
    id: randomUUID(),
    seq: head.seq + 1,
    at: new Date(),
    tenant: input.tenantId,
    actor: input.actor,
    action: input.action,
    target: input.target ?? null,
    details: input.details ?? {},
  };
  const hash = entryHash(head.hash, fields);
  await tx.insert(auditLog).values({
    id: fields.id,
    tenantId: fields.tenant,
    seq: fields.seq,
    at: fields.at,
    actor: fields.actor,
    action: fields.action,
    target: fields.target,
    details: fields.details,
    prevHash: head.hash,
    hash,
  });
  await tx
    .update(auditHeads)
    .set({ seq: fields.seq, lastId: fields.id, hash })
    .where(eq(auditHeads.tenantId, input.tenantId));
  return { ...fields, at: fields.at.toISOString(), prevHash: head.hash, hash };
}

/** Records an event that has no other write to share a transaction with (e.g. an auth failure). */
export function recordAudit(db: Database, input: AuditInput): Promise<AuditEntry> {
  return db.transaction((tx) => appendAudit(tx, input));
}

type AuditRow = typeof auditLog.$inferSelect;

/** An audit row as the API and reports show it. */
export function toEntry(row: AuditRow): AuditEntry {
  return {
    id: row.id,
    seq: row.seq,
    at: row.at.toISOString(),
    tenant: row.tenantId,
    actor: row.actor,
    action: row.action,
    target: row.target,
    details: row.details,
    prevHash: row.prevHash,
    hash: row.hash,
  };
}

/** Entries oldest first; `after` is the id of the last entry the caller already has. */
export async function listAudit(
  db: Database,
  tenantId: string,
  page: { after?: string | undefined; limit: number },
): Promise<AuditEntry[]> {
  let afterSeq = 0;
  if (page.after) {
    const [anchor] = await db
      .select({ seq: auditLog.seq })
      .from(auditLog)
      .where(and(eq(auditLog.tenantId, tenantId), eq(auditLog.id, page.after)));
    if (!anchor) throw notFound('audit entry');
    afterSeq = anchor.seq;
  }
  const rows = await db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.tenantId, tenantId), gt(auditLog.seq, afterSeq)))
    .orderBy(asc(auditLog.seq))
    .limit(page.limit);
  return rows.map(toEntry);
}

export interface ChainReport {
  ok: boolean;
  checked: number;
  firstBrokenId?: string;
}

/**
 * Recomputes the tenant's chain from the start. An edited row fails its own hash, a deleted
 * or reordered row breaks the `seq`/`prevHash` link of the row after it, and deleting the
 * newest rows leaves the chain short of its head.
 */
export async function verifyAuditChain(
  db: Database,
  tenantId: string,
  batchSize = 1000,
): Promise<ChainReport> {
  let prevHash = genesisHash;
  let expectedSeq = 1;
  let checked = 0;
  let lastSeq = 0;
  for (;;) {
    const rows = await db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.tenantId, tenantId), gt(auditLog.seq, lastSeq)))
      .orderBy(asc(auditLog.seq))
      .limit(batchSize);
    for (const row of rows) {
      const fields: AuditFields = {
        id: row.id,
        seq: row.seq,
        at: row.at,
        tenant: row.tenantId,
        actor: row.actor,
        action: row.action,
        target: row.target,
        details: row.details,
      };
      const linked = row.seq === expectedSeq && row.prevHash === prevHash;
      if (!linked || entryHash(row.prevHash, fields) !== row.hash) {
        return { ok: false, checked, firstBrokenId: row.id };
      }
      checked += 1;
      prevHash = row.hash;
      expectedSeq += 1;
      lastSeq = row.seq;
    }
    if (rows.length < batchSize) break;
  }
  const [head] = await db.select().from(auditHeads).where(eq(auditHeads.tenantId, tenantId));
  if (head && (head.seq !== lastSeq || head.hash !== prevHash)) {
    return { ok: false, checked, ...(head.lastId ? { firstBrokenId: head.lastId } : {}) };
  }
  return { ok: true, checked };
}
