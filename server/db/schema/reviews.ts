import { index, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { sessions } from './sessions.js';
import { tenants } from './tenants.js';
import { violations } from './violations.js';

/** A reviewer's verdict: the violation (or the session) stands, or it was a false flag. */
export const reviewDecisions = ['confirmed', 'dismissed'] as const;
export type ReviewDecision = (typeof reviewDecisions)[number];

/**
 * A human review of a session: one decision on one violation, or (no violation) on the whole
 * session. Append-only: a later review overrides an earlier one, both stay on record.
 */
export const sessionReviews = pgTable(
  'session_reviews',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    sessionId: uuid('session_id')
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    /** Null: the decision is on the whole session (every violation it had then). */
    violationId: uuid('violation_id').references(() => violations.id, { onDelete: 'cascade' }),
    decision: text('decision', { enum: reviewDecisions }).notNull(),
    note: text('note').notNull(),
    /** The audit actor who decided. */
    reviewer: text('reviewer').notNull(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // The report and the review view: one session's reviews, oldest first.
    index('session_reviews_session_at_idx').on(t.sessionId, t.at),
  ],
);

/**
 * The standing decision on each reviewed violation (the latest review that covered it), kept
 * beside the log of reviews so the score and the review queue need one join, not a replay.
 */
export const violationDecisions = pgTable(
  'violation_decisions',
  {
    violationId: uuid('violation_id')
      .notNull()
      .references(() => violations.id, { onDelete: 'cascade' }),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    sessionId: uuid('session_id')
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    decision: text('decision', { enum: reviewDecisions }).notNull(),
    reviewId: uuid('review_id')
      .notNull()
      .references(() => sessionReviews.id, { onDelete: 'cascade' }),
    at: timestamp('at', { withTimezone: true }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.violationId] }),
    // The score and the review queue: the decisions of a set of sessions.
    index('violation_decisions_session_idx').on(t.sessionId),
  ],
);
