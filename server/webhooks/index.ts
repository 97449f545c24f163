export { recordWebhookEvent } from './outbox.js';
export type { WebhookEventInput } from './outbox.js';
export { startWebhookDelivery } from './delivery.js';
export type { WebhookDeliveryOptions } from './delivery.js';
export {
  createWebhook,
  listWebhooks,
  getWebhook,
  deleteWebhook,
  rotateWebhookSecret,
  enableWebhook,
  listDeliveries,
  replayDelivery,
  rotationOverlapMs,
  maxEndpointsPerTenant,
} from './endpoints.js';
export type { WebhookView, DeliveryView, WebhookServices } from './endpoints.js';
export { SecretBox } from './secret-box.js';
export { signatureOf, signedHeaders } from './signing.js';
export { isForbiddenAddress } from './ssrf.js';
export { defaultRetryScheduleMs, nextRetryDelayMs, parseRetryAfter } from './schedule.js';
export { purgeFinishedEvents, webhookEventRetentionDays } from './housekeeping.js';
