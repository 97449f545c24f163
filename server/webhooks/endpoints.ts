import { randomUUID } from 'node:crypto';
import { and, desc, eq, sql } from 'drizzle-orm';
import { appendAudit } from '../audit/index.js';
import { actorOf, type Principal } from '../auth/index.js';
import {
  webhookAttempts,
  webhookDeliveries,
  webhookEndpoints,
  type Database,
  type WebhookEventType,
} from '../db/index.js';
import { AppError, notFound } from '../shared/index.js';
import { generateSigningSecret, type SecretBox } from './secret-box.js';
import { hostOf, resolveTarget, TargetRefused } from './ssrf.js';

/** How long the secret before a rotation keeps signing beside the new one. */
export const rotationOverlapMs = 24 * 3_600_000;
/** Endpoints per tenant: enough for any integration, few enough that fan-out stays cheap. */
export const maxEndpointsPerTenant = 20;

type EndpointRow = typeof webhookEndpoints.$inferSelect;

export interface WebhookView {
  id: string;
  url: string;
  events: WebhookEventType[];
  description: string | null;
  enabled: boolean;
  disabledAt: string | null;
  disabledReason: string | null;
  previousSecretExpiresAt: string | null;
  createdAt: string;
}

export interface DeliveryView {
  id: string;
  webhookId: string;
  eventId: string;
  type: WebhookEventType;
  attempt: number;
  status: 'succeeded' | 'failed';
  responseStatus: number | null;
  error: string | null;
  durationMs: number;
  at: string;
}

export interface WebhookServices {
  db: Database;
  box: SecretBox;
  allowPrivateTargets: boolean;
}

const webhookView = (row: EndpointRow): WebhookView => ({
  id: row.id,
  url: row.url,
  events: row.events,
  description: row.description,
  enabled: row.disabledAt === null,
  disabledAt: row.disabledAt?.toISOString() ?? null,
  disabledReason: row.disabledReason,
  previousSecretExpiresAt:
    row.previousSecretExpiresAt && row.previousSecretExpiresAt > new Date()
      ? row.previousSecretExpiresAt.toISOString()
      : null,
  createdAt: row.createdAt.toISOString(),
});

/** Refuses (400) a target that is not http(s) or resolves to a loopback/private/link-local address. */
async function assertDeliverable(url: string, allowPrivateTargets: boolean): Promise<void> {
  const parsed = new URL(url);
  if (parsed.username || parsed.password) {
    throw new AppError('invalid_input', 'url must not carry credentials');
  }
  try {
    await resolveTarget(hostOf(parsed), allowPrivateTargets);
  } catch (error) {
    if (error instanceof TargetRefused) throw new AppError('invalid_input', `url refused: ${error.message}`);
    throw error;
  }
}

export async function createWebhook(
  services: WebhookServices,
  principal: Principal,
  input: { url: string; events?: WebhookEventType[] | undefined; description?: string | undefined },
): Promise<WebhookView & { secret: string }> {
  await assertDeliverable(input.url, services.allowPrivateTargets);
  const id = randomUUID();
  const secret = generateSigningSecret();
  const row = await services.db.transaction(async (tx) => {
    const [count] = await tx
      .select({ n: sql<number>`count(*)::int` })
      .from(webhookEndpoints)
      .where(eq(webhookEndpoints.tenantId, principal.tenantId));
    if ((count?.n ?? 0) >= maxEndpointsPerTenant) {
      throw new AppError('conflict', `a tenant has at most ${maxEndpointsPerTenant} webhook endpoints`);
    }
    const [inserted] = await tx
      .insert(webhookEndpoints)
      .values({
        id,
        tenantId: principal.tenantId,
        url: input.url,
        events: [...new Set(input.events ?? [])],
        description: input.description ?? null,
        secretCiphertext: services.box.seal(secret, id),
        keyId: services.box.keyId,
      })
      .returning();
    await appendAudit(tx, {
      tenantId: principal.tenantId,
      actor: actorOf(principal),
      action: 'webhook.create',
      target: id,
      details: { url: input.url, events: inserted!.events },
    });
    return inserted!;
  });
  return { ...webhookView(row), secret };
}

async function loadEndpoint(db: Database, principal: Principal, id: string): Promise<EndpointRow> {
  const [row] = await db
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.tenantId, principal.tenantId)));
  if (!row) throw notFound('webhook');
  return row;
}

export async function listWebhooks(db: Database, principal: Principal): Promise<WebhookView[]> {
  const rows = await db
    .select()
    .from(webhookEndpoints)
    .where(eq(webhookEndpoints.tenantId, principal.tenantId))
    .orderBy(desc(webhookEndpoints.createdAt));
  return rows.map(webhookView);
}

export async function getWebhook(db: Database, principal: Principal, id: string): Promise<WebhookView> {
  return webhookView(await loadEndpoint(db, principal, id));
}

/** Deletes the endpoint with its pending deliveries and log. */
export async function deleteWebhook(db: Database, principal: Principal, id: string): Promise<void> {
  await db.transaction(async (tx) => {
    const [deleted] = await tx
      .delete(webhookEndpoints)
      .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.tenantId, principal.tenantId)))
      .returning({ id: webhookEndpoints.id, url: webhookEndpoints.url });
    if (!deleted) throw notFound('webhook');
    await appendAudit(tx, {
      tenantId: principal.tenantId,
      actor: actorOf(principal),
      action: 'webhook.delete',
      target: id,
      details: { url: deleted.url },
    });
  });
}

