import { index, jsonb, pgTable, real, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { severities, violationSources, violationTypes } from './enums.js';
import { sessions } from './sessions.js';
import { tenants } from './tenants.js';

/** Something the service saw (or the candidate's page reported) that a proctor should review. */
export const violations = pgTable(
  'violations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    sessionId: uuid('session_id')
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    type: text('type', { enum: violationTypes }).notNull(),
    severity: text('severity', { enum: severities }).notNull(),
    source: text('source', { enum: violationSources }).notNull(),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull(),
    endedAt: timestamp('ended_at', { withTimezone: true }),
    confidence: real('confidence').notNull(),
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
  },
  (t) => [
    // `GET /sessions/:id/violations`, oldest first; also the per-type counts.
    index('violations_session_started_idx').on(t.sessionId, t.startedAt),
  ],
);
