import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { and, eq, inArray } from 'drizzle-orm';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  webhookAttempts,
  webhookDeliveries,
  webhookEndpoints,
  webhookEvents,
} from '../../server/db/index.js';
import { openViolation, transitionSession } from '../../server/proctoring/index.js';
import {
  createWebhook,
  purgeFinishedEvents,
  recordWebhookEvent,
  SecretBox,
} from '../../server/webhooks/index.js';
import { backends, type Backend } from '../support/backends.js';
import { recordViolation, seedSession, startTestApp, type TestApp } from '../support/app.js';

/** What the consumer received: the raw body and the headers, as a real receiver sees them. */
interface Receipt {
  path: string;
  headers: Record<string, string>;
  body: string;
  at: number;
}

type Answer = { status: number; headers?: Record<string, string>; body?: string; hang?: boolean };

/** A webhook consumer on loopback: each path answers as its test tells it to. */
async function startConsumer() {
  const receipts: Receipt[] = [];
  const answers = new Map<string, (count: number) => Answer>();
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const receipt: Receipt = {
        path: request.url ?? '',
        headers: Object.fromEntries(
          Object.entries(request.headers).map(([name, value]) => [name, String(value)]),
        ),
        body: Buffer.concat(chunks).toString('utf8'),
        at: performance.now(),
      };
      receipts.push(receipt);
      const count = receipts.filter((item) => item.path === receipt.path).length;
      const answer = answers.get(receipt.path)?.(count) ?? { status: 200 };
      if (answer.hang) return; // never answers: the attempt's timeout must end it
      response.writeHead(answer.status, answer.headers).end(answer.body ?? 'ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    receipts,
    /** A fresh path on this consumer, answering with `answer` (default 200). */
    hook(answer?: (count: number) => Answer) {
      const hookPath = `/hook/${randomUUID()}`;
      if (answer) answers.set(hookPath, answer);
      return { url: `${base}${hookPath}`, received: () => receipts.filter((item) => item.path === hookPath) };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
type Consumer = Awaited<ReturnType<typeof startConsumer>>;

async function waitFor<T>(probe: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const expectError = (response: { status: number; body: any }, status: number, code: string) => {
  expect(response.status).toBe(status);
  expect(response.body).toEqual({ error: { code, message: expect.any(String) } });
};

const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
};

/** Tenants this file made: their endpoints go at the end, so no later run retries into a dead port. */
const tenantsMade: string[] = [];
async function newTenant(app: TestApp) {
  const tenant = await app.createTenant();
  tenantsMade.push(tenant.tenantId);
  return tenant;
}
async function closeApp(app: TestApp | undefined) {
  if (!app) return;
  if (tenantsMade.length > 0) {
    await app.app.context.db.delete(webhookEndpoints).where(inArray(webhookEndpoints.tenantId, tenantsMade));
  }
  await app.close();
}

/** Short retries, so the retry, Retry-After and give-up paths run in seconds. */
const testSchedule = [300, 300];
const allowPrivate = { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' };

describe.each(backends())('webhooks on $name', (backend: Backend) => {
  let test: TestApp;
  let consumer: Consumer;
  let key: string;
  let tenantId: string;

  beforeAll(async () => {
    consumer = await startConsumer();
    test = await startTestApp(backend, allowPrivate, {
      webhooks: { retryScheduleMs: testSchedule, pollIntervalMs: 100, attemptTimeoutMs: 1500 },
    });
    ({ apiKey: key, tenantId } = await newTenant(test));
  });
  afterAll(async () => {
    await closeApp(test);
    await consumer?.close();
  });

  const register = async (url: string, body: Record<string, unknown> = {}, apiKey = key) => {
    const created = await test.request<any>('POST', '/api/v1/webhooks', {
      key: apiKey,
      body: { url, ...body },
    });
    expect(created.status).toBe(201);
    return created.body as { id: string; secret: string; url: string; events: string[] };
  };

  /** A session moved to in_progress, as the verification gate does it. */
  const runningSession = async (apiKey = key, tenant = tenantId) => {
    const seeded = await seedSession(test, apiKey);
    await transitionSession(
      test.app.context.db,
      test.app.context.events,
      { tenantId: tenant, sessionId: seeded.id, actor: 'test', reason: 'verified' },
      'in_progress',
    );
    return seeded;
  };

  it('delivers every event type signed so that standardwebhooks verifies it, with ids and REST objects', async () => {
    const hook = consumer.hook();
    const endpoint = await register(hook.url, { description: 'all events' });
    expect(endpoint.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(endpoint.events).toEqual([]);

    const seeded = await runningSession();
    const action = (name: string) =>
      test.request('POST', `/api/v1/sessions/${seeded.id}/actions`, { key, body: { action: name } });
    expect((await action('pause')).status).toBe(200);
    expect((await action('resume')).status).toBe(200);
    expect((await action('flag')).status).toBe(200);
    const { violation } = await recordViolation(
      test,
      { tenantId, examId: seeded.examId, id: seeded.id },
      { snapshots: [randomBytes(64)] },
    );
    expect((await action('terminate')).status).toBe(200);

    const expected = [
      'session.started',
      'session.paused',
      'session.resumed',
      'session.flagged',
      'violation.opened',
      'violation.closed',
      'session.terminated',
    ];
    const receipts = await waitFor(() => hook.received().length >= expected.length && hook.received());
    const verifier = new Webhook(endpoint.secret);
    const events = receipts.map((receipt) => {
      expect(receipt.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
      expect(receipt.headers['webhook-id']).toMatch(/^msg_[0-9a-f]{32}$/);
      return verifier.verify(receipt.body, receipt.headers) as any;
    });
    expect(events.map((event) => event.type).sort()).toEqual([...expected].sort());
    expect(new Set(receipts.map((receipt) => receipt.headers['webhook-id'])).size).toBe(expected.length);
    const candidate = await test.request<any>('GET', `/api/v1/candidates/${seeded.candidateId}`, { key });
    for (const event of events) {
      expect(Date.parse(event.timestamp)).not.toBeNaN();
      expect(event.data).toMatchObject({
        sessionId: seeded.id,
        examId: seeded.examId,
        candidateId: seeded.candidateId,
        externalId: candidate.body.externalId,
      });
    }
    const byType = new Map(events.map((event) => [event.type as string, event.data]));
    expect(byType.get('violation.opened').violation).toEqual(violation);
    const violations = await test.request<any[]>('GET', `/api/v1/sessions/${seeded.id}/violations`, { key });
    expect(byType.get('violation.closed').violation).toEqual(violations.body[0]);
    const session = await test.request<any>('GET', `/api/v1/sessions/${seeded.id}`, { key });
    expect(byType.get('session.terminated').session).toEqual(session.body);
    expect(byType.get('session.paused').session.status).toBe('paused');
    expect(byType.get('session.flagged').session.flagged).toBe(true);

    // A tampered body or a foreign secret does not verify: the signature really covers them.
    const [first] = receipts;
    expect(() => verifier.verify(`${first!.body} `, first!.headers)).toThrow();
    expect(() =>
      new Webhook(`whsec_${randomBytes(32).toString('base64')}`).verify(first!.body, first!.headers),
    ).toThrow();

    const log = await test.request<any[]>('GET', `/api/v1/webhooks/${endpoint.id}/deliveries`, { key });
    expect(log.status).toBe(200);
    expect(log.body).toHaveLength(expected.length);
    expect(log.body[0]).toEqual({
      id: expect.any(String),
      webhookId: endpoint.id,
      eventId: expect.stringMatching(/^msg_/),
      type: expect.any(String),
      attempt: 1,
      status: 'succeeded',
      responseStatus: 200,
      error: null,
      durationMs: expect.any(Number),
      at: expect.any(String),
    });
    await test.request('DELETE', `/api/v1/webhooks/${endpoint.id}`, { key });
  });

  it('sends only the subscribed types, and the secret never again after creation', async () => {
    const hook = consumer.hook();
    const endpoint = await register(hook.url, { events: ['session.completed'] });
    const listed = await test.request<any[]>('GET', '/api/v1/webhooks', { key });
    const shown = await test.request<any>('GET', `/api/v1/webhooks/${endpoint.id}`, { key });
    expect(JSON.stringify([listed.body, shown.body])).not.toContain(endpoint.secret.slice(6));
    expect(shown.body).toMatchObject({ id: endpoint.id, events: ['session.completed'], enabled: true });

    const seeded = await runningSession();
    await test.request('POST', `/api/v1/sessions/${seeded.id}/actions`, { key, body: { action: 'pause' } });
    await test.request('POST', `/api/v1/sessions/${seeded.id}/actions`, {
      key,
      body: { action: 'complete' },
    });
    const [receipt] = await waitFor(() => hook.received().length >= 1 && hook.received());
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(hook.received()).toHaveLength(1);
    expect(JSON.parse(receipt!.body).type).toBe('session.completed');
    await test.request('DELETE', `/api/v1/webhooks/${endpoint.id}`, { key });
  });

  it('retries a 500 with the same webhook-id, logs both attempts newest first, and honours Retry-After', async () => {
    const hook = consumer.hook((count) => (count === 1 ? { status: 500 } : { status: 204 }));
    const endpoint = await register(hook.url, { events: ['session.flagged'] });
    const seeded = await seedSession(test, key);
    await test.request('POST', `/api/v1/sessions/${seeded.id}/actions`, { key, body: { action: 'flag' } });
    const [first, second] = await waitFor(() => hook.received().length >= 2 && hook.received());
    expect(second!.headers['webhook-id']).toBe(first!.headers['webhook-id']);
    const verifier = new Webhook(endpoint.secret);
    expect(verifier.verify(first!.body, first!.headers)).toEqual(
      verifier.verify(second!.body, second!.headers),
    );
    const attempts = await pollDeliveries(endpoint.id, 2);
    expect(attempts.map((entry) => [entry.attempt, entry.status, entry.responseStatus])).toEqual([
      [2, 'succeeded', 204],
      [1, 'failed', 500],
    ]);
    expect(attempts[1].error).toBe('HTTP 500');

    // Retry-After: 2 outweighs the 300 ms schedule.
    const slow = consumer.hook((count) =>
      count === 1 ? { status: 503, headers: { 'retry-after': '2' } } : { status: 200 },
    );
    await register(slow.url, { events: ['session.flagged'] });
    const other = await seedSession(test, key);
    await test.request('POST', `/api/v1/sessions/${other.id}/actions`, { key, body: { action: 'flag' } });
    const [busy, retried] = await waitFor(() => slow.received().length >= 2 && slow.received(), 10_000);
    expect(retried!.at - busy!.at).toBeGreaterThanOrEqual(1900);
    expect(retried!.headers['webhook-id']).toBe(busy!.headers['webhook-id']);
  });

  async function pollDeliveries(webhookId: string, count: number, apiKey = key): Promise<any[]> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const log = await test.request<any[]>('GET', `/api/v1/webhooks/${webhookId}/deliveries`, {
        key: apiKey,
      });
      if (log.body.length >= count || Date.now() > deadline) return log.body;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  it('disables an endpoint that answers 410, says why, audits it and stops sending to it', async () => {
    const hook = consumer.hook(() => ({ status: 410 }));
    const endpoint = await register(hook.url, { events: ['session.flagged'] });
    const seeded = await seedSession(test, key);
    await test.request('POST', `/api/v1/sessions/${seeded.id}/actions`, { key, body: { action: 'flag' } });
    await pollDeliveries(endpoint.id, 1);
    const disabled = await test.request<any>('GET', `/api/v1/webhooks/${endpoint.id}`, { key });
    expect(disabled.body).toMatchObject({ enabled: false, disabledReason: expect.stringContaining('410') });
    expect(Date.parse(disabled.body.disabledAt)).not.toBeNaN();
    const audit = await test.request<any[]>('GET', '/api/v1/audit?limit=1000', { key });
    expect(
      audit.body.find((entry) => entry.action === 'webhook.disable' && entry.target === endpoint.id),
    ).toMatchObject({
      actor: 'system:webhooks',
    });
    // No new delivery for a disabled endpoint; replaying is refused until it is enabled again.
    const again = await seedSession(test, key);
    await test.request('POST', `/api/v1/sessions/${again.id}/actions`, { key, body: { action: 'flag' } });
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(hook.received()).toHaveLength(1);
    const [logged] = await pollDeliveries(endpoint.id, 1);
    expectError(
      await test.request('POST', `/api/v1/webhooks/${endpoint.id}/deliveries/${logged.id}/replay`, { key }),
      409,
      'invalid_state',
    );
  });

  it('disables an endpoint whose every attempt failed through the schedule', async () => {
    const hook = consumer.hook(() => ({ status: 500 }));
    const endpoint = await register(hook.url, { events: ['session.flagged'] });
    const seeded = await seedSession(test, key);
    await test.request('POST', `/api/v1/sessions/${seeded.id}/actions`, { key, body: { action: 'flag' } });
    const attempts = await pollDeliveries(endpoint.id, testSchedule.length + 1);
    expect(attempts.map((entry) => entry.attempt)).toEqual([3, 2, 1]);
    const shown = await test.request<any>('GET', `/api/v1/webhooks/${endpoint.id}`, { key });
    expect(shown.body).toMatchObject({
      enabled: false,
      disabledReason: expect.stringMatching(/24 h.*HTTP 500/),
    });
    // Enabling it again (the integrator fixed the receiver) and replaying the failed delivery.
    const enabled = await test.request<any>('POST', `/api/v1/webhooks/${endpoint.id}/enable`, { key });
    expect(enabled.body).toMatchObject({ enabled: true, disabledReason: null });
  });

  it('cuts short an attempt that hangs, does not follow redirects, and reads little of a huge answer', async () => {
    const hanging = consumer.hook(() => ({ status: 200, hang: true }));
    const elsewhere = consumer.hook();
    const redirecting = consumer.hook(() => ({ status: 302, headers: { location: elsewhere.url } }));
    const flooding = consumer.hook(() => ({ status: 200, body: 'x'.repeat(8 * 1024 * 1024) }));
    const endpoints = {
      hanging: await register(hanging.url, { events: ['session.flagged'] }),
      redirecting: await register(redirecting.url, { events: ['session.flagged'] }),
      flooding: await register(flooding.url, { events: ['session.flagged'] }),
    };
    const seeded = await seedSession(test, key);
    await test.request('POST', `/api/v1/sessions/${seeded.id}/actions`, { key, body: { action: 'flag' } });
    const [timedOut] = await pollDeliveries(endpoints.hanging.id, 1);
    expect(timedOut).toMatchObject({
      status: 'failed',
      responseStatus: null,
      error: 'timed out after 1500 ms',
    });
    expect(timedOut.durationMs).toBeLessThan(3000);
    const [redirected] = await pollDeliveries(endpoints.redirecting.id, 1);
    expect(redirected).toMatchObject({ status: 'failed', responseStatus: 302, error: 'HTTP 302' });
    const [flooded] = await pollDeliveries(endpoints.flooding.id, 1);
    expect(flooded).toMatchObject({ status: 'succeeded', responseStatus: 200 });
    expect(elsewhere.received()).toHaveLength(0);
    for (const endpoint of Object.values(endpoints)) {
      await test.request('DELETE', `/api/v1/webhooks/${endpoint.id}`, { key });
    }
  });

  it('purges finished events after their retention, never one still owed', async () => {
    // A tenant of its own: no other endpoint owes these events anything.
    const own = await newTenant(test);
    const hook = consumer.hook();
    const endpoint = await register(hook.url, { events: ['session.flagged'] }, own.apiKey);
    const seeded = await seedSession(test, own.apiKey);
    await test.request('POST', `/api/v1/sessions/${seeded.id}/actions`, {
      key: own.apiKey,
      body: { action: 'flag' },
    });
    const [done] = await pollDeliveries(endpoint.id, 1, own.apiKey);
    const { db } = test.app.context;
    const owed = await db.transaction(async (tx) => {
      await recordWebhookEvent(tx, {
        tenantId: own.tenantId,
        sessionId: seeded.id,
        type: 'session.flagged',
        object: () => Promise.resolve({}),
      });
      const [waiting] = await tx
        .update(webhookDeliveries)
        .set({ nextAttemptAt: new Date(Date.now() + 3_600_000) })
        .where(and(eq(webhookDeliveries.endpointId, endpoint.id), eq(webhookDeliveries.state, 'pending')))
        .returning();
      return waiting!;
    });
    const longAgo = new Date(Date.now() - 40 * 86_400_000);
    await db
      .update(webhookEvents)
      .set({ createdAt: longAgo })
      .where(inArray(webhookEvents.id, [done.eventId, owed.eventId]));
    expect(await purgeFinishedEvents(db, new Date(Date.now() - 30 * 86_400_000))).toBeGreaterThanOrEqual(1);
    const left = await db
      .select({ id: webhookEvents.id })
      .from(webhookEvents)
      .where(inArray(webhookEvents.id, [done.eventId, owed.eventId]));
    expect(left).toEqual([{ id: owed.eventId }]);
    const log = await test.request<any[]>('GET', `/api/v1/webhooks/${endpoint.id}/deliveries`, {
      key: own.apiKey,
    });
    expect(log.body).toEqual([]);
  });

  it('replays a logged delivery with the same webhook-id (202)', async () => {
    const hook = consumer.hook();
    const endpoint = await register(hook.url, { events: ['session.flagged'] });
    const seeded = await seedSession(test, key);
    await test.request('POST', `/api/v1/sessions/${seeded.id}/actions`, { key, body: { action: 'flag' } });
    const [logged] = await pollDeliveries(endpoint.id, 1);
    const replay = await test.request<any>(
      'POST',
      `/api/v1/webhooks/${endpoint.id}/deliveries/${logged.id}/replay`,
      { key },
    );
    expect(replay.status).toBe(202);
    const [first, again] = await waitFor(() => hook.received().length >= 2 && hook.received());
    expect(again!.headers['webhook-id']).toBe(first!.headers['webhook-id']);
    const attempts = await pollDeliveries(endpoint.id, 2);
    expect(attempts[0]).toMatchObject({ attempt: 2, status: 'succeeded', eventId: logged.eventId });
  });

  it('rotates the secret: for 24 h both the old and the new one sign', async () => {
    const hook = consumer.hook();
    const endpoint = await register(hook.url, { events: ['session.flagged'] });
    const rotated = await test.request<any>('POST', `/api/v1/webhooks/${endpoint.id}/rotate-secret`, { key });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(endpoint.secret);
    const expiresIn = Date.parse(rotated.body.previousSecretExpiresAt) - Date.now();
    expect(expiresIn).toBeGreaterThan(23.9 * 3_600_000);
    expect(expiresIn).toBeLessThanOrEqual(24 * 3_600_000);
    const seeded = await seedSession(test, key);
    await test.request('POST', `/api/v1/sessions/${seeded.id}/actions`, { key, body: { action: 'flag' } });
    const [receipt] = await waitFor(() => hook.received().length >= 1 && hook.received());
    expect(receipt!.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(new Webhook(rotated.body.secret).verify(receipt!.body, receipt!.headers)).toMatchObject({
      type: 'session.flagged',
    });
    expect(new Webhook(endpoint.secret).verify(receipt!.body, receipt!.headers)).toMatchObject({
      type: 'session.flagged',
    });
  });

  it('answers bad input and other tenants with the contract error shape', async () => {
    const post = (body: unknown, apiKey = key) =>
      test.request('POST', '/api/v1/webhooks', { key: apiKey, body });
    expectError(await post({ url: 'not a url' }), 400, 'invalid_input');
    expectError(await post({ url: 'ftp://example.com/hook' }), 400, 'invalid_input');
    expectError(await post({}), 400, 'invalid_input');
    expectError(await post({ url: consumer.hook().url, events: ['session.exploded'] }), 400, 'invalid_input');
    expectError(await post({ url: consumer.hook().url, secret: 'mine' }), 400, 'invalid_input');
    expectError(await post({ url: 'http://user:pw@127.0.0.1:1/hook' }), 400, 'invalid_input');
    expectError(await post({ url: 'http://no-such-host.invalid/hook' }), 400, 'invalid_input');
    expectError(
      await test.request('POST', '/api/v1/webhooks', { body: { url: consumer.hook().url } }),
      401,
      'unauthorized',
    );

    const mine = await register(consumer.hook().url);
    const stranger = await newTenant(test);
    for (const [method, route] of [
      ['GET', `/api/v1/webhooks/${mine.id}`],
      ['DELETE', `/api/v1/webhooks/${mine.id}`],
      ['POST', `/api/v1/webhooks/${mine.id}/rotate-secret`],
      ['POST', `/api/v1/webhooks/${mine.id}/enable`],
      ['GET', `/api/v1/webhooks/${mine.id}/deliveries`],
      ['POST', `/api/v1/webhooks/${mine.id}/deliveries/${randomUUID()}/replay`],
    ] as const) {
      expectError(await test.request(method, route, { key: stranger.apiKey }), 404, 'not_found');
    }
    expect((await test.request<any[]>('GET', '/api/v1/webhooks', { key: stranger.apiKey })).body).toEqual([]);
    // A malformed id names no object: 404, as everywhere in the API.
    expectError(await test.request('GET', '/api/v1/webhooks/not-a-uuid', { key }), 404, 'not_found');
    expectError(
      await test.request('POST', `/api/v1/webhooks/${mine.id}/deliveries/${randomUUID()}/replay`, { key }),
      404,
      'not_found',
    );
    expectError(
      await test.request('GET', `/api/v1/webhooks/${mine.id}/deliveries?limit=0`, { key }),
      400,
      'invalid_input',
    );
    // The other tenant's events never reach this tenant's endpoint.
    const strangerHook = consumer.hook();
    await register(strangerHook.url, { events: ['session.flagged'] }, stranger.apiKey);
    const seeded = await seedSession(test, key);
    await test.request('POST', `/api/v1/sessions/${seeded.id}/actions`, { key, body: { action: 'flag' } });
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(strangerHook.received()).toHaveLength(0);
    expect((await test.request('DELETE', `/api/v1/webhooks/${mine.id}`, { key })).status).toBe(204);
    expectError(await test.request('GET', `/api/v1/webhooks/${mine.id}`, { key }), 404, 'not_found');
  });

  it('documents the webhook routes with their answers in the OpenAPI document', async () => {
    const doc = await test.request<any>('GET', '/api/v1/openapi.json');
    expect(doc.status).toBe(200);
    const paths = doc.body.paths;
    expect(Object.keys(paths['/api/v1/webhooks'])).toEqual(expect.arrayContaining(['get', 'post']));
    expect(paths['/api/v1/webhooks'].post.responses['201']).toBeDefined();
    expect(paths['/api/v1/webhooks/{id}/deliveries'].get.responses['200']).toBeDefined();
    expect(paths['/api/v1/webhooks/{id}/deliveries/{deliveryId}/replay'].post.responses['202']).toBeDefined();
  });

  it('measures delivery latency on loopback (event committed → consumer receipt)', async () => {
    const hook = consumer.hook();
    await register(hook.url, { events: ['violation.opened'] });
    const seeded = await runningSession();
    const latencies: number[] = [];
    for (let index = 0; index < 30; index += 1) {
      await openViolation(test.app.context.db, test.app.context.events, {
        tenantId,
        examId: seeded.examId,
        sessionId: seeded.id,
        type: 'tab_hidden',
        source: 'client',
        confidence: 1,
      });
      const committed = performance.now();
      const receipt = await waitFor(() => hook.received()[index]);
      latencies.push(receipt.at - committed);
    }
    const p50 = quantile(latencies, 0.5);
    const p95 = quantile(latencies, 0.95);
    console.log(
      `webhook delivery latency on ${backend.name}: p50 ${p50.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms (n=30)`,
    );
    expect(p95).toBeLessThan(1000);
  });
});

describe.each(backends())('webhook durability and SSRF on $name', (backend: Backend) => {
  let consumer: Consumer;
  beforeAll(async () => {
    consumer = await startConsumer();
  });
  afterAll(() => consumer?.close());

  it('loses nothing across a restart between attempts, nor an attempt cut off by a crash', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-webhooks-'));
    const env = { ...allowPrivate, DATA_DIR: dataDir, JWT_SECRET: randomBytes(32).toString('hex') };
    const options = { webhooks: { retryScheduleMs: [1500], pollIntervalMs: 100 } };
    let available = false;
    const hook = consumer.hook(() => ({ status: available ? 200 : 500 }));
    const before = await startTestApp(backend, env, options);
    let after: TestApp | undefined;
    let closedBefore = false;
    try {
      const { apiKey, tenantId } = await newTenant(before);
      const created = await before.request<any>('POST', '/api/v1/webhooks', {
        key: apiKey,
        body: { url: hook.url, events: ['session.flagged'] },
      });
      const seeded = await seedSession(before, apiKey);
      await before.request('POST', `/api/v1/sessions/${seeded.id}/actions`, {
        key: apiKey,
        body: { action: 'flag' },
      });
      await waitFor(() => hook.received().length >= 1);
      // A second event whose first attempt was claimed by a node that then died mid-send: the row
      // is left `sending` under a lease (PGlite: any length, nobody else can hold it; PostgreSQL:
      // about to expire), and its attempt was never logged.
      const crashed = await before.app.context.db.transaction(async (tx) => {
        await recordWebhookEvent(tx, {
          tenantId,
          sessionId: seeded.id,
          type: 'session.flagged',
          object: () => Promise.resolve({}),
        });
        const [claimed] = await tx
          .update(webhookDeliveries)
          .set({
            state: 'sending',
            attempts: 1,
            leaseUntil: new Date(Date.now() + (backend.name === 'pglite' ? 3_600_000 : 2000)),
          })
          .where(and(eq(webhookDeliveries.tenantId, tenantId), eq(webhookDeliveries.attempts, 0)))
          .returning();
        return claimed!;
      });
      await before.close();
      closedBefore = true;
      available = true;
      after = await startTestApp(backend, env, options);
      await waitFor(() => hook.received().length >= 3, 15_000);
      const [failed, ...rest] = hook.received();
      const delivered = rest.find(
        (receipt) => receipt.headers['webhook-id'] === failed!.headers['webhook-id'],
      );
      const resumed = rest.find((receipt) => receipt.headers['webhook-id'] === crashed.eventId);
      expect(delivered).toBeDefined();
      expect(resumed).toBeDefined();
      expect(hook.received()).toHaveLength(3);
      expect(new Webhook(created.body.secret).verify(delivered!.body, delivered!.headers)).toMatchObject({
        type: 'session.flagged',
        data: { sessionId: seeded.id },
      });
      let log: any[] = [];
      for (const deadline = Date.now() + 5000; log.length < 3 && Date.now() < deadline;) {
        log = (
          await after.request<any[]>('GET', `/api/v1/webhooks/${created.body.id}/deliveries`, { key: apiKey })
        ).body;
      }
      const attemptsOf = (eventId: string | undefined) =>
        log.filter((entry) => entry.eventId === eventId).map((entry) => [entry.attempt, entry.status]);
      expect(attemptsOf(failed!.headers['webhook-id'])).toEqual([
        [2, 'succeeded'],
        [1, 'failed'],
      ]);
      // The cut-off attempt 1 is never sent again under its number: the resumed one is attempt 2.
      expect(attemptsOf(crashed.eventId)).toEqual([[2, 'succeeded']]);
    } finally {
      if (!closedBefore) await before.close();
      await closeApp(after);
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses loopback, private, link-local and metadata targets without the override', async () => {
    const guarded = await startTestApp(backend);
    try {
      const { apiKey, tenantId } = await newTenant(guarded);
      for (const url of [
        'http://127.0.0.1:8080/hook',
        'http://10.0.0.1/hook',
        'http://169.254.169.254/latest/meta-data/',
        'http://localhost:8080/hook',
        'http://[::1]/hook',
        'http://[::ffff:127.0.0.1]/hook',
        'http://192.168.1.10/hook',
        'http://0.0.0.0/hook',
      ]) {
        const refused = await guarded.request<any>('POST', '/api/v1/webhooks', {
          key: apiKey,
          body: { url },
        });
        expectError(refused, 400, 'invalid_input');
        expect(refused.body.error.message).toMatch(/refused/);
      }
      // A target that was let in (say its DNS changed since) is checked again at delivery time.
      const hook = consumer.hook();
      const { context } = guarded.app;
      const box = new SecretBox(context.config.jwt);
      const principal = { kind: 'apiKey' as const, tenantId, clientId: randomUUID(), name: 'test' };
      const endpoint = await createWebhook({ db: context.db, box, allowPrivateTargets: true }, principal, {
        url: hook.url,
        events: ['session.flagged'],
      });
      const seeded = await seedSession(guarded, apiKey);
      await guarded.request('POST', `/api/v1/sessions/${seeded.id}/actions`, {
        key: apiKey,
        body: { action: 'flag' },
      });
      const deadline = Date.now() + 10_000;
      let log: any[] = [];
      while (log.length === 0 && Date.now() < deadline) {
        log = (
          await guarded.request<any[]>('GET', `/api/v1/webhooks/${endpoint.id}/deliveries`, { key: apiKey })
        ).body;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(log[0]).toMatchObject({
        status: 'failed',
        responseStatus: null,
        error: expect.stringMatching(/refused.*127\.0\.0\.1/),
      });
      expect(hook.received()).toHaveLength(0);
      const [pending] = await context.db
        .select()
        .from(webhookDeliveries)
        .where(eq(webhookDeliveries.endpointId, endpoint.id));
      expect(pending).toMatchObject({ state: 'pending', attempts: 1 });
    } finally {
      await closeApp(guarded);
    }
  });

  if (backend.redisUrl) {
    it('two nodes on one PostgreSQL deliver each event exactly once; a node with another secret leaves them be', async () => {
      const options = { webhooks: { pollIntervalMs: 20 } };
      // Nodes of one deployment share the server secret that seals the signing secrets; the
      // third has its own (another deployment on the same database, or one mid secret change).
      const env = { ...allowPrivate, JWT_SECRET: randomBytes(32).toString('hex') };
      const [one, two, foreign] = await Promise.all([
        startTestApp(backend, env, options),
        startTestApp(backend, env, options),
        startTestApp(backend, allowPrivate, options),
      ]);
      try {
        const { apiKey, tenantId } = await newTenant(one);
        const hook = consumer.hook();
        await one.request('POST', '/api/v1/webhooks', {
          key: apiKey,
          body: { url: hook.url, events: ['violation.opened'] },
        });
        const seeded = await seedSession(one, apiKey);
        await transitionSession(
          one.app.context.db,
          one.app.context.events,
          { tenantId, sessionId: seeded.id, actor: 'test', reason: 'verified' },
          'in_progress',
        );
        const count = 40;
        await Promise.all(
          Array.from({ length: count }, (_, index) => {
            const node = index % 2 === 0 ? one : two;
            return openViolation(node.app.context.db, node.app.context.events, {
              tenantId,
              examId: seeded.examId,
              sessionId: seeded.id,
              type: 'tab_hidden',
              source: 'client',
              confidence: 1,
            });
          }),
        );
        await waitFor(() => hook.received().length >= count, 15_000);
        await new Promise((resolve) => setTimeout(resolve, 1000));
        const ids = hook.received().map((receipt) => receipt.headers['webhook-id']);
        expect(ids).toHaveLength(count);
        expect(new Set(ids).size).toBe(count);
        const attempts = await one.app.context.db
          .select({ attempt: webhookAttempts.attempt, outcome: webhookAttempts.outcome })
          .from(webhookAttempts)
          .where(eq(webhookAttempts.tenantId, tenantId));
        expect(attempts).toHaveLength(count);
        expect(attempts.every((entry) => entry.attempt === 1 && entry.outcome === 'succeeded')).toBe(true);
      } finally {
        await closeApp(one);
        await Promise.all([two.close(), foreign.close()]);
      }
    });
  }
});
