import { eq } from 'drizzle-orm';
import { candidates, exams, sessions, type Database } from '../db/index.js';
import { isFinal, type Policy, type SessionContext } from '../proctoring/index.js';

export interface MonitoredSession extends SessionContext {
  candidateId: string;
  reference: number[] | null;
  status: (typeof sessions.$inferSelect)['status'];
}

/** What the monitor needs about a session whose media it sees (by id: taps are server-side). */
export async function loadMonitoredSession(
  db: Database,
  sessionId: string,
): Promise<MonitoredSession | undefined> {
  const [row] = await db
    .select({ session: sessions, policy: exams.policy, reference: candidates.referenceEmbedding })
    .from(sessions)
    .innerJoin(exams, eq(exams.id, sessions.examId))
    .innerJoin(candidates, eq(candidates.id, sessions.candidateId))
    .where(eq(sessions.id, sessionId));
  if (!row || isFinal(row.session.status)) return undefined;
  return {
    tenantId: row.session.tenantId,
    examId: row.session.examId,
    sessionId,
    candidateId: row.session.candidateId,
    policy: row.policy as Policy,
    reference: row.reference ?? null,
    status: row.session.status,
  };
}
