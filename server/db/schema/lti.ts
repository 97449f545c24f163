import { index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { exams } from './exams.js';
import { sessions } from './sessions.js';
import { tenants } from './tenants.js';

/** An LMS registered as an LTI 1.3 platform of one tenant. */
export const ltiPlatforms = pgTable(
  'lti_platforms',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    issuer: text('issuer').notNull(),
    clientId: text('client_id').notNull(),
    deploymentIds: jsonb('deployment_ids').$type<string[]>().notNull(),
    authLoginUrl: text('auth_login_url').notNull(),
    jwksUrl: text('jwks_url').notNull(),
    accessTokenUrl: text('access_token_url'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // Login initiation and launch find the platform by issuer and client id; one tenant owns each pair.
    uniqueIndex('lti_platforms_issuer_client_idx').on(t.issuer, t.clientId),
    // GET /lti/platforms: a tenant's platforms.
    index('lti_platforms_tenant_idx').on(t.tenantId),
  ],
);

/**
 * The tool's RS256 signing keys, one active per tenant. The private JWK is stored sealed with
 * AES-256-GCM under a key derived from the server's JWT signing secret (server/lti/sealing.ts).
 * A rotated key keeps `retiredAt` and stays in the JWKS for a grace period.
 */
export const ltiToolKeys = pgTable(
  'lti_tool_keys',
  {
    kid: text('kid').primaryKey(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    publicJwk: jsonb('public_jwk').$type<Record<string, unknown>>().notNull(),
    sealedPrivateJwk: text('sealed_private_jwk').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    retiredAt: timestamp('retired_at', { withTimezone: true }),
  },
  (t) => [
    // The tenant's active key (retiredAt null) and /lti/jwks (keys not retired long ago).
    index('lti_tool_keys_tenant_idx').on(t.tenantId, t.retiredAt),
  ],
);

/**
 * An OIDC login in flight: `state` (stored as SHA-256) names it, `browserHash` binds it to the
 * browser's cookie, `nonce` must come back in the id_token. Deleted when used or expired.
 */
export const ltiLoginStates = pgTable(
  'lti_login_states',
  {
    stateHash: text('state_hash').primaryKey(),
    platformId: uuid('platform_id')
      .notNull()
      .references(() => ltiPlatforms.id, { onDelete: 'cascade' }),
    browserHash: text('browser_hash').notNull(),
    nonce: text('nonce').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    // The sweep of expired states.
    index('lti_login_states_expires_idx').on(t.expiresAt),
  ],
);

/** A platform's resource link (an exam in the LMS) and the Vigil exam made for it on first launch. */
export const ltiResourceLinks = pgTable(
  'lti_resource_links',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    platformId: uuid('platform_id')
      .notNull()
      .references(() => ltiPlatforms.id, { onDelete: 'cascade' }),
    resourceLinkId: text('resource_link_id').notNull(),
    examId: uuid('exam_id')
      .notNull()
      .references(() => exams.id, { onDelete: 'cascade' }),
  },
  (t) => [
    // One exam per platform and link.
    uniqueIndex('lti_resource_links_link_idx').on(t.platformId, t.resourceLinkId),
  ],
);

/**
 * One attempt of one LMS user at one resource link: the Vigil session it maps to, and what the
 * launch carried that later messages must send back exactly as received (`sessionData`,
 * `attemptNumber` as raw JSON values).
 */
export const ltiAttempts = pgTable(
  'lti_attempts',
  {
    sessionId: uuid('session_id')
      .primaryKey()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    platformId: uuid('platform_id')
      .notNull()
      .references(() => ltiPlatforms.id, { onDelete: 'cascade' }),
    resourceLinkId: text('resource_link_id').notNull(),
    userSub: text('user_sub').notNull(),
    /** `attempt_number` as canonical JSON text, the lookup key of the attempt. */
    attemptKey: text('attempt_key').notNull(),
    deploymentId: text('deployment_id').notNull(),
    claims: jsonb('claims').$type<Record<string, unknown>>().notNull(),
    startAssessmentUrl: text('start_assessment_url').notNull(),
    controlUrl: text('control_url'),
    controlActions: jsonb('control_actions').$type<string[]>(),
    startSentAt: timestamp('start_sent_at', { withTimezone: true }),
    endedAt: timestamp('ended_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // A relaunch of the same attempt finds its session.
    uniqueIndex('lti_attempts_key_idx').on(t.platformId, t.resourceLinkId, t.userSub, t.attemptKey),
  ],
);

export const ltiControlStatuses = ['pending', 'delivered', 'failed'] as const;
export type LtiControlStatus = (typeof ltiControlStatuses)[number];

/** An Assessment Control Service request to a platform, retried until delivered or given up. */
export const ltiControlCalls = pgTable(
  'lti_control_calls',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    sessionId: uuid('session_id')
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    action: text('action').notNull(),
    body: jsonb('body').$type<Record<string, unknown>>().notNull(),
    status: text('status', { enum: ltiControlStatuses }).notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    responseStatus: integer('response_status'),
    /** The `status` the platform answered (e.g. `terminated`). */
    platformStatus: text('platform_status'),
    error: text('error'),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull().defaultNow(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // The delivery loop: pending calls that are due.
    index('lti_control_calls_due_idx').on(t.status, t.nextAttemptAt),
    // GET /sessions/:id/lti: one session's calls.
    index('lti_control_calls_session_idx').on(t.sessionId),
  ],
);
