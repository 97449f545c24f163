import { integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { sessions } from './sessions.js';
import { tenants } from './tenants.js';

/**
 * Browser signals reported by the candidate page (tab hidden, blur, copy/paste…).
 * `(sessionId, seq)` is unique so a signal re-sent after a reconnect is stored once.
 */
export const clientSignals = pgTable(
  'client_signals',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    sessionId: uuid('session_id')
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    seq: integer('seq').notNull(),
    type: text('type').notNull(),
    at: timestamp('at', { withTimezone: true }).notNull(),
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // Idempotent delivery: the same (session, seq) is inserted once.
    uniqueIndex('client_signals_session_seq_idx').on(t.sessionId, t.seq),
  ],
);
