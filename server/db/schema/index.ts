export * from './enums.js';
export { tenants } from './tenants.js';
export { apiClients } from './api-clients.js';
export { users } from './users.js';
export { refreshTokens } from './refresh-tokens.js';
export { exams } from './exams.js';
export { candidates } from './candidates.js';
export { sessions } from './sessions.js';
export { violations } from './violations.js';
export { evidence } from './evidence.js';
export { auditLog } from './audit-log.js';
export { auditHeads } from './audit-heads.js';
export { clientSignals } from './client-signals.js';
export { sessionMessages, messageSenders, messageKinds } from './session-messages.js';
export type { MessageSender, MessageKind } from './session-messages.js';
export { sessionNotes } from './session-notes.js';
export { sessionReviews, violationDecisions, reviewDecisions } from './reviews.js';
export type { ReviewDecision } from './reviews.js';
export { candidateProfiles } from './profiles.js';
export { idempotencyKeys } from './idempotency.js';
export { usageCounters, usageMetrics, plans, tenantPlans } from './usage.js';
export type { UsageMetric, PlanLimits } from './usage.js';
export {
  ltiPlatforms,
  ltiToolKeys,
  ltiLoginStates,
  ltiResourceLinks,
  ltiAttempts,
  ltiControlCalls,
  ltiControlStatuses,
} from './lti.js';
export type { LtiControlStatus } from './lti.js';
export {
  webhookEndpoints,
  webhookEvents,
  webhookDeliveries,
  webhookAttempts,
  webhookEventTypes,
  webhookDeliveryStates,
  webhookAttemptOutcomes,
} from './webhooks.js';
export type { WebhookEventType, WebhookDeliveryState, WebhookAttemptOutcome } from './webhooks.js';
export { bulkJobs, bulkJobRows, bulkJobStatuses, bulkRowStatuses, bulkPhotoOutcomes } from './bulk-jobs.js';
export type { BulkJobStatus, BulkRowStatus, BulkPhotoOutcome } from './bulk-jobs.js';
