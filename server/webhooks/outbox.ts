import { randomUUID } from 'node:crypto';
import { and, eq, isNull, sql } from 'drizzle-orm';
import {
  candidates,
  sessions,
  webhookDeliveries,
  webhookEndpoints,
  webhookEvents,
  type Database,
  type WebhookEventType,
} from '../db/index.js';

export interface WebhookEventInput {
  tenantId: string;
  sessionId: string;
  type: WebhookEventType;
  /**
   * The announced object as the REST API shows it, under its name (`session`, `violation`,
   * `verification`). Built only when an endpoint of the tenant wants the event.
   */
  object: () => Promise<Record<string, unknown>>;
}

/**
 * The outbox write: call it inside the transaction of the change it announces, so the event
 * exists exactly when the change does. It stores the event once and one delivery per enabled
 * endpoint of the tenant subscribed to its type; the workers send them after commit. Costs one
 * indexed query when the tenant has no endpoint.
 */
export async function recordWebhookEvent(tx: Database, input: WebhookEventInput): Promise<void> {
  const endpoints = await tx
    .select({ id: webhookEndpoints.id })
    .from(webhookEndpoints)
    .where(
      and(
        eq(webhookEndpoints.tenantId, input.tenantId),
        isNull(webhookEndpoints.disabledAt),
        sql`(${webhookEndpoints.events} = '[]'::jsonb or ${webhookEndpoints.events} ? ${input.type})`,
      ),
    );
  if (endpoints.length === 0) return;
  const [ids] = await tx
    .select({
      sessionId: sessions.id,
      examId: sessions.examId,
      candidateId: sessions.candidateId,
      externalId: candidates.externalId,
    })
    .from(sessions)
    .innerJoin(candidates, eq(candidates.id, sessions.candidateId))
    .where(and(eq(sessions.id, input.sessionId), eq(sessions.tenantId, input.tenantId)));
  if (!ids) throw new Error(`webhook event for a session that is not there (${input.sessionId})`);
  const id = `msg_${randomUUID().replaceAll('-', '')}`;
  const body = JSON.stringify({
    type: input.type,
    timestamp: new Date().toISOString(),
    data: { ...ids, ...(await input.object()) },
  });
  await tx.insert(webhookEvents).values({ id, tenantId: input.tenantId, type: input.type, body });
  await tx
    .insert(webhookDeliveries)
    .values(
      endpoints.map((endpoint) => ({ tenantId: input.tenantId, endpointId: endpoint.id, eventId: id })),
    );
}
