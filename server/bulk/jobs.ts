import { and, asc, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Principal } from '../auth/index.js';
import {
  bulkJobRows,
  bulkJobs,
  type BulkPhotoOutcome,
  type BulkRowStatus,
  type Database,
} from '../db/index.js';
import { notFound } from '../shared/index.js';

/** The credentials that may import (API keys and tenant admins), as stored with a job. */
const storedPrincipal = z.union([
  z.strictObject({ kind: z.literal('apiKey'), tenantId: z.uuid(), clientId: z.uuid(), name: z.string() }),
  z.strictObject({
    kind: z.literal('user'),
    tenantId: z.uuid(),
    userId: z.uuid(),
    role: z.enum(['admin', 'proctor']),
  }),
]);

export function principalOfJob(job: typeof bulkJobs.$inferSelect): Principal {
  return storedPrincipal.parse(job.principal);
}

export interface RowResult {
  row: number;
  externalId: string | null;
  status: BulkRowStatus;
  candidateId: string | null;
  photo: BulkPhotoOutcome;
  error: { code: string; message: string } | null;
}

export interface JobView {
  id: string;
  kind: 'candidates.bulk';
  examId: string;
  status: (typeof bulkJobs.$inferSelect)['status'];
  total: number;
  processed: number;
  created: number;
  updated: number;
  failed: number;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export function jobView(job: typeof bulkJobs.$inferSelect): JobView {
  return {
    id: job.id,
    kind: 'candidates.bulk',
    examId: job.examId,
    status: job.status,
    total: job.total,
    processed: job.processed,
    created: job.created,
    updated: job.updated,
    failed: job.failed,
    error: job.error,
    createdAt: job.createdAt.toISOString(),
    startedAt: job.startedAt?.toISOString() ?? null,
    finishedAt: job.finishedAt?.toISOString() ?? null,
  };
}

/** `GET /jobs/:id`: the job with every row's result so far, for the tenant's own jobs only. */
export async function getJob(
  db: Database,
  principal: Principal,
  jobId: string,
): Promise<JobView & { rows: RowResult[] }> {
  const [job] = await db
    .select()
    .from(bulkJobs)
    .where(and(eq(bulkJobs.id, jobId), eq(bulkJobs.tenantId, principal.tenantId)));
  if (!job) throw notFound('job');
  const rows = await db
    .select()
    .from(bulkJobRows)
    .where(eq(bulkJobRows.jobId, jobId))
    .orderBy(asc(bulkJobRows.row));
  return {
    ...jobView(job),
    rows: rows.map((row) => ({
      row: row.row,
      externalId: row.externalId,
      status: row.status,
      candidateId: row.candidateId,
      photo: row.photo,
      error: row.errorCode ? { code: row.errorCode, message: row.errorMessage ?? '' } : null,
    })),
  };
}

/**
 * Records one row's result and counts it in the job. A row processed again (a job resumed after
 * a restart) replaces its result, and the counts are recomputed from the rows.
 */
export async function recordRow(db: Database, jobId: string, result: RowResult): Promise<void> {
  await db.transaction(async (tx) => {
    const values = {
      jobId,
      row: result.row,
      externalId: result.externalId,
      status: result.status,
      candidateId: result.candidateId,
      photo: result.photo,
      errorCode: result.error?.code ?? null,
      errorMessage: result.error?.message.slice(0, 500) ?? null,
    };
    await tx
      .insert(bulkJobRows)
      .values(values)
      .onConflictDoUpdate({ target: [bulkJobRows.jobId, bulkJobRows.row], set: values });
    const count = (status: BulkRowStatus) =>
      sql<number>`(select count(*)::int from ${bulkJobRows} where ${bulkJobRows.jobId} = ${jobId} and ${bulkJobRows.status} = ${status})`;
    await tx
      .update(bulkJobs)
      .set({
        processed: sql`(select count(*)::int from ${bulkJobRows} where ${bulkJobRows.jobId} = ${jobId})`,
        created: count('created'),
        updated: count('updated'),
        failed: count('failed'),
      })
      .where(eq(bulkJobs.id, jobId));
  });
}
