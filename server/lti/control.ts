import { and, asc, desc, eq, inArray, lte } from 'drizzle-orm';
import {
  ltiAttempts,
  ltiControlCalls,
  ltiPlatforms,
  violations,
  type Database,
  type Severity,
  type ViolationType,
} from '../db/index.js';
import type { ProctoringEventMap, ProctoringEvents } from '../proctoring/index.js';
import { backoffMs, runPeriodically, type Logger } from '../shared/index.js';
import { claim, controlMediaType } from './claims.js';
import { guardedFetch } from './outbound.js';
import { platformRequestTimeoutMs, type PlatformTokens } from './platform-token.js';
import type { ToolKeys } from './tool-keys.js';

/** Proctor actions the Assessment Control Service carries (warn stays between proctor and candidate). */
export const controlActions = ['pause', 'resume', 'terminate', 'flag'] as const;
type ControlAction = (typeof controlActions)[number];

const severityScore: Record<Severity, number> = { low: 0.25, medium: 0.5, high: 0.75, critical: 1 };

/** Open edX's reason codes, for the violation types that have one. */
export const reasonCodeByViolation: Partial<Record<ViolationType, string>> = {
  connection_lost: '0',
  tab_hidden: '2',
  window_blur: '2',
  fullscreen_exit: '4',
  multiple_displays: '15',
  camera_off: '16',
  mic_off: '16',
};

/** Retries like webhooks: the first within seconds, growing to 10 minutes, for 24 hours. */
const retry = { minMs: 5_000, maxMs: 10 * 60_000 };
const giveUpAfterMs = 24 * 3600 * 1000;
/** A node that took a call has this long to deliver it before another node may. */
const leaseMs = 60_000;

interface ControlOptions {
  db: Database;
  events: ProctoringEvents;
  keys: ToolKeys;
  tokens: PlatformTokens;
  logger: Logger;
  allowPrivateTargets: boolean;
  pollMs?: number;
}

/**
 * Sends proctor actions on LTI sessions to the platform's Assessment Control Service. Each
 * action is stored first (so it survives a restart), then delivered and retried until the
 * platform answers 2xx or a day has passed; the platform's answer `status` is recorded.
 */
export class AssessmentControl {
  readonly #options: ControlOptions;
  readonly #loop: { stop(): Promise<void> };
  readonly #listener: (...args: ProctoringEventMap['proctor:message']) => void;
  #delivering: Promise<void> = Promise.resolve();

