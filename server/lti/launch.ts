import { and, eq, inArray } from 'drizzle-orm';
import { appendAudit } from '../audit/index.js';
import type { TokenService } from '../auth/index.js';
import {
  candidates,
  exams,
  ltiAttempts,
  ltiPlatforms,
  ltiResourceLinks,
  sessions,
  type Database,
} from '../db/index.js';
import {
  canTransition,
  isFinal,
  policySchema,
  transitionSession,
  type Policy,
  type ProctoringEvents,
} from '../proctoring/index.js';
import { canonicalJson } from '../shared/index.js';
import { claim, claimProblem, startProctoringClaimsSchema, type LaunchClaims } from './claims.js';
import { LtiRefusal } from './refusal.js';

type PlatformRow = typeof ltiPlatforms.$inferSelect;

/** An exam made on first launch runs this long unless the platform says otherwise. */
const defaultDurationMinutes = 180;
/** Candidate links from a launch stay valid this long (the platform launches again for a new one). */
const candidateTokenTtlSeconds = 8 * 3600;

const actorOf = (platform: PlatformRow) => `lti:${platform.id}`;

export interface StartedProctoring {
  sessionId: string;
  candidateToken: string;
}

/**
 * LtiStartProctoring: the resource link's exam (made on first launch), the user's candidate and
 * the attempt's session, found or made in one transaction; the claims later messages must echo
 * are kept with the attempt.
 */
export async function startProctoring(
  db: Database,
  tokens: TokenService,
  platform: PlatformRow,
  claims: LaunchClaims,
): Promise<StartedProctoring> {
  const parsed = startProctoringClaimsSchema.safeParse(claims);
  if (!parsed.success) throw new LtiRefusal(401, claimProblem(parsed.error), platform);
  const extra = parsed.data;
  const link = claims[claim.resourceLink];
  const attemptNumber = claims[claim.attemptNumber];
  const attemptKey = canonicalJson(attemptNumber);

  const started = await db.transaction(async (tx) => {
    // Serialises first launches of a platform, so one link never gets two exams.
    await tx
      .select({ id: ltiPlatforms.id })
      .from(ltiPlatforms)
      .where(eq(ltiPlatforms.id, platform.id))
      .for('update');
    const examId = await examOfLink(tx, platform, link, extra[claim.proctoringSettings]?.data);
    const candidateId = await candidateOfUser(tx, platform, examId, claims);
    const [existing] = await tx
      .select({ sessionId: ltiAttempts.sessionId, status: sessions.status })
      .from(ltiAttempts)
      .innerJoin(sessions, eq(sessions.id, ltiAttempts.sessionId))
      .where(
        and(
          eq(ltiAttempts.platformId, platform.id),
          eq(ltiAttempts.resourceLinkId, link.id),
          eq(ltiAttempts.userSub, claims.sub),
          eq(ltiAttempts.attemptKey, attemptKey),
        ),
      );
    const kept = {
      claims: keptClaims(claims, extra),
      startAssessmentUrl: extra[claim.startAssessmentUrl],
      controlUrl: extra[claim.acs]?.assessment_control_url ?? null,
      controlActions: extra[claim.acs]?.actions ?? null,
      deploymentId: claims[claim.deploymentId],
    };
    if (existing) {
      if (isFinal(existing.status)) {
        throw new LtiRefusal(409, `this attempt has already ended (${existing.status})`, platform);
      }
      // A relaunch of a running attempt: the platform may send fresh session_data.
      await tx.update(ltiAttempts).set(kept).where(eq(ltiAttempts.sessionId, existing.sessionId));
      await appendAudit(tx, {
        tenantId: platform.tenantId,
        actor: actorOf(platform),
        action: 'lti.start_proctoring',
        target: existing.sessionId,
        details: { relaunch: true, resourceLinkId: link.id, attemptNumber },
      });
      return { sessionId: existing.sessionId, examId, candidateId };
    }
    const open = await tx
      .select({ id: sessions.id })
      .from(sessions)
      .where(
        and(
          eq(sessions.candidateId, candidateId),
          inArray(sessions.status, ['created', 'verifying', 'in_progress', 'paused']),
        ),
      );
    if (open.length > 0) {
      throw new LtiRefusal(409, 'another attempt of this exam is still open; finish it first', platform);
    }
    const [session] = await tx
      .insert(sessions)
      .values({ tenantId: platform.tenantId, examId, candidateId })
      .returning({ id: sessions.id });
    if (!session) throw new Error('insert returned no row');
    await tx.insert(ltiAttempts).values({
      sessionId: session.id,
      tenantId: platform.tenantId,
      platformId: platform.id,
      resourceLinkId: link.id,
      userSub: claims.sub,
      attemptKey,
      ...kept,
    });
    await appendAudit(tx, {
      tenantId: platform.tenantId,
      actor: actorOf(platform),
      action: 'lti.start_proctoring',
      target: session.id,
      details: { resourceLinkId: link.id, attemptNumber, examId, candidateId, sub: claims.sub },
    });
    return { sessionId: session.id, examId, candidateId };
  });
  const candidateToken = tokens.sign(
    { kind: 'candidate', tenantId: platform.tenantId, ...started },
    candidateTokenTtlSeconds,
  );
  return { sessionId: started.sessionId, candidateToken };
}

