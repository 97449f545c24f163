import { index, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { tenants } from './tenants.js';

/**
 * A SaaS integration holding an API key. Only the key's SHA-256 is stored (the key is
 * 256 random bits, so a fast hash is enough); the short prefix finds the row and is
 * safe to show in lists and logs.
 */
export const apiClients = pgTable(
  'api_clients',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    keyPrefix: text('key_prefix').notNull(),
    keyHash: text('key_hash').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (t) => [
    // Authenticating a request: look the key up by its visible prefix.
    uniqueIndex('api_clients_key_prefix_idx').on(t.keyPrefix),
    // Listing a tenant's clients.
    index('api_clients_tenant_idx').on(t.tenantId),
  ],
);
