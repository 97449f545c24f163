import { and, asc, eq, inArray, isNull, lt, lte, or, sql } from 'drizzle-orm';
import { appendAudit } from '../audit/index.js';
import {
  webhookAttempts,
  webhookDeliveries,
  webhookEndpoints,
  webhookEvents,
  type Database,
} from '../db/index.js';
import type { Logger } from '../shared/index.js';
import { defaultRetryScheduleMs, nextRetryDelayMs, parseRetryAfter } from './schedule.js';
import type { SecretBox } from './secret-box.js';
import { sendWebhook, type SendOutcome } from './sender.js';
import { signedHeaders } from './signing.js';

export interface WebhookWorkerOptions {
  db: Database;
  box: SecretBox;
  logger: Logger;
  allowPrivateTargets: boolean;
  /** PGlite: only this process ever claims, so rows left `sending` by a crash are free at once. */
  singleProcess: boolean;
  retryScheduleMs?: readonly number[] | undefined;
  /** How often an idle worker looks for due deliveries (a local change wakes it sooner). */
  pollIntervalMs?: number | undefined;
  attemptTimeoutMs?: number | undefined;
}

type Claimed = typeof webhookDeliveries.$inferSelect;

const batchSize = 16;
/** A claim outlives the longest attempt; a node that died mid-attempt frees its rows after it. */
const leaseMs = 60_000;
const maxResponseBytes = 4096;

/**
 * Sends the outbox's deliveries. Every node runs one: due rows are claimed in a transaction with
 * `FOR UPDATE SKIP LOCKED` (so two nodes never take the same row) and their attempt counter is
 * incremented in that claim, before anything is sent, so an attempt number is never sent twice;
 * a crash mid-attempt leaves the row leased, and the next claim after the lease is a new attempt
 * with the same `webhook-id`.
 */
export class WebhookWorker {
  readonly #options: WebhookWorkerOptions;
  readonly #schedule: readonly number[];
  #stopped = false;
  #nudged = false;
  #wake: (() => void) | undefined;
  #loop: Promise<void> = Promise.resolve();

  private constructor(options: WebhookWorkerOptions) {
    this.#options = options;
    this.#schedule = options.retryScheduleMs ?? defaultRetryScheduleMs;
  }

  static start(options: WebhookWorkerOptions): WebhookWorker {
    const worker = new WebhookWorker(options);
    worker.#loop = worker.#run();
    return worker;
  }

  /** Something may have been written to the outbox: look now rather than at the next poll. */
  nudge(): void {
    this.#nudged = true;
    this.#wake?.();
  }

