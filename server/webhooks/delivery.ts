import type { ServiceContext } from '../app/context.js';
import { runPeriodically } from '../shared/index.js';
import { purgeFinishedEvents, webhookEventRetentionDays } from './housekeeping.js';
import { SecretBox } from './secret-box.js';
import { WebhookWorker } from './worker.js';

export interface WebhookDeliveryOptions {
  /** Retry delays (ms) after each failed attempt; tests use short ones. */
  retryScheduleMs?: readonly number[];
  /** How often an idle worker looks for due deliveries from other nodes (default 1 s). */
  pollIntervalMs?: number;
  /** Per-attempt timeout (default 10 s; at most 15 s). */
  attemptTimeoutMs?: number;
}

/**
 * This node's delivery worker, woken by local changes that write to the outbox (they are
 * announced after commit, so the rows are visible by then). Absent where no key can open the
 * signing secrets (a node with only a JWT public key).
 */
export function startWebhookDelivery(
  context: ServiceContext,
  options: WebhookDeliveryOptions = {},
): { close(): Promise<void> } {
  const box = new SecretBox(context.config.jwt);
  if (!box.available) {
    context.logger.warn('webhook delivery is off on this node: no JWT_SECRET or JWT_PRIVATE_KEY');
    return { close: () => Promise.resolve() };
  }
  const logger = context.logger.child({ component: 'webhooks' });
  const worker = WebhookWorker.start({
    db: context.db,
    box,
    logger,
    allowPrivateTargets: context.config.webhooks.allowPrivateTargets,
    singleProcess: context.database.kind === 'pglite',
    retryScheduleMs: options.retryScheduleMs,
    pollIntervalMs: options.pollIntervalMs,
    attemptTimeoutMs: Math.min(options.attemptTimeoutMs ?? 10_000, 15_000),
  });
  const housekeeping = runPeriodically(
    async () => {
      const purged = await purgeFinishedEvents(
        context.db,
        new Date(Date.now() - webhookEventRetentionDays * 86_400_000),
      );
      if (purged > 0) logger.info({ purged }, 'old webhook events purged');
    },
    { intervalMs: 3_600_000, firstDelayMs: 60_000, logger, what: 'webhook event purge' },
  );
  const nudge = () => worker.nudge();
  const announced = ['session:status', 'violation:opened', 'violation:closed'] as const;
  for (const event of announced) context.events.on(event, nudge);
  return {
    async close() {
      for (const event of announced) context.events.off(event, nudge);
      await housekeeping.stop();
      await worker.stop();
    },
  };
}
