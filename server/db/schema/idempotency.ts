import { index, integer, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { tenants } from './tenants.js';

/**
 * The first response to a POST sent with an `Idempotency-Key`, kept 24 h so a retry gets it
 * back. The key itself is never stored: `keyHash` is SHA-256 of the credential and the key, and
 * the response is AES-256-GCM encrypted with a key derived from the client's key and the server
 * secret (responses can carry tokens shown once).
 */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    /** The credential that sent it (`apikey:…`, `user:…`): keys are scoped per tenant and credential. */
    credential: text('credential').notNull(),
    keyHash: text('key_hash').notNull(),
    /** SHA-256 of method, path, content type and body: another request under the key is a conflict. */
    fingerprint: text('fingerprint').notNull(),
    /** Null while the first request runs. */
    responseStatus: integer('response_status'),
    /** `iv.tag.ciphertext` (base64url) of `{contentType, body}`. */
    response: text('response'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    completedAt: timestamp('completed_at', { withTimezone: true }),
  },
  (t) => [
    // Looking a key up for a request; the key space is per tenant and credential.
    primaryKey({ columns: [t.tenantId, t.credential, t.keyHash] }),
    // The expiry sweep: rows older than 24 h.
    index('idempotency_keys_created_idx').on(t.createdAt),
  ],
);