/** LtiEndAssessment: the platform says the attempt is over; the session completes. */
export async function endAssessment(
  db: Database,
  events: ProctoringEvents,
  platform: PlatformRow,
  claims: LaunchClaims,
): Promise<{ sessionId: string; status: string }> {
  const link = claims[claim.resourceLink];
  const [attempt] = await db
    .select({ sessionId: ltiAttempts.sessionId, status: sessions.status })
    .from(ltiAttempts)
    .innerJoin(sessions, eq(sessions.id, ltiAttempts.sessionId))
    .where(
      and(
        eq(ltiAttempts.platformId, platform.id),
        eq(ltiAttempts.resourceLinkId, link.id),
        eq(ltiAttempts.userSub, claims.sub),
        eq(ltiAttempts.attemptKey, canonicalJson(claims[claim.attemptNumber])),
      ),
    );
  if (!attempt) throw new LtiRefusal(404, 'Vigil has no proctoring session for this attempt', platform);
  const actor = actorOf(platform);
  let status = attempt.status;
  if (!isFinal(status)) {
    // A session that never started cannot complete: it ends as terminated, saying why.
    const to = canTransition(status, 'completed') ? 'completed' : 'terminated';
    const moved = await transitionSession(
      db,
      events,
      { tenantId: platform.tenantId, sessionId: attempt.sessionId, actor, reason: 'LtiEndAssessment' },
      to,
    );
    status = moved.status;
  }
  await db.transaction(async (tx) => {
    await tx
      .update(ltiAttempts)
      .set({ endedAt: new Date() })
      .where(eq(ltiAttempts.sessionId, attempt.sessionId));
    await appendAudit(tx, {
      tenantId: platform.tenantId,
      actor,
      action: 'lti.end_assessment',
      target: attempt.sessionId,
      details: { status, attemptNumber: claims[claim.attemptNumber] },
    });
  });
  return { sessionId: attempt.sessionId, status };
}

async function examOfLink(
  tx: Database,
  platform: PlatformRow,
  link: LaunchClaims[typeof claim.resourceLink],
  settings: string | undefined,
): Promise<string> {
  const [known] = await tx
    .select({ examId: ltiResourceLinks.examId })
    .from(ltiResourceLinks)
    .where(and(eq(ltiResourceLinks.platformId, platform.id), eq(ltiResourceLinks.resourceLinkId, link.id)));
  if (known) return known.examId;
  const [exam] = await tx
    .insert(exams)
    .values({
      tenantId: platform.tenantId,
      title: (link.title ?? '').trim().slice(0, 300) || 'Exam from the learning platform',
      durationMinutes: defaultDurationMinutes,
      policy: policyFromSettings(settings),
    })
    .returning({ id: exams.id });
  if (!exam) throw new Error('insert returned no row');
  await tx
    .insert(ltiResourceLinks)
    .values({ platformId: platform.id, resourceLinkId: link.id, examId: exam.id });
  await appendAudit(tx, {
    tenantId: platform.tenantId,
    actor: actorOf(platform),
    action: 'exam.create',
    target: exam.id,
    details: { lti: { platformId: platform.id, resourceLinkId: link.id } },
  });
  return exam.id;
}

/**
 * `proctoring_settings.data` is opaque to the specification; when it holds a JSON Vigil policy it
 * is used, anything else leaves the default policy.
 */
export function policyFromSettings(data: string | undefined): Policy {
  if (data !== undefined) {
    try {
      const parsed = policySchema.safeParse(JSON.parse(data));
      if (parsed.success) return parsed.data;
    } catch {
      // Not JSON: a platform-specific value Vigil does not understand.
    }
  }
  return policySchema.parse({});
}

async function candidateOfUser(
  tx: Database,
  platform: PlatformRow,
  examId: string,
  claims: LaunchClaims,
): Promise<string> {
  const [known] = await tx
    .select({ id: candidates.id })
    .from(candidates)
    .where(and(eq(candidates.examId, examId), eq(candidates.externalId, claims.sub)));
  if (known) return known.id;
  const fullName = [claims.given_name, claims.family_name].filter(Boolean).join(' ');
  const name = (claims.name ?? fullName).trim().slice(0, 300) || claims.sub.slice(0, 300);
  const [created] = await tx
    .insert(candidates)
    .values({ tenantId: platform.tenantId, examId, externalId: claims.sub, name })
    .returning({ id: candidates.id });
  if (!created) throw new Error('insert returned no row');
  await appendAudit(tx, {
    tenantId: platform.tenantId,
    actor: actorOf(platform),
    action: 'candidate.create',
    target: created.id,
    details: { examId, externalId: claims.sub },
  });
  return created.id;
}

/** What later messages send back, exactly as the launch carried it. */
function keptClaims(claims: LaunchClaims, extra: Record<string, unknown>): Record<string, unknown> {
  const kept: Record<string, unknown> = {
    iss: claims.iss,
    sub: claims.sub,
    [claim.resourceLink]: claims[claim.resourceLink],
    [claim.attemptNumber]: claims[claim.attemptNumber],
  };
  for (const name of [claim.sessionData, claim.verifiedUser]) {
    if (claims[name] !== undefined) kept[name] = claims[name];
  }
  for (const name of ['name', 'given_name', 'family_name', 'email'] as const) {
    if (claims[name] !== undefined) kept[name] = claims[name];
  }
  if (extra[claim.sessionData] !== undefined) kept[claim.sessionData] = extra[claim.sessionData];
  return kept;
}
