import { createHash } from 'node:crypto';
import { and, asc, eq } from 'drizzle-orm';
import { appendAudit } from '../audit/index.js';
import { actorOf, type Principal } from '../auth/index.js';
import { sessionMessages, sessionNotes, type Database, type MessageKind } from '../db/index.js';
import { AppError, forbidden } from '../shared/index.js';
import type { ProctoringEvents } from './events.js';
import type { MessageView, NoteView } from './message-types.js';
import { assertSessionOpen } from './session-guard.js';
import { loadSession } from './sessions.js';

/** One conversation never grows past this many returned rows (a flood is rate-limited anyway). */
const maxListed = 5000;

/**
 * The audit entry names the text by its hash and length, not its words: the log is never
 * rewritten, so erasing a candidate must not leave what they wrote behind in it.
 */
const fingerprint = (text: string) => ({
  sha256: createHash('sha256').update(text).digest('hex'),
  length: text.length,
});

const messageView = (row: typeof sessionMessages.$inferSelect): MessageView => ({
  id: row.id,
  sessionId: row.sessionId,
  from: row.sender,
  kind: row.kind,
  text: row.text,
  at: row.at.toISOString(),
});

const noteView = (row: typeof sessionNotes.$inferSelect): NoteView => ({
  id: row.id,
  sessionId: row.sessionId,
  author: row.author,
  text: row.text,
  at: row.at.toISOString(),
});

/**
 * Stores a chat message of an open session, audits it, and announces it (`chat:message`). A
 * candidate writes in their own session only and may raise a hand (`help`); staff write as
 * `proctor` in sessions of their tenant and exams. `text` is already validated (messageText).
 */
export async function sendMessage(
  db: Database,
  events: ProctoringEvents,
  principal: Principal,
  input: { sessionId: string; text: string; kind?: MessageKind | undefined },
): Promise<MessageView> {
  const session = await loadSession(db, principal, input.sessionId); // tenant (404), exam scope (403)
  const from = principal.kind === 'candidate' ? 'candidate' : 'proctor';
  const kind = input.kind ?? 'message';
  if (kind === 'help' && from !== 'candidate') throw forbidden('only the candidate raises a hand');
  const author = actorOf(principal);
  const row = await db.transaction(async (tx) => {
    await assertSessionOpen(tx, { tenantId: session.tenantId, sessionId: session.id }); // 409 session_ended, decided on the stored row
    const [inserted] = await tx
      .insert(sessionMessages)
      .values({
        tenantId: session.tenantId,
        sessionId: session.id,
        sender: from,
        kind,
        author,
        text: input.text,
      })
      .returning();
    if (!inserted) throw new Error('insert returned no row');
    await appendAudit(tx, {
      tenantId: session.tenantId,
      actor: author,
      action: kind === 'help' ? 'session.help' : 'session.message',
      target: session.id,
      details: { messageId: inserted.id, from, ...fingerprint(input.text) },
    });
    return inserted;
  });
  const message = messageView(row);
  events.emit('chat:message', { tenantId: session.tenantId, examId: session.examId, ...message });
  return message;
}

/** A session's conversation, oldest first (the candidate may read their own). */
export async function listMessages(
  db: Database,
  principal: Principal,
  sessionId: string,
): Promise<MessageView[]> {
  const session = await loadSession(db, principal, sessionId);
  const rows = await db
    .select()
    .from(sessionMessages)
    .where(and(eq(sessionMessages.sessionId, session.id), eq(sessionMessages.tenantId, session.tenantId)))
    .orderBy(asc(sessionMessages.at), asc(sessionMessages.id))
    .limit(maxListed);
  return rows.map(messageView);
}

/** Staff only: a candidate never reads or writes notes, whatever route calls this. */
function assertStaff(principal: Principal): void {
  if (principal.kind === 'candidate') throw new AppError('forbidden', 'notes are for proctors');
}

/** Adds a private note to a session, live or ended (notes serve the review too); audited. */
export async function addNote(
  db: Database,
  principal: Principal,
  sessionId: string,
  text: string,
): Promise<NoteView> {
  assertStaff(principal);
  const session = await loadSession(db, principal, sessionId);
  const author = actorOf(principal);
  const row = await db.transaction(async (tx) => {
    const [inserted] = await tx
      .insert(sessionNotes)
      .values({ tenantId: session.tenantId, sessionId: session.id, author, text })
      .returning();
    if (!inserted) throw new Error('insert returned no row');
    await appendAudit(tx, {
      tenantId: session.tenantId,
      actor: author,
      action: 'session.note',
      target: session.id,
      details: { noteId: inserted.id, ...fingerprint(text) },
    });
    return inserted;
  });
  return noteView(row);
}

export async function listNotes(db: Database, principal: Principal, sessionId: string): Promise<NoteView[]> {
  assertStaff(principal);
  const session = await loadSession(db, principal, sessionId);
  const rows = await db
    .select()
    .from(sessionNotes)
    .where(and(eq(sessionNotes.sessionId, session.id), eq(sessionNotes.tenantId, session.tenantId)))
    .orderBy(asc(sessionNotes.at), asc(sessionNotes.id))
    .limit(maxListed);
  return rows.map(noteView);
}
