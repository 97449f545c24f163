import { boolean, integer, pgTable, timestamp, uuid } from 'drizzle-orm/pg-core';
import { candidates } from './candidates.js';
import { tenants } from './tenants.js';

/**
 * A candidate's accessibility profile: accommodations that reconfigure the checks of their
 * sessions (e.g. no looking-away rule for a screen-magnifier user). One row per candidate;
 * no row means no accommodation.
 */
export const candidateProfiles = pgTable('candidate_profiles', {
  candidateId: uuid('candidate_id')
    .primaryKey()
    .references(() => candidates.id, { onDelete: 'cascade' }),
  tenantId: uuid('tenant_id')
    .notNull()
    .references(() => tenants.id, { onDelete: 'cascade' }),
  /** No looking-away checks (screen magnifier, visual impairment). */
  gazeExempt: boolean('gaze_exempt').notNull().default(false),
  /** No talking checks (screen reader, dictation, reading aloud). */
  speechAllowed: boolean('speech_allowed').notNull().default(false),
  /** Fullscreen is not required (and leaving it is no violation). */
  noFullscreen: boolean('no_fullscreen').notNull().default(false),
  extraTimeMinutes: integer('extra_time_minutes').notNull().default(0),
  /** Breaks are allowed: the page being away is not flagged while paused. */
  breaksAllowed: boolean('breaks_allowed').notNull().default(false),
  /** A proctor verifies identity by hand: no automatic face-match gate or flag. */
  alternateVerification: boolean('alternate_verification').notNull().default(false),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});
