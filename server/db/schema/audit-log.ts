import { bigint, index, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { tenants } from './tenants.js';

/**
 * Append-only, hash-chained record of every action, one chain per tenant:
 * `hash = sha256(prevHash + canonicalJson(entry))`, `seq` numbering the chain from 1.
 * Rows are never updated; `GET /audit/verify` recomputes the chain.
 */
export const auditLog = pgTable(
  'audit_log',
  {
    id: uuid('id').primaryKey(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    at: timestamp('at', { withTimezone: true }).notNull(),
    actor: text('actor').notNull(),
    action: text('action').notNull(),
    target: text('target'),
    details: jsonb('details').$type<Record<string, unknown>>().notNull(),
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull(),
  },
  (t) => [
    // Walking a tenant's chain in order (`GET /audit`, `/audit/verify`); also makes seq unique.
    uniqueIndex('audit_log_tenant_seq_idx').on(t.tenantId, t.seq),
    // Paging `GET /audit?after=<id>` starts from an entry id.
    index('audit_log_tenant_at_idx').on(t.tenantId, t.at),
  ],
);
