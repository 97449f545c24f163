import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ServiceContext } from '../../app/context.js';
import { webhookEventTypes } from '../../db/index.js';
import {
  createWebhook,
  deleteWebhook,
  enableWebhook,
  getWebhook,
  listDeliveries,
  listWebhooks,
  replayDelivery,
  rotateWebhookSecret,
  SecretBox,
  type WebhookServices,
} from '../../webhooks/index.js';
import { principalOf } from '../request.js';
import { idParams } from '../schemas.js';

const createWebhookBody = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'url must be an http(s) URL' }).max(2000),
  events: z
    .array(z.enum(webhookEventTypes, { error: `events must be among ${webhookEventTypes.join(', ')}` }))
    .max(webhookEventTypes.length * 2)
    .optional(),
  description: z
    .string()
    .trim()
    .max(500)
    .refine((value) => !/[^\P{Cc}\t\n\r]/u.test(value), 'must not contain control characters')
    .optional(),
});

const deliveryParams = z.strictObject({
  id: z.uuid({ error: 'id must be a UUID' }),
  deliveryId: z.uuid({ error: 'deliveryId must be a UUID' }),
});

const webhookSchema = z.object({
  id: z.uuid(),
  url: z.string(),
  events: z.array(z.enum(webhookEventTypes)).describe('subscribed types; empty: every type'),
  description: z.string().nullable(),
  enabled: z.boolean(),
  disabledAt: z.string().nullable(),
  disabledReason: z.string().nullable().describe('why the endpoint was disabled (410, or retries exhausted)'),
  previousSecretExpiresAt: z
    .string()
    .nullable()
    .describe('until when the secret before a rotation also signs'),
  createdAt: z.string(),
});
const createdWebhookSchema = webhookSchema.extend({
  secret: z.string().describe('whsec_…: shown in this answer only'),
});
const rotatedSecretSchema = z.object({ secret: z.string(), previousSecretExpiresAt: z.string().nullable() });
const deliverySchema = z.object({
  id: z.uuid().describe('this attempt; replay takes it'),
  webhookId: z.uuid(),
  eventId: z.string().describe('the webhook-id header'),
  type: z.enum(webhookEventTypes),
  attempt: z.number().int(),
  status: z.enum(['succeeded', 'failed']),
  responseStatus: z.number().int().nullable(),
  error: z.string().nullable(),
  durationMs: z.number().int(),
  at: z.string(),
});
const replaySchema = z.object({ deliveryId: z.uuid(), eventId: z.string() });

const deliveriesQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

/** CONTRACT.md "Webhooks": a tenant's endpoints, their secrets (shown once), log and replay. */
export const webhookRoutes =
  (context: ServiceContext): FastifyPluginAsyncZod =>
  async (app) => {
    const services: WebhookServices = {
      db: context.db,
      box: new SecretBox(context.config.jwt),
      allowPrivateTargets: context.config.webhooks.allowPrivateTargets,
    };
    const auth = { auth: ['apiKey', 'admin'] as const };

    app.post(
      '/webhooks',
      {
        config: auth,
        schema: { tags: ['webhooks'], body: createWebhookBody, response: { 201: createdWebhookSchema } },
      },
      async (request, reply) =>
        reply.code(201).send(await createWebhook(services, principalOf(request), request.body)),
    );

    app.get(
      '/webhooks',
      { config: auth, schema: { tags: ['webhooks'], response: { 200: z.array(webhookSchema) } } },
      async (request) => listWebhooks(context.db, principalOf(request)),
    );

    app.get(
      '/webhooks/:id',
      { config: auth, schema: { tags: ['webhooks'], params: idParams, response: { 200: webhookSchema } } },
      async (request) => getWebhook(context.db, principalOf(request), request.params.id),
    );

    app.delete(
      '/webhooks/:id',
      { config: auth, schema: { tags: ['webhooks'], params: idParams } },
      async (request, reply) => {
        await deleteWebhook(context.db, principalOf(request), request.params.id);
        return reply.code(204).send();
      },
    );

    app.post(
      '/webhooks/:id/rotate-secret',
      {
        config: auth,
        schema: { tags: ['webhooks'], params: idParams, response: { 200: rotatedSecretSchema } },
      },
      async (request) => rotateWebhookSecret(services, principalOf(request), request.params.id),
    );

    app.post(
      '/webhooks/:id/enable',
      { config: auth, schema: { tags: ['webhooks'], params: idParams, response: { 200: webhookSchema } } },
      async (request) => enableWebhook(services, principalOf(request), request.params.id),
    );

    app.get(
      '/webhooks/:id/deliveries',
      {
        config: auth,
        schema: {
          tags: ['webhooks'],
          params: idParams,
          querystring: deliveriesQuery,
          response: { 200: z.array(deliverySchema) },
        },
      },
      async (request) =>
        listDeliveries(context.db, principalOf(request), request.params.id, request.query.limit),
    );

    app.post(
      '/webhooks/:id/deliveries/:deliveryId/replay',
      {
        config: auth,
        schema: { tags: ['webhooks'], params: deliveryParams, response: { 202: replaySchema } },
      },
      async (request, reply) =>
        reply.code(202).send(
          await replayDelivery(context.db, principalOf(request), {
            webhookId: request.params.id,
            deliveryId: request.params.deliveryId,
          }),
        ),
    );
  };
