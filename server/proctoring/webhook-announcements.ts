import type { Database, SessionStatus, WebhookEventType, sessions } from '../db/index.js';
import { summariseViolations } from './violations.js';
import { sessionView, type SessionView } from './views.js';

/** The webhook event a status change announces (none for `created → verifying`). */
export function sessionEventType(from: SessionStatus, to: SessionStatus): WebhookEventType | undefined {
  switch (to) {
    case 'in_progress':
      return from === 'paused' ? 'session.resumed' : 'session.started';
    case 'paused':
      return 'session.paused';
    case 'completed':
      return 'session.completed';
    case 'terminated':
      return 'session.terminated';
    case 'failed':
      return 'session.failed';
    case 'created':
    case 'verifying':
      return undefined;
  }
}

/** The session as `GET /sessions/:id` shows it, read inside the caller's transaction. */
export async function sessionSnapshot(
  tx: Database,
  row: typeof sessions.$inferSelect,
): Promise<{ session: SessionView }> {
  const summary = (await summariseViolations(tx, [row.id])).get(row.id);
  return { session: sessionView(row, summary?.counts ?? {}, summary?.suspicionScore ?? 0) };
}
