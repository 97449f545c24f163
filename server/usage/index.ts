/** Usage metering per tenant, plans and their limits (CONTRACT.md "Usage and plans"). */
export { UsageMeter } from './meter.js';
export { registerUsageAccounting } from './http.js';
export { assertWithinLimit, currentUse, startOfMonth } from './quota.js';
export { usageReport, type UsageReport } from './report.js';
export {
  customLimitsSchema,
  limitNames,
  planIds,
  setTenantPlan,
  tenantPlanOf,
  type EffectiveLimits,
  type LimitName,
  type PlanId,
  type TenantPlan,
} from './plans.js';
