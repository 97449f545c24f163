import { and, eq, gte, lt, sql } from 'drizzle-orm';
import { evidence, usageCounters, type Database, type UsageMetric } from '../db/index.js';
import { tenantPlanOf, type EffectiveLimits, type PlanId } from './plans.js';
import { currentUse } from './quota.js';

export interface UsageReport {
  tenantId: string;
  from: string;
  to: string;
  sessions: number;
  candidateMinutes: number;
  framesAnalysed: number;
  evidenceBytes: number;
  apiRequests: number;
  plan: string;
  limits: EffectiveLimits;
  /** What the limits are measured against right now. */
  current: { concurrentSessions: number; candidates: number; candidateMinutesThisMonth: number };
}

/**
 * A tenant's usage in [from, to). Counters are kept per hour, so `from` is taken back to the
 * start of its hour. Evidence bytes are those of the evidence stored in the range that the
 * tenant still holds (an erased candidate's evidence no longer counts).
 */
export async function usageReport(
  db: Database,
  input: { tenantId: string; from: Date; to: Date; defaultPlan: PlanId },
): Promise<UsageReport> {
  const from = new Date(input.from);
  from.setUTCMinutes(0, 0, 0);
  const rows = await db
    .select({ metric: usageCounters.metric, total: sql<string>`sum(${usageCounters.value})` })
    .from(usageCounters)
    .where(
      and(
        eq(usageCounters.tenantId, input.tenantId),
        gte(usageCounters.hour, from),
        lt(usageCounters.hour, input.to),
      ),
    )
    .groupBy(usageCounters.metric);
  const totals = new Map(rows.map((row) => [row.metric, Number(row.total)]));
  const total = (metric: UsageMetric) => totals.get(metric) ?? 0;
  const [stored] = await db
    .select({ bytes: sql<string | null>`sum(${evidence.size})` })
    .from(evidence)
    .where(
      and(
        eq(evidence.tenantId, input.tenantId),
        gte(evidence.createdAt, input.from),
        lt(evidence.createdAt, input.to),
      ),
    );
  const { plan, limits } = await tenantPlanOf(db, input.tenantId, input.defaultPlan);
  return {
    tenantId: input.tenantId,
    from: from.toISOString(),
    to: input.to.toISOString(),
    sessions: total('sessions'),
    candidateMinutes: Math.round((total('candidate_seconds') / 60) * 100) / 100,
    framesAnalysed: total('frames_analysed'),
    evidenceBytes: Number(stored?.bytes ?? 0),
    apiRequests: total('api_requests'),
    plan,
    limits,
    current: {
      concurrentSessions: await currentUse(db, input.tenantId, 'maxConcurrentSessions'),
      candidates: await currentUse(db, input.tenantId, 'maxCandidates'),
      candidateMinutesThisMonth:
        Math.round((await currentUse(db, input.tenantId, 'maxCandidateMinutesPerMonth')) * 100) / 100,
    },
  };
}
