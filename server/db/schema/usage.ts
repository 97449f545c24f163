import { bigint, jsonb, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { tenants } from './tenants.js';

/** What is counted per tenant (CONTRACT.md "Usage and plans"). */
export const usageMetrics = ['sessions', 'candidate_seconds', 'frames_analysed', 'api_requests'] as const;
export type UsageMetric = (typeof usageMetrics)[number];

/**
 * Usage counted per tenant, metric and hour: each node adds what it counted since its last
 * flush (an upsert adding to `value`), so a busy tenant costs one row per metric and hour.
 */
export const usageCounters = pgTable(
  'usage_counters',
  {
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    /** The start of the UTC hour counted. */
    hour: timestamp('hour', { withTimezone: true }).notNull(),
    metric: text('metric', { enum: usageMetrics }).notNull(),
    value: bigint('value', { mode: 'number' }).notNull(),
  },
  (t) => [
    // The flush upsert, and GET /usage: one tenant's hours in a range.
    primaryKey({ columns: [t.tenantId, t.hour, t.metric] }),
  ],
);

/** The limits a plan sets; null or absent means unlimited. */
export interface PlanLimits {
  maxConcurrentSessions?: number | null;
  maxCandidates?: number | null;
  maxCandidateMinutesPerMonth?: number | null;
}

/** The plans on offer, as data (seeded by the migration: free, pro, enterprise). */
export const plans = pgTable('plans', {
  id: text('id').primaryKey(),
  limits: jsonb('limits').$type<PlanLimits>().notNull(),
});

/** A tenant's plan, and limits of its own that override the plan's. No row: the default plan. */
export const tenantPlans = pgTable('tenant_plans', {
  tenantId: uuid('tenant_id')
    .primaryKey()
    .references(() => tenants.id, { onDelete: 'cascade' }),
  planId: text('plan_id')
    .notNull()
    .references(() => plans.id),
  customLimits: jsonb('custom_limits').$type<PlanLimits>().notNull().default({}),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});