  /** Stops claiming and waits for the attempts in flight (each ends within its timeout). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    await this.#loop;
  }

  async #run(): Promise<void> {
    if (this.#options.singleProcess) await this.#releaseOrphans();
    while (!this.#stopped) {
      this.#nudged = false;
      let claimed: Claimed[] = [];
      try {
        claimed = await this.#claim();
        await Promise.all(claimed.map((row) => this.#attempt(row)));
      } catch (error) {
        this.#options.logger.error({ err: error }, 'webhook delivery round failed');
      }
      if (claimed.length < batchSize && !this.#nudged) await this.#idle();
    }
  }

  #idle(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, this.#options.pollIntervalMs ?? 1000);
      timer.unref();
      this.#wake = done;
      if (this.#stopped) done();
    });
  }

  /** After a restart of the embedded database, nothing else can be holding these rows. */
  async #releaseOrphans(): Promise<void> {
    await this.#options.db
      .update(webhookDeliveries)
      .set({ leaseUntil: new Date(0) })
      .where(eq(webhookDeliveries.state, 'sending'));
  }

  #claim(): Promise<Claimed[]> {
    const now = new Date();
    return this.#options.db.transaction(async (tx) => {
      const due = await tx
        .select({ id: webhookDeliveries.id })
        .from(webhookDeliveries)
        .innerJoin(webhookEndpoints, eq(webhookEndpoints.id, webhookDeliveries.endpointId))
        .where(
          and(
            isNull(webhookEndpoints.disabledAt),
            // Only what this node can sign: a node with another server secret leaves them alone.
            eq(webhookEndpoints.keyId, this.#options.box.keyId),
            or(
              and(eq(webhookDeliveries.state, 'pending'), lte(webhookDeliveries.nextAttemptAt, now)),
              and(eq(webhookDeliveries.state, 'sending'), lt(webhookDeliveries.leaseUntil, now)),
            ),
          ),
        )
        .orderBy(asc(webhookDeliveries.nextAttemptAt))
        .limit(batchSize)
        .for('update', { of: webhookDeliveries, skipLocked: true });
      if (due.length === 0) return [];
      return tx
        .update(webhookDeliveries)
        .set({
          state: 'sending',
          attempts: sql`${webhookDeliveries.attempts} + 1`,
          leaseUntil: new Date(now.getTime() + leaseMs),
          updatedAt: now,
        })
        .where(
          inArray(
            webhookDeliveries.id,
            due.map((row) => row.id),
          ),
        )
        .returning();
    });
  }

  async #attempt(delivery: Claimed): Promise<void> {
    const { db, box } = this.#options;
    const [target] = await db
      .select({
        url: webhookEndpoints.url,
        secret: webhookEndpoints.secretCiphertext,
        previousSecret: webhookEndpoints.previousSecretCiphertext,
        previousSecretExpiresAt: webhookEndpoints.previousSecretExpiresAt,
        type: webhookEvents.type,
        body: webhookEvents.body,
      })
      .from(webhookDeliveries)
      .innerJoin(webhookEndpoints, eq(webhookEndpoints.id, webhookDeliveries.endpointId))
      .innerJoin(webhookEvents, eq(webhookEvents.id, webhookDeliveries.eventId))
      .where(eq(webhookDeliveries.id, delivery.id));
    if (!target) return; // the endpoint was deleted meanwhile (its deliveries went with it)
    const now = Date.now();
    const secrets = [box.open(target.secret, delivery.endpointId)];
    if (target.previousSecret && (target.previousSecretExpiresAt?.getTime() ?? 0) > now) {
      secrets.push(box.open(target.previousSecret, delivery.endpointId));
    }
    const readable = secrets.filter((secret): secret is string => secret !== undefined);
    const outcome: SendOutcome =
      readable.length === 0
        ? {
            status: null,
            error: 'the signing secret is unreadable (the server secret changed): rotate it',
            retryAfter: undefined,
            durationMs: 0,
          }
        : await sendWebhook(
            target.url,
            signedHeaders(readable, delivery.eventId, Math.floor(now / 1000), target.body),
            target.body,
            {
              timeoutMs: this.#options.attemptTimeoutMs ?? 10_000,
              allowPrivateTargets: this.#options.allowPrivateTargets,
              maxResponseBytes,
            },
          );
    await this.#settle(delivery, target.type, outcome);
  }

  /** Logs the attempt and decides what follows: done, a retry, or the endpoint disabled. */
  async #settle(
    delivery: Claimed,
    type: typeof webhookEvents.$inferSelect.type,
    outcome: SendOutcome,
  ): Promise<void> {
    const succeeded = outcome.status !== null && outcome.status >= 200 && outcome.status < 300;
    const gone = outcome.status === 410;
    const delay =
      succeeded || gone
        ? undefined
        : nextRetryDelayMs(delivery.attempts, this.#schedule, parseRetryAfter(outcome.retryAfter));
    const disableReason = succeeded
      ? undefined
      : gone
        ? 'the endpoint answered 410 Gone'
        : delay === undefined
          ? `every attempt of a delivery failed for more than 24 h (last: ${outcome.error ?? 'unknown'})`
          : undefined;
    const now = new Date();
    await this.#options.db.transaction(async (tx) => {
      await tx.insert(webhookAttempts).values({
        tenantId: delivery.tenantId,
        endpointId: delivery.endpointId,
        deliveryId: delivery.id,
        eventId: delivery.eventId,
        type,
        attempt: delivery.attempts,
        outcome: succeeded ? 'succeeded' : 'failed',
        responseStatus: outcome.status,
        error: outcome.error?.slice(0, 500) ?? null,
        durationMs: outcome.durationMs,
        at: now,
      });
      await tx
        .update(webhookDeliveries)
        .set(
          delay === undefined
            ? { state: succeeded ? 'succeeded' : 'failed', leaseUntil: null, updatedAt: now }
            : {
                state: 'pending',
                leaseUntil: null,
                nextAttemptAt: new Date(now.getTime() + delay),
                updatedAt: now,
              },
        )
        .where(
          and(
            eq(webhookDeliveries.id, delivery.id),
            eq(webhookDeliveries.attempts, delivery.attempts),
            eq(webhookDeliveries.state, 'sending'),
          ),
        );
      if (disableReason) await disableEndpoint(tx, delivery, disableReason);
    });
  }
}

/** Disables an endpoint once (audited, so the tenant can see it in the log and on the endpoint). */
async function disableEndpoint(
  tx: Database,
  ref: { tenantId: string; endpointId: string },
  reason: string,
): Promise<void> {
  const [disabled] = await tx
    .update(webhookEndpoints)
    .set({ disabledAt: new Date(), disabledReason: reason, updatedAt: new Date() })
    .where(and(eq(webhookEndpoints.id, ref.endpointId), isNull(webhookEndpoints.disabledAt)))
    .returning({ id: webhookEndpoints.id, url: webhookEndpoints.url });
  if (!disabled) return;
  await appendAudit(tx, {
    tenantId: ref.tenantId,
    actor: 'system:webhooks',
    action: 'webhook.disable',
    target: disabled.id,
    details: { url: disabled.url, reason },
  });
}
