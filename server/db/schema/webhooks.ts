import { index, integer, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { tenants } from './tenants.js';

/** What the contract's webhook events announce (CONTRACT.md, "Webhooks"). */
export const webhookEventTypes = [
  'session.started',
  'session.paused',
  'session.resumed',
  'session.completed',
  'session.terminated',
  'session.failed',
  'session.flagged',
  'violation.opened',
  'violation.closed',
  'verification.completed',
] as const;
export type WebhookEventType = (typeof webhookEventTypes)[number];

/** `sending`: claimed by a node, which holds it until `leaseUntil` (then another may take it). */
export const webhookDeliveryStates = ['pending', 'sending', 'succeeded', 'failed'] as const;
export type WebhookDeliveryState = (typeof webhookDeliveryStates)[number];

export const webhookAttemptOutcomes = ['succeeded', 'failed'] as const;
export type WebhookAttemptOutcome = (typeof webhookAttemptOutcomes)[number];

/**
 * A tenant's webhook endpoint. Signing secrets are kept encrypted (AES-256-GCM, see
 * server/webhooks/secret-box.ts): they must be used again to sign, so a hash would not do.
 */
export const webhookEndpoints = pgTable(
  'webhook_endpoints',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    url: text('url').notNull(),
    /** Subscribed event types; empty means every type. */
    events: jsonb('events').$type<WebhookEventType[]>().notNull().default([]),
    description: text('description'),
    secretCiphertext: text('secret_ciphertext').notNull(),
    /**
     * Which sealing key the secrets are under (a fingerprint, not the key): a node claims only the
     * deliveries it can sign, so a node with another server secret never spends their attempts.
     */
    keyId: text('key_id').notNull(),
    /** The secret before the last rotation: it signs beside the new one until it expires. */
    previousSecretCiphertext: text('previous_secret_ciphertext'),
    previousSecretExpiresAt: timestamp('previous_secret_expires_at', { withTimezone: true }),
    disabledAt: timestamp('disabled_at', { withTimezone: true }),
    disabledReason: text('disabled_reason'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // GET /webhooks, and the outbox's fan-out: a tenant's endpoints.
    index('webhook_endpoints_tenant_idx').on(t.tenantId, t.createdAt),
    // The workers' claim: endpoints sealed under this node's key.
    index('webhook_endpoints_key_idx').on(t.keyId),
  ],
);

/** The outbox: one row per event, written in the transaction of the change it announces. */
export const webhookEvents = pgTable(
  'webhook_events',
  {
    /** `msg_…`: the `webhook-id` header, the same on every attempt and replay. */
    id: text('id').primaryKey(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    type: text('type', { enum: webhookEventTypes }).notNull(),
    /** The exact body sent: kept as text so every attempt sends the same bytes. */
    body: text('body').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // Housekeeping by age (tenant-scoped).
    index('webhook_events_tenant_created_idx').on(t.tenantId, t.createdAt),
  ],
);

/** One event owed to one endpoint: the unit the delivery workers claim. */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    endpointId: uuid('endpoint_id')
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: 'cascade' }),
    eventId: text('event_id')
      .notNull()
      .references(() => webhookEvents.id, { onDelete: 'cascade' }),
    state: text('state', { enum: webhookDeliveryStates }).notNull().default('pending'),
    /** Attempts claimed so far; a claim increments it first, so no attempt number is sent twice. */
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull().defaultNow(),
    leaseUntil: timestamp('lease_until', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // The workers' claim: due rows by time (pending, or sending with an expired lease).
    index('webhook_deliveries_due_idx').on(t.state, t.nextAttemptAt),
    // Deleting or disabling an endpoint: its deliveries.
    index('webhook_deliveries_endpoint_idx').on(t.endpointId),
  ],
);

/** The delivery log: one row per attempt (GET /webhooks/:id/deliveries). */
export const webhookAttempts = pgTable(
  'webhook_attempts',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    endpointId: uuid('endpoint_id')
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: 'cascade' }),
    deliveryId: uuid('delivery_id')
      .notNull()
      .references(() => webhookDeliveries.id, { onDelete: 'cascade' }),
    eventId: text('event_id').notNull(),
    type: text('type', { enum: webhookEventTypes }).notNull(),
    attempt: integer('attempt').notNull(),
    outcome: text('outcome', { enum: webhookAttemptOutcomes }).notNull(),
    responseStatus: integer('response_status'),
    error: text('error'),
    durationMs: integer('duration_ms').notNull(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // GET /webhooks/:id/deliveries: an endpoint's attempts, newest first.
    index('webhook_attempts_endpoint_at_idx').on(t.endpointId, t.at),
  ],
);
