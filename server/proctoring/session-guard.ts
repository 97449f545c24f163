import { and, eq } from 'drizzle-orm';
import { sessions, type Database } from '../db/index.js';
import { AppError, notFound } from '../shared/index.js';
import { isFinal } from './session-state.js';

/**
 * In the caller's transaction: locks the session row (shared unless asked) and throws 409 `session_ended` when
 * the stored status is final. A write guarded by it either commits before the session's terminal
 * transition (which then sees it, e.g. closes the violation) or is refused after it.
 */
export async function assertSessionOpen(
  tx: Database,
  ref: { tenantId: string; sessionId: string },
  lock: 'share' | 'update' = 'share',
): Promise<void> {
  const [row] = await tx
    .select({ status: sessions.status })
    .from(sessions)
    .where(and(eq(sessions.id, ref.sessionId), eq(sessions.tenantId, ref.tenantId)))
    .for(lock);
  if (!row) throw notFound('session');
  if (isFinal(row.status)) throw new AppError('session_ended', `the session is ${row.status}`);
}
