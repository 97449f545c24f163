import { bigint, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { tenants } from './tenants.js';

/**
 * The newest entry of each tenant's audit chain. Appending locks this row (serialising
 * writers of one tenant), and verification compares the chain's end with it, so deleting
 * the newest entries is detected as well as editing or removing older ones.
 */
export const auditHeads = pgTable('audit_heads', {
  tenantId: uuid('tenant_id')
    .primaryKey()
    .references(() => tenants.id, { onDelete: 'cascade' }),
  seq: bigint('seq', { mode: 'number' }).notNull(),
  lastId: uuid('last_id'),
  hash: text('hash').notNull(),
});
