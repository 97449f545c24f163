import { index, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { exams } from './exams.js';
import { tenants } from './tenants.js';

/**
 * A person registered for one exam. `externalId` is the integrator's own id for them.
 * The reference face (embedding + image) comes from `PUT /candidates/:id/reference`.
 */
export const candidates = pgTable(
  'candidates',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    examId: uuid('exam_id')
      .notNull()
      .references(() => exams.id, { onDelete: 'cascade' }),
    externalId: text('external_id').notNull(),
    name: text('name').notNull(),
    referenceEmbedding: jsonb('reference_embedding').$type<number[]>(),
    referenceEvidenceId: uuid('reference_evidence_id'),
    referenceQuality: jsonb('reference_quality').$type<Record<string, number>>(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // One candidate per external id within an exam (enforced, and used to detect duplicates).
    uniqueIndex('candidates_exam_external_idx').on(t.examId, t.externalId),
    index('candidates_tenant_idx').on(t.tenantId),
  ],
);
