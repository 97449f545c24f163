import { index, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { tenants } from './tenants.js';
import { users } from './users.js';

/**
 * Opaque refresh tokens, stored as SHA-256. Each use rotates the token; all tokens issued
 * from one login share a `familyId`, so presenting an already-used token revokes the family
 * (a stolen token is only good until its owner refreshes).
 */
export const refreshTokens = pgTable(
  'refresh_tokens',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    familyId: uuid('family_id').notNull(),
    tokenHash: text('token_hash').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    usedAt: timestamp('used_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (t) => [
    // `POST /auth/refresh`: find the presented token.
    uniqueIndex('refresh_tokens_hash_idx').on(t.tokenHash),
    // Revoking a whole family on reuse.
    index('refresh_tokens_family_idx').on(t.familyId),
  ],
);
