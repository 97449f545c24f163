import { boolean, index, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { candidates } from './candidates.js';
import { sessionStatuses } from './enums.js';
import { exams } from './exams.js';
import { tenants } from './tenants.js';

/** One sitting of one candidate in one exam; `status` follows CONTRACT.md's state machine. */
export const sessions = pgTable(
  'sessions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    examId: uuid('exam_id')
      .notNull()
      .references(() => exams.id, { onDelete: 'cascade' }),
    candidateId: uuid('candidate_id')
      .notNull()
      .references(() => candidates.id, { onDelete: 'cascade' }),
    status: text('status', { enum: sessionStatuses }).notNull().default('created'),
    flagged: boolean('flagged').notNull().default(false),
    verification: jsonb('verification').$type<Record<string, unknown>>(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    endedAt: timestamp('ended_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // Proctor dashboard: the live sessions of an exam.
    index('sessions_exam_status_idx').on(t.examId, t.status),
    // "Does this candidate already have an open session?"
    index('sessions_candidate_idx').on(t.candidateId),
  ],
);
