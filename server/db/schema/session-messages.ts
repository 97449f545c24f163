import { index, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { sessions } from './sessions.js';
import { tenants } from './tenants.js';

/** Who wrote a chat message: the candidate of the session, or a proctor (any staff principal). */
export const messageSenders = ['candidate', 'proctor'] as const;
export type MessageSender = (typeof messageSenders)[number];

/** `help` is the candidate's raised hand; it reads like a message but asks for attention. */
export const messageKinds = ['message', 'help'] as const;
export type MessageKind = (typeof messageKinds)[number];

/**
 * The conversation between a session's candidate and its proctors. Text is stored exactly as
 * sent (after trimming); pages render it as text. Erasing the candidate cascades here.
 */
export const sessionMessages = pgTable(
  'session_messages',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    sessionId: uuid('session_id')
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    sender: text('sender', { enum: messageSenders }).notNull(),
    kind: text('kind', { enum: messageKinds }).notNull().default('message'),
    /** The audit actor who wrote it (`candidate:…`, `user:…`, `proctor:…`, `apikey:…`). */
    author: text('author').notNull(),
    text: text('text').notNull(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // GET /sessions/:id/messages: one session's conversation, oldest first.
    index('session_messages_session_at_idx').on(t.sessionId, t.at),
  ],
);
