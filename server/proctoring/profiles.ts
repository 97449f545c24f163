import { eq } from 'drizzle-orm';
import { appendAudit } from '../audit/index.js';
import { actorOf, type Principal } from '../auth/index.js';
import { candidateProfiles, sessions, type Database, type ViolationType } from '../db/index.js';
import { loadCandidate } from './candidates.js';

/** A candidate's accommodations; every field off (0) unless set. */
export interface AccessibilityProfile {
  gazeExempt: boolean;
  speechAllowed: boolean;
  noFullscreen: boolean;
  extraTimeMinutes: number;
  breaksAllowed: boolean;
  alternateVerification: boolean;
}

export type ProfileView = AccessibilityProfile & { candidateId: string; updatedAt: string | null };

export const noAccommodation: AccessibilityProfile = {
  gazeExempt: false,
  speechAllowed: false,
  noFullscreen: false,
  extraTimeMinutes: 0,
  breaksAllowed: false,
  alternateVerification: false,
};

/**
 * The checks each accommodation switches off for that candidate's sessions. The analysis still
 * runs (it serves other checks); the rules simply do not turn these conditions into violations.
 */
const exemptions: Record<keyof Omit<AccessibilityProfile, 'extraTimeMinutes'>, readonly ViolationType[]> = {
  // Screen magnifiers and visual impairments move the eyes and head off the usual range.
  gazeExempt: ['looking_away'],
  // Screen readers, dictation, reading aloud.
  speechAllowed: ['talking', 'noise'],
  noFullscreen: ['fullscreen_exit'],
  // Stepping away for a break: out of view, or the page closed and reopened.
  breaksAllowed: ['no_face', 'connection_lost'],
  // A proctor verifies identity by hand, so no automatic face match or liveness verdict flags.
  alternateVerification: ['face_mismatch', 'liveness_failed'],
};

/** The violation types a profile switches off. */
export function exemptTypes(profile: AccessibilityProfile): Set<ViolationType> {
  const types = new Set<ViolationType>();
  for (const [key, off] of Object.entries(exemptions) as [
    keyof typeof exemptions,
    readonly ViolationType[],
  ][]) {
    if (profile[key]) for (const type of off) types.add(type);
  }
  return types;
}

/** The accommodations in words, for the proctor and the report ("gaze checks off: …"). */
export function describeProfile(profile: AccessibilityProfile): string[] {
  const lines: string[] = [];
  if (profile.gazeExempt) lines.push('No looking-away checks (gaze exempt)');
  if (profile.speechAllowed) lines.push('Speech allowed (no talking or noise checks)');
  if (profile.noFullscreen) lines.push('Fullscreen not required');
  if (profile.extraTimeMinutes > 0) lines.push(`${profile.extraTimeMinutes} minutes of extra time`);
  if (profile.breaksAllowed) lines.push('Breaks allowed (no flags for being out of view or offline)');
  if (profile.alternateVerification) lines.push('Identity verified by a proctor (no automatic face match)');
  return lines;
}

/** Only the accommodation fields of a profile view. */
export function accommodationsOf(profile: AccessibilityProfile): AccessibilityProfile {
  const { gazeExempt, speechAllowed, noFullscreen, extraTimeMinutes, breaksAllowed, alternateVerification } =
    profile;
  return { gazeExempt, speechAllowed, noFullscreen, extraTimeMinutes, breaksAllowed, alternateVerification };
}

/** The violation types switched off for a session by its candidate's profile. */
export async function exemptionsOfSession(db: Database, sessionId: string): Promise<Set<ViolationType>> {
  const [row] = await db
    .select({ profile: candidateProfiles })
    .from(sessions)
    .innerJoin(candidateProfiles, eq(candidateProfiles.candidateId, sessions.candidateId))
    .where(eq(sessions.id, sessionId));
  return row ? exemptTypes(row.profile) : new Set();
}

const view = (candidateId: string, row: typeof candidateProfiles.$inferSelect | undefined): ProfileView => ({
  candidateId,
  gazeExempt: row?.gazeExempt ?? false,
  speechAllowed: row?.speechAllowed ?? false,
  noFullscreen: row?.noFullscreen ?? false,
  extraTimeMinutes: row?.extraTimeMinutes ?? 0,
  breaksAllowed: row?.breaksAllowed ?? false,
  alternateVerification: row?.alternateVerification ?? false,
  updatedAt: row?.updatedAt.toISOString() ?? null,
});

/** The profile of a candidate the caller may read (no row: no accommodation). */
export async function getProfile(
  db: Database,
  principal: Principal,
  candidateId: string,
): Promise<ProfileView> {
  const candidate = await loadCandidate(db, principal, candidateId); // tenant (404), exam scope (403)
  return profileOf(db, candidate.tenantId, candidate.id);
}

/** The profile of a candidate already authorised by the caller. */
export async function profileOf(db: Database, tenantId: string, candidateId: string): Promise<ProfileView> {
  const [row] = await db
    .select()
    .from(candidateProfiles)
    .where(eq(candidateProfiles.candidateId, candidateId));
  return view(candidateId, row && row.tenantId === tenantId ? row : undefined);
}

/** Sets the fields given (the others keep their value), audited with the whole new profile. */
export async function setProfile(
  db: Database,
  principal: Principal,
  candidateId: string,
  changes: Partial<AccessibilityProfile>,
): Promise<ProfileView> {
  const candidate = await loadCandidate(db, principal, candidateId);
  return db.transaction(async (tx) => {
    const now = new Date();
    const [row] = await tx
      .insert(candidateProfiles)
      .values({
        ...noAccommodation,
        ...changes,
        candidateId: candidate.id,
        tenantId: candidate.tenantId,
        updatedAt: now,
      })
      .onConflictDoUpdate({ target: candidateProfiles.candidateId, set: { ...changes, updatedAt: now } })
      .returning();
    if (!row) throw new Error('upsert returned no row');
    const profile = view(candidate.id, row);
    await appendAudit(tx, {
      tenantId: candidate.tenantId,
      actor: actorOf(principal),
      action: 'candidate.profile',
      target: candidate.id,
      details: { ...accommodationsOf(profile) },
    });
    return profile;
  });
}
