import { and, count, eq, gte, inArray, sql } from 'drizzle-orm';
import { candidates, sessions, usageCounters, type Database, type SessionStatus } from '../db/index.js';
import { AppError } from '../shared/index.js';
import { tenantPlanOf, type LimitName, type PlanId } from './plans.js';

/** A session counts against `maxConcurrentSessions` from its creation until it ends. */
const openStatuses: SessionStatus[] = ['created', 'verifying', 'in_progress', 'paused'];

/**
 * Throws 402 `quota_exceeded` naming the limit when `adding` more of it would go over the
 * tenant's plan. Checked when a request starts: what already runs is never cut off, and
 * requests racing for the last unit may both pass (the limits are for billing, not safety).
 */
export async function assertWithinLimit(
  db: Database,
  input: { tenantId: string; limit: LimitName; defaultPlan: PlanId; adding?: number },
): Promise<void> {
  const { plan, limits } = await tenantPlanOf(db, input.tenantId, input.defaultPlan);
  const limit = limits[input.limit];
  if (limit === null) return;
  const used = await currentUse(db, input.tenantId, input.limit);
  const adding = input.adding ?? 1;
  // Minutes are used up when reached; counts are exceeded when the new ones do not fit.
  const over = input.limit === 'maxCandidateMinutesPerMonth' ? used >= limit : used + adding > limit;
  if (over) {
    throw new AppError(
      'quota_exceeded',
      `quota exceeded: ${input.limit} is ${limit} on the tenant's plan (${plan}), ${Math.floor(used)} in use`,
    );
  }
}

/** What the tenant uses now of a limit: open sessions, candidates, or this month's candidate-minutes. */
export async function currentUse(db: Database, tenantId: string, limit: LimitName): Promise<number> {
  switch (limit) {
    case 'maxConcurrentSessions': {
      const [row] = await db
        .select({ n: count() })
        .from(sessions)
        .where(and(eq(sessions.tenantId, tenantId), inArray(sessions.status, openStatuses)));
      return row?.n ?? 0;
    }
    case 'maxCandidates': {
      const [row] = await db.select({ n: count() }).from(candidates).where(eq(candidates.tenantId, tenantId));
      return row?.n ?? 0;
    }
    case 'maxCandidateMinutesPerMonth': {
      const [row] = await db
        .select({ seconds: sql<string | null>`sum(${usageCounters.value})` })
        .from(usageCounters)
        .where(
          and(
            eq(usageCounters.tenantId, tenantId),
            eq(usageCounters.metric, 'candidate_seconds'),
            gte(usageCounters.hour, startOfMonth(new Date())),
          ),
        );
      return Number(row?.seconds ?? 0) / 60;
    }
  }
}

export function startOfMonth(at: Date): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1));
}
