/**
 * The exam's `durationMinutes` (plus the candidate's extra time, if their accessibility profile
 * grants some) is a limit: a session still running (or paused) that long after it started is
 * completed by the service, as if the candidate had finished (reason `time_up`).
 */
import { and, eq, inArray, sql } from 'drizzle-orm';
import { candidateProfiles, exams, sessions, type Database } from '../db/index.js';
import { AppError, runPeriodically, type Logger } from '../shared/index.js';
import type { ProctoringEvents } from './events.js';
import { transitionSession } from './sessions.js';

/** Completes every overdue session; returns how many it completed. */
export async function completeOverdueSessions(
  db: Database,
  events: ProctoringEvents,
  now: Date = new Date(),
): Promise<number> {
  const overdue = await db
    .select({ id: sessions.id, tenantId: sessions.tenantId })
    .from(sessions)
    .innerJoin(exams, eq(exams.id, sessions.examId))
    // A candidate's accessibility profile may grant extra time on top of the exam's duration.
    .leftJoin(candidateProfiles, eq(candidateProfiles.candidateId, sessions.candidateId))
    .where(
      and(
        inArray(sessions.status, ['in_progress', 'paused']),
        sql`${sessions.startedAt} + make_interval(mins => ${exams.durationMinutes} + coalesce(${candidateProfiles.extraTimeMinutes}, 0)) <= ${now.toISOString()}::timestamptz`,
      ),
    )
    .limit(500);
  let completed = 0;
  for (const session of overdue) {
    try {
      await transitionSession(
        db,
        events,
        { tenantId: session.tenantId, sessionId: session.id, actor: 'system:timer', reason: 'time_up' },
        'completed',
      );
      completed += 1;
    } catch (error) {
      // Ended meanwhile (terminated by a proctor, or by another node's sweep): nothing to do.
      if (!(error instanceof AppError && error.code === 'invalid_transition')) throw error;
    }
  }
  return completed;
}

/** Checks every `intervalMs` (15 s by default) while the service runs. */
export function scheduleDeadlines(options: {
  db: Database;
  events: ProctoringEvents;
  logger: Logger;
  intervalMs?: number;
}): { stop(): Promise<void> } {
  return runPeriodically(
    async () => {
      const completed = await completeOverdueSessions(options.db, options.events);
      if (completed > 0) options.logger.info({ completed }, 'sessions past their exam time completed');
    },
    { intervalMs: options.intervalMs ?? 15_000, logger: options.logger, what: 'exam time check' },
  );
}
