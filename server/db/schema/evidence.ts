import { index, integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { candidates } from './candidates.js';
import { evidenceKinds } from './enums.js';
import { sessions } from './sessions.js';
import { tenants } from './tenants.js';
import { violations } from './violations.js';

/**
 * Metadata of a stored evidence file. The bytes live in the evidence store under
 * `storageKey` (content-addressed by sha256), so identical files are kept once.
 */
export const evidence = pgTable(
  'evidence',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    sessionId: uuid('session_id').references(() => sessions.id, { onDelete: 'cascade' }),
    violationId: uuid('violation_id').references(() => violations.id, { onDelete: 'cascade' }),
    /** Whose reference photo this is (evidence outside sessions), so erasing the candidate finds it. */
    candidateId: uuid('candidate_id').references(() => candidates.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: evidenceKinds }).notNull(),
    sha256: text('sha256').notNull(),
    size: integer('size').notNull(),
    mediaType: text('media_type').notNull(),
    storageKey: text('storage_key').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    /** Set when the retention policy deleted the bytes; the row (and its sha256) stays. */
    purgedAt: timestamp('purged_at', { withTimezone: true }),
  },
  (t) => [
    // Listing a violation's evidence with the violation.
    index('evidence_violation_idx').on(t.violationId),
    // The retention sweep: a session's evidence not purged yet; files still in use.
    index('evidence_session_idx').on(t.sessionId),
    index('evidence_storage_key_idx').on(t.storageKey),
    index('evidence_candidate_idx').on(t.candidateId),
  ],
);
