import { index, integer, jsonb, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { candidates } from './candidates.js';
import { exams } from './exams.js';
import { tenants } from './tenants.js';

export const bulkJobStatuses = ['queued', 'running', 'completed', 'failed'] as const;
export type BulkJobStatus = (typeof bulkJobStatuses)[number];

export const bulkRowStatuses = ['created', 'updated', 'failed'] as const;
export type BulkRowStatus = (typeof bulkRowStatuses)[number];

/** What a row did with its photo: none given, stored as the reference, or refused. */
export const bulkPhotoOutcomes = ['none', 'stored', 'rejected'] as const;
export type BulkPhotoOutcome = (typeof bulkPhotoOutcomes)[number];

/**
 * A bulk candidate import (`POST /exams/:examId/candidates/bulk`), processed in the background
 * by the node that received its upload (the files wait in that node's DATA_DIR).
 */
export const bulkJobs = pgTable(
  'bulk_jobs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    examId: uuid('exam_id')
      .notNull()
      .references(() => exams.id, { onDelete: 'cascade' }),
    status: text('status', { enum: bulkJobStatuses }).notNull().default('queued'),
    /** The credential that uploaded it, as the principal the rows are created by (audit actor). */
    principal: jsonb('principal').$type<Record<string, unknown>>().notNull(),
    total: integer('total').notNull(),
    processed: integer('processed').notNull().default(0),
    created: integer('created').notNull().default(0),
    updated: integer('updated').notNull().default(0),
    failed: integer('failed').notNull().default(0),
    error: text('error'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [
    // Resuming a node's unfinished jobs after a restart.
    index('bulk_jobs_status_idx').on(t.status),
  ],
);

/** One row of an import and what came of it. */
export const bulkJobRows = pgTable(
  'bulk_job_rows',
  {
    jobId: uuid('job_id')
      .notNull()
      .references(() => bulkJobs.id, { onDelete: 'cascade' }),
    /** 1-based, as a spreadsheet counts data rows. */
    row: integer('row').notNull(),
    externalId: text('external_id'),
    status: text('status', { enum: bulkRowStatuses }).notNull(),
    candidateId: uuid('candidate_id').references(() => candidates.id, { onDelete: 'set null' }),
    photo: text('photo', { enum: bulkPhotoOutcomes }).notNull().default('none'),
    errorCode: text('error_code'),
    errorMessage: text('error_message'),
  },
  (t) => [
    // GET /jobs/:id lists a job's rows in order; re-processing a row replaces its result.
    primaryKey({ columns: [t.jobId, t.row] }),
  ],
);