/**
 * A new secret, shown once; the current one keeps signing beside it for 24 h so the integrator
 * can deploy the new one without dropping a delivery. An unreadable current secret (the server
 * secret changed) is simply replaced.
 */
export async function rotateWebhookSecret(
  services: WebhookServices,
  principal: Principal,
  id: string,
): Promise<{ secret: string; previousSecretExpiresAt: string | null }> {
  const secret = generateSigningSecret();
  return services.db.transaction(async (tx) => {
    const [row] = await tx
      .select()
      .from(webhookEndpoints)
      .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.tenantId, principal.tenantId)))
      .for('update');
    if (!row) throw notFound('webhook');
    const current = services.box.open(row.secretCiphertext, id);
    const expiresAt = current ? new Date(Date.now() + rotationOverlapMs) : null;
    await tx
      .update(webhookEndpoints)
      .set({
        secretCiphertext: services.box.seal(secret, id),
        keyId: services.box.keyId,
        previousSecretCiphertext: current ? row.secretCiphertext : null,
        previousSecretExpiresAt: expiresAt,
        updatedAt: new Date(),
      })
      .where(eq(webhookEndpoints.id, id));
    await appendAudit(tx, {
      tenantId: principal.tenantId,
      actor: actorOf(principal),
      action: 'webhook.rotate_secret',
      target: id,
      details: { previousSecretExpiresAt: expiresAt?.toISOString() ?? null },
    });
    return { secret, previousSecretExpiresAt: expiresAt?.toISOString() ?? null };
  });
}

/** Re-enables a disabled endpoint (after the integrator fixed it); deliveries left pending resume. */
export async function enableWebhook(
  services: WebhookServices,
  principal: Principal,
  id: string,
): Promise<WebhookView> {
  const row = await loadEndpoint(services.db, principal, id);
  await assertDeliverable(row.url, services.allowPrivateTargets);
  return services.db.transaction(async (tx) => {
    const [updated] = await tx
      .update(webhookEndpoints)
      .set({ disabledAt: null, disabledReason: null, updatedAt: new Date() })
      .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.tenantId, principal.tenantId)))
      .returning();
    if (!updated) throw notFound('webhook');
    await appendAudit(tx, {
      tenantId: principal.tenantId,
      actor: actorOf(principal),
      action: 'webhook.enable',
      target: id,
    });
    return webhookView(updated);
  });
}

export async function listDeliveries(
  db: Database,
  principal: Principal,
  id: string,
  limit: number,
): Promise<DeliveryView[]> {
  await loadEndpoint(db, principal, id);
  const rows = await db
    .select()
    .from(webhookAttempts)
    .where(and(eq(webhookAttempts.endpointId, id), eq(webhookAttempts.tenantId, principal.tenantId)))
    .orderBy(desc(webhookAttempts.at), desc(webhookAttempts.attempt))
    .limit(limit);
  return rows.map((row) => ({
    id: row.id,
    webhookId: row.endpointId,
    eventId: row.eventId,
    type: row.type,
    attempt: row.attempt,
    status: row.outcome,
    responseStatus: row.responseStatus,
    error: row.error,
    durationMs: row.durationMs,
    at: row.at.toISOString(),
  }));
}

/**
 * Sends the event of a logged attempt again, now, with the same `webhook-id` (a consumer that
 * deduplicates on it sees a replay of what it already has as such). 409 while the endpoint is
 * disabled; a delivery already waiting is simply made due.
 */
export async function replayDelivery(
  db: Database,
  principal: Principal,
  ref: { webhookId: string; deliveryId: string },
): Promise<{ deliveryId: string; eventId: string }> {
  const endpoint = await loadEndpoint(db, principal, ref.webhookId);
  if (endpoint.disabledAt) {
    throw new AppError('invalid_state', 'the webhook is disabled; enable it before replaying');
  }
  return db.transaction(async (tx) => {
    const [attempt] = await tx
      .select({ deliveryId: webhookAttempts.deliveryId, eventId: webhookAttempts.eventId })
      .from(webhookAttempts)
      .where(
        and(
          eq(webhookAttempts.id, ref.deliveryId),
          eq(webhookAttempts.endpointId, endpoint.id),
          eq(webhookAttempts.tenantId, principal.tenantId),
        ),
      );
    if (!attempt) throw notFound('delivery');
    await tx
      .update(webhookDeliveries)
      .set({ state: 'pending', nextAttemptAt: new Date(), updatedAt: new Date() })
      .where(
        and(
          eq(webhookDeliveries.id, attempt.deliveryId),
          sql`${webhookDeliveries.state} in ('pending', 'succeeded', 'failed')`,
        ),
      );
    await appendAudit(tx, {
      tenantId: principal.tenantId,
      actor: actorOf(principal),
      action: 'webhook.replay',
      target: endpoint.id,
      details: { eventId: attempt.eventId },
    });
    return attempt;
  });
}