  constructor(options: ControlOptions) {
    this.#options = options;
    this.#listener = (message) => {
      if (!isControlAction(message.action)) return;
      this.#track(this.enqueue(message.sessionId, message.action, message.message, new Date(message.at)));
    };
    options.events.on('proctor:message', this.#listener);
    this.#loop = runPeriodically(() => this.deliverDue(), {
      intervalMs: options.pollMs ?? 2_000,
      logger: options.logger,
      what: 'LTI control delivery',
    });
  }

  /** Stores an ACS call for the session if it came from a launch with an ACS claim allowing it. */
  async enqueue(sessionId: string, action: ControlAction, message: string | null, at: Date): Promise<void> {
    const { db } = this.#options;
    const [row] = await db
      .select({ attempt: ltiAttempts, issuer: ltiPlatforms.issuer })
      .from(ltiAttempts)
      .innerJoin(ltiPlatforms, eq(ltiPlatforms.id, ltiAttempts.platformId))
      .where(eq(ltiAttempts.sessionId, sessionId));
    if (!row?.attempt.controlUrl) return;
    const { attempt } = row;
    if (attempt.controlActions && !attempt.controlActions.includes(action)) return;
    const incident = await worstViolation(db, sessionId);
    const link = attempt.claims[claim.resourceLink] as { id: string };
    const body: Record<string, unknown> = {
      user: { iss: row.issuer, sub: attempt.userSub },
      resource_link: { id: link.id },
      attempt_number: attempt.claims[claim.attemptNumber],
      action,
      incident_time: at.toISOString(),
      incident_severity: incident ? severityScore[incident.severity] : action === 'terminate' ? 1 : 0.5,
      ...(incident && reasonCodeByViolation[incident.type]
        ? { reason_code: reasonCodeByViolation[incident.type] }
        : {}),
      reason_msg:
        message ?? (incident ? `Vigil: ${incident.type.replaceAll('_', ' ')}` : `Proctor action: ${action}`),
    };
    // The tenant's key exists before any node looks for calls it can sign (deliveries below).
    await this.#options.keys.signingKey(attempt.tenantId);
    await db.insert(ltiControlCalls).values({ tenantId: attempt.tenantId, sessionId, action, body });
    this.#track(this.deliverDue());
  }

  /** Delivers the calls that are due; one pass at a time on this node, calls leased across nodes. */
  deliverDue(): Promise<void> {
    // A failed pass is logged and must not stop the passes queued after it.
    this.#delivering = this.#delivering
      .then(() => this.#deliverPass())
      .catch((error: unknown) =>
        this.#options.logger.error({ err: error }, 'LTI control delivery pass failed'),
      );
    return this.#delivering;
  }

  async close(): Promise<void> {
    this.#options.events.off('proctor:message', this.#listener);
    await this.#loop.stop();
    await this.#delivering;
  }

  async #deliverPass(): Promise<void> {
    const { db, keys } = this.#options;
    const isDue = and(eq(ltiControlCalls.status, 'pending'), lte(ltiControlCalls.nextAttemptAt, new Date()));
    // Only calls this node can sign for: a node with another JWT secret leaves them to the others.
    const tenants = await db
      .selectDistinct({ tenantId: ltiControlCalls.tenantId })
      .from(ltiControlCalls)
      .where(isDue)
      .limit(100);
    const signable: string[] = [];
    for (const { tenantId } of tenants) if (await keys.canSign(tenantId)) signable.push(tenantId);
    if (signable.length === 0) return;
    const due = await db.transaction(async (tx) => {
      const rows = await tx
        .select()
        .from(ltiControlCalls)
        .where(and(isDue, inArray(ltiControlCalls.tenantId, signable)))
        .orderBy(asc(ltiControlCalls.createdAt))
        .limit(20)
        .for('update', { skipLocked: true });
      if (rows.length > 0) {
        await tx
          .update(ltiControlCalls)
          .set({ nextAttemptAt: new Date(Date.now() + leaseMs) })
          .where(
            inArray(
              ltiControlCalls.id,
              rows.map((row) => row.id),
            ),
          );
      }
      return rows;
    });
    for (const call of due) await this.#deliver(call);
  }

  async #deliver(call: typeof ltiControlCalls.$inferSelect): Promise<void> {
    const { db, tokens, logger } = this.#options;
    const [row] = await db
      .select({ platform: ltiPlatforms, controlUrl: ltiAttempts.controlUrl })
      .from(ltiAttempts)
      .innerJoin(ltiPlatforms, eq(ltiPlatforms.id, ltiAttempts.platformId))
      .where(eq(ltiAttempts.sessionId, call.sessionId));
    const attempts = call.attempts + 1;
    let outcome: { responseStatus: number | null; platformStatus: string | null; error: string | null };
    try {
      if (!row?.controlUrl) throw new Error('the platform registration or attempt is gone');
      const token = await tokens.token(row.platform);
      const response = await guardedFetch(
        row.controlUrl,
        {
          method: 'POST',
          headers: {
            'content-type': controlMediaType,
            accept: controlMediaType,
            authorization: `Bearer ${token}`,
          },
          body: JSON.stringify(call.body),
          signal: AbortSignal.timeout(platformRequestTimeoutMs),
        },
        this.#options.allowPrivateTargets,
      );
      if (response.status === 401) tokens.forget(row.platform.id);
      const answer = (await response.json().catch(() => null)) as { status?: unknown } | null;
      outcome = {
        responseStatus: response.status,
        platformStatus: typeof answer?.status === 'string' ? answer.status.slice(0, 100) : null,
        error: response.ok ? null : `the platform answered ${response.status}`,
      };
    } catch (error) {
      outcome = { responseStatus: null, platformStatus: null, error: describe(error) };
    }
    const givingUp = outcome.error !== null && Date.now() - call.createdAt.getTime() > giveUpAfterMs;
    if (outcome.error)
      logger.warn(
        { sessionId: call.sessionId, callId: call.id, attempts, error: outcome.error },
        'LTI control call failed',
      );
    await db
      .update(ltiControlCalls)
      .set({
        ...outcome,
        attempts,
        status: outcome.error === null ? 'delivered' : givingUp ? 'failed' : 'pending',
        nextAttemptAt: new Date(Date.now() + backoffMs(attempts - 1, retry)),
        updatedAt: new Date(),
      })
      .where(eq(ltiControlCalls.id, call.id));
  }

  #track(work: Promise<void>): void {
    work.catch((error: unknown) =>
      this.#options.logger.error({ err: error }, 'LTI control call could not be stored'),
    );
  }
}

function isControlAction(action: string): action is ControlAction {
  return (controlActions as readonly string[]).includes(action);
}

/**
 * The violation that best explains the proctor's action: the most severe of the session's latest
 * (a terminate has already closed them when the action is announced).
 */
async function worstViolation(db: Database, sessionId: string) {
  const open = await db
    .select({ type: violations.type, severity: violations.severity })
    .from(violations)
    .where(eq(violations.sessionId, sessionId))
    .orderBy(desc(violations.startedAt))
    .limit(50);
  const rank = (severity: Severity) => severityScore[severity];
  return open.reduce<(typeof open)[number] | undefined>(
    (worst, v) => (!worst || rank(v.severity) > rank(worst.severity) ? v : worst),
    undefined,
  );
}

function describe(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') return 'the platform did not answer in time';
  return error instanceof Error ? error.message.slice(0, 300) : 'unknown error';
}
