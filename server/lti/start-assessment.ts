import { randomBytes } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { SignJWT } from 'jose';
import { appendAudit } from '../audit/index.js';
import { ltiAttempts, ltiPlatforms, sessions, type Database } from '../db/index.js';
import { AppError, notFound } from '../shared/index.js';
import { claim, ltiVersion } from './claims.js';
import type { ToolKeys } from './tool-keys.js';

/** The platform must receive the post soon after it is made. */
const startAssessmentTtlSeconds = 5 * 60;

export interface StartAssessmentForm {
  /** Where the page posts the form. */
  url: string;
  fields: { JWT: string };
}

/**
 * LtiStartAssessment: once the session is in progress, the candidate's browser posts this
 * tool-signed message to the platform, which then opens the assessment. `session_data`,
 * `attempt_number` and `resource_link` go back exactly as the launch sent them.
 */
export async function startAssessmentForm(
  db: Database,
  keys: ToolKeys,
  ref: { tenantId: string; sessionId: string; actor: string },
): Promise<StartAssessmentForm> {
  const [row] = await db
    .select({
      attempt: ltiAttempts,
      platform: ltiPlatforms,
      status: sessions.status,
      verification: sessions.verification,
    })
    .from(ltiAttempts)
    .innerJoin(ltiPlatforms, eq(ltiPlatforms.id, ltiAttempts.platformId))
    .innerJoin(sessions, eq(sessions.id, ltiAttempts.sessionId))
    .where(and(eq(ltiAttempts.sessionId, ref.sessionId), eq(ltiAttempts.tenantId, ref.tenantId)));
  if (!row) throw notFound('LTI attempt');
  if (row.status !== 'in_progress') {
    throw new AppError(
      'invalid_state',
      `the assessment starts once the session is in progress (it is ${row.status})`,
    );
  }
  const { attempt, platform } = row;
  const kept = attempt.claims;
  const signing = await keys.signingKey(platform.tenantId);
  const payload: Record<string, unknown> = {
    nonce: randomBytes(24).toString('base64url'),
    [claim.deploymentId]: attempt.deploymentId,
    [claim.messageType]: 'LtiStartAssessment',
    [claim.version]: ltiVersion,
    [claim.resourceLink]: kept[claim.resourceLink],
    [claim.attemptNumber]: kept[claim.attemptNumber],
    [claim.verifiedUser]: verifiedUser(kept, row.verification),
    [claim.endAssessmentReturn]: true,
  };
  if (claim.sessionData in kept) payload[claim.sessionData] = kept[claim.sessionData];
  const jwt = await new SignJWT(payload)
    .setProtectedHeader({ alg: 'RS256', kid: signing.kid, typ: 'JWT' })
    .setIssuer(platform.clientId)
    .setAudience(platform.issuer)
    .setIssuedAt()
    .setExpirationTime(`${startAssessmentTtlSeconds}s`)
    .sign(signing.key);
  await db.transaction(async (tx) => {
    await tx
      .update(ltiAttempts)
      .set({ startSentAt: new Date() })
      .where(eq(ltiAttempts.sessionId, attempt.sessionId));
    await appendAudit(tx, {
      tenantId: ref.tenantId,
      actor: ref.actor,
      action: 'lti.start_assessment',
      target: attempt.sessionId,
      details: { kid: signing.kid, attemptNumber: kept[claim.attemptNumber] },
    });
  });
  return { url: attempt.startAssessmentUrl, fields: { JWT: jwt } };
}

/**
 * What Vigil vouches for: the identity the platform sent, when the session's face matched the
 * reference photo; nothing (an empty object) when no identity check ran or it did not pass.
 */
function verifiedUser(
  kept: Record<string, unknown>,
  verification: Record<string, unknown> | null,
): Record<string, unknown> {
  const identity = verification?.identity as { status?: unknown } | undefined;
  if (identity?.status !== 'passed') return {};
  const user: Record<string, unknown> = {};
  for (const name of ['name', 'given_name', 'family_name', 'email'] as const) {
    if (kept[name] !== undefined) user[name === 'name' ? 'full_name' : name] = kept[name];
  }
  return user;
}
