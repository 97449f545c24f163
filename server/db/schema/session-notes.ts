import { index, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { sessions } from './sessions.js';
import { tenants } from './tenants.js';

/**
 * A proctor's private notes on a session. A table of its own, apart from the messages, so no
 * query that serves the candidate can ever reach them.
 */
export const sessionNotes = pgTable(
  'session_notes',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    sessionId: uuid('session_id')
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    /** The audit actor who wrote it. */
    author: text('author').notNull(),
    text: text('text').notNull(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // GET /sessions/:id/notes: one session's notes, oldest first.
    index('session_notes_session_at_idx').on(t.sessionId, t.at),
  ],
);
