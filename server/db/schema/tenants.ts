import { pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/** An organisation using Vigil. Every other row belongs to exactly one tenant. */
export const tenants = pgTable('tenants', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});
