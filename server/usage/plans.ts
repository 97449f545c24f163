import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { plans, tenantPlans, tenants, type Database, type PlanLimits } from '../db/index.js';
import { AppError } from '../shared/index.js';

/** The plans the migration seeds; their limits are rows of `plans`, not code. */
export const planIds = ['free', 'pro', 'enterprise'] as const;
export type PlanId = (typeof planIds)[number];

export const limitNames = ['maxConcurrentSessions', 'maxCandidates', 'maxCandidateMinutesPerMonth'] as const;
export type LimitName = (typeof limitNames)[number];

/** Custom limits as given to the CLI (`--limits JSON`): a number, or null for unlimited. */
export const customLimitsSchema = z.strictObject(
  Object.fromEntries(
    limitNames.map((name) => [name, z.number().int().min(0).max(1_000_000_000).nullable().optional()]),
  ) as Record<LimitName, z.ZodOptional<z.ZodNullable<z.ZodNumber>>>,
);

/** Every limit spelled out: a number, or null for unlimited. */
export type EffectiveLimits = Record<LimitName, number | null>;

export interface TenantPlan {
  plan: string;
  limits: EffectiveLimits;
  customLimits: PlanLimits;
}

/** The tenant's plan and the limits in force: the plan's, overridden by the tenant's own. */
export async function tenantPlanOf(db: Database, tenantId: string, defaultPlan: PlanId): Promise<TenantPlan> {
  const [assigned] = await db.select().from(tenantPlans).where(eq(tenantPlans.tenantId, tenantId));
  const planId = assigned?.planId ?? defaultPlan;
  const [plan] = await db.select().from(plans).where(eq(plans.id, planId));
  const customLimits = assigned?.customLimits ?? {};
  const merged = { ...(plan?.limits ?? {}), ...customLimits };
  const limits = Object.fromEntries(
    limitNames.map((name) => [name, merged[name] ?? null]),
  ) as EffectiveLimits;
  return { plan: planId, limits, customLimits };
}

/**
 * Puts a tenant on a plan and/or sets its own limits (`vigil tenant plan`). Limits given replace
 * those set before one by one; a null lifts that limit. A tenant's first call names its plan.
 */
export async function setTenantPlan(
  db: Database,
  input: { tenantId: string; plan?: PlanId; limits?: PlanLimits },
): Promise<TenantPlan> {
  const [tenant] = await db.select({ id: tenants.id }).from(tenants).where(eq(tenants.id, input.tenantId));
  if (!tenant) throw new AppError('not_found', `tenant ${input.tenantId} not found`);
  const planId = await db.transaction(async (tx) => {
    const [current] = await tx
      .select()
      .from(tenantPlans)
      .where(eq(tenantPlans.tenantId, input.tenantId))
      .for('update');
    const chosen = input.plan ?? current?.planId;
    if (!chosen) throw new AppError('invalid_input', 'the tenant has no plan yet: give --plan too');
    const customLimits = { ...(current?.customLimits ?? {}), ...(input.limits ?? {}) };
    await tx
      .insert(tenantPlans)
      .values({ tenantId: input.tenantId, planId: chosen, customLimits })
      .onConflictDoUpdate({
        target: tenantPlans.tenantId,
        set: { planId: chosen, customLimits, updatedAt: new Date() },
      });
    return chosen as PlanId;
  });
  return tenantPlanOf(db, input.tenantId, planId);
}
