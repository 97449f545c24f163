import { index, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { userRoles } from './enums.js';
import { tenants } from './tenants.js';

/** A dashboard user (admin or proctor). Passwords are kept only as scrypt hashes. */
export const users = pgTable(
  'users',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    email: text('email').notNull(),
    role: text('role', { enum: userRoles }).notNull(),
    passwordHash: text('password_hash').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    disabledAt: timestamp('disabled_at', { withTimezone: true }),
  },
  (t) => [
    // Login: `POST /auth/token` finds the user by (lower-cased) e-mail alone.
    uniqueIndex('users_email_idx').on(t.email),
    index('users_tenant_idx').on(t.tenantId),
  ],
);
