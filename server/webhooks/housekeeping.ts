import { and, inArray, lt, notExists, eq } from 'drizzle-orm';
import { webhookDeliveries, webhookEvents, type Database } from '../db/index.js';

/** Finished events (every delivery succeeded or given up) are kept this long, with their log. */
export const webhookEventRetentionDays = 30;

/**
 * Deletes events older than `olderThan` that no delivery still waits for; their deliveries and
 * attempt log go with them (foreign-key cascade). Payloads carry candidate ids and violation
 * details, so they are not kept for ever. Safe on several nodes at once.
 */
export async function purgeFinishedEvents(db: Database, olderThan: Date): Promise<number> {
  const deleted = await db
    .delete(webhookEvents)
    .where(
      and(
        lt(webhookEvents.createdAt, olderThan),
        notExists(
          db
            .select({ id: webhookDeliveries.id })
            .from(webhookDeliveries)
            .where(
              and(
                eq(webhookDeliveries.eventId, webhookEvents.id),
                inArray(webhookDeliveries.state, ['pending', 'sending']),
              ),
            ),
        ),
      ),
    )
    .returning({ id: webhookEvents.id });
  return deleted.length;
}
