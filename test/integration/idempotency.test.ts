import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idempotencyKeys } from '../../server/db/index.js';
import { backends } from '../support/backends.js';
import { startTestApp, type TestApp } from '../support/app.js';

describe.each(backends())('Idempotency-Key on $name', (backend) => {
  let test: TestApp;
  let tenant: { apiKey: string; tenantId: string };
  let other: { apiKey: string; tenantId: string };

  const createExam = (key: string, idempotencyKey: string, title = 'Idempotent exam') =>
    test.request<any>('POST', '/api/v1/exams', {
      key,
      headers: { 'idempotency-key': idempotencyKey },
      body: { title, durationMinutes: 30 },
    });
  const examTitles = async (key: string) => {
    const listed = await test.request<any[]>('GET', '/api/v1/exams?limit=500', { key });
    return listed.body.map((exam) => exam.title as string);
  };

  beforeAll(async () => {
    test = await startTestApp(backend);
    tenant = await test.createTenant();
    other = await test.createTenant();
  });
  afterAll(() => test?.close());

  it('replays the first response for the same key and body, and runs the request once', async () => {
    const key = randomUUID();
    const title = `replay-${key}`;
    const first = await createExam(tenant.apiKey, key, title);
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const again = await createExam(tenant.apiKey, key, title);
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.headers.get('content-type')).toContain('application/json');
    expect(again.body).toEqual(first.body);
    expect((await examTitles(tenant.apiKey)).filter((t) => t === title)).toHaveLength(1);
    // Without the header every POST is a new object.
    const plain = await test.request<any>('POST', '/api/v1/exams', {
      key: tenant.apiKey,
      body: { title, durationMinutes: 30 },
    });
    expect(plain.body.id).not.toBe(first.body.id);
  });

  it('answers 409 idempotency_conflict for another body or path under the key', async () => {
    const key = randomUUID();
    expect((await createExam(tenant.apiKey, key, 'conflict-a')).status).toBe(201);
    const otherBody = await createExam(tenant.apiKey, key, 'conflict-b');
    expect(otherBody.status).toBe(409);
    expect(otherBody.body).toEqual({ error: { code: 'idempotency_conflict', message: expect.any(String) } });
    const otherPath = await test.request<any>('POST', '/api/v1/proctor-tokens', {
      key: tenant.apiKey,
      headers: { 'idempotency-key': key },
      body: { name: 'conflict' },
    });
    expect(otherPath.status).toBe(409);
    expect(otherPath.body.error.code).toBe('idempotency_conflict');
    expect(await examTitles(tenant.apiKey)).not.toContain('conflict-b');
    // The same JSON with its keys in another order is the same request.
    const reordered = await test.request<any>('POST', '/api/v1/exams', {
      key: tenant.apiKey,
      headers: { 'idempotency-key': key, 'content-type': 'application/json' },
      raw: '{"durationMinutes":30,"title":"conflict-a"}',
    });
    expect(reordered.status).toBe(201);
    expect(reordered.headers.get('idempotent-replayed')).toBe('true');
  });

  it('runs concurrent requests with one key once', async () => {
    const key = randomUUID();
    const title = `race-${key}`;
    const answers = await Promise.all(
      Array.from({ length: 12 }, () => createExam(tenant.apiKey, key, title)),
    );
    const created = answers.filter((answer) => answer.status === 201);
    const waiting = answers.filter((answer) => answer.status === 409);
    expect(created.length + waiting.length).toBe(answers.length);
    expect(new Set(created.map((answer) => answer.body.id)).size).toBe(1);
    for (const answer of waiting) {
      expect(answer.body.error.code).toBe('idempotency_in_progress');
      expect(answer.headers.get('retry-after')).toBe('1');
    }
    expect((await examTitles(tenant.apiKey)).filter((t) => t === title)).toHaveLength(1);
    // Once the first has finished, a retry gets its response.
    const retry = await createExam(tenant.apiKey, key, title);
    expect(retry.status).toBe(201);
    expect(retry.body.id).toBe(created[0]?.body.id);
  });

  it('scopes keys per tenant and per credential', async () => {
    const key = randomUUID();
    const mine = await createExam(tenant.apiKey, key, 'scoped');
    const theirs = await createExam(other.apiKey, key, 'scoped');
    expect(theirs.status).toBe(201);
    expect(theirs.headers.get('idempotent-replayed')).toBeNull();
    expect(theirs.body.id).not.toBe(mine.body.id);
    expect(theirs.body.tenantId ?? other.tenantId).toBe(other.tenantId);
    // Another credential of the same tenant (an admin user) has its own key space.
    const admin = await test.createUser(tenant.tenantId, 'admin');
    const login = await test.request<any>('POST', '/api/v1/auth/token', {
      body: { email: admin.email, password: admin.password },
    });
    const asUser = await test.request<any>('POST', '/api/v1/exams', {
      token: login.body.accessToken,
      headers: { 'idempotency-key': key },
      body: { title: 'scoped', durationMinutes: 30 },
    });
    expect(asUser.status).toBe(201);
    expect(asUser.body.id).not.toBe(mine.body.id);
  });

  it('forgets a key after 24 hours, and a first request abandoned by a crashed node', async () => {
    const key = randomUUID();
    const first = await createExam(tenant.apiKey, key, 'expiring');
    const { db } = test.app.context;
    await db
      .update(idempotencyKeys)
      .set({ createdAt: new Date(Date.now() - 25 * 3600_000) })
      .where(eq(idempotencyKeys.tenantId, tenant.tenantId));
    const later = await createExam(tenant.apiKey, key, 'expiring');
    expect(later.status).toBe(201);
    expect(later.headers.get('idempotent-replayed')).toBeNull();
    expect(later.body.id).not.toBe(first.body.id);

    // A claim with no response yet holds the key (409) until it is older than any request may run.
    const stuck = randomUUID();
    const started = await createExam(tenant.apiKey, stuck, 'stuck');
    await db
      .update(idempotencyKeys)
      .set({ responseStatus: null, response: null, createdAt: new Date() })
      .where(eq(idempotencyKeys.tenantId, tenant.tenantId));
    expect((await createExam(tenant.apiKey, stuck, 'stuck')).body.error.code).toBe('idempotency_in_progress');
    await db
      .update(idempotencyKeys)
      .set({ createdAt: new Date(Date.now() - 3600_000) })
      .where(eq(idempotencyKeys.tenantId, tenant.tenantId));
    const takenOver = await createExam(tenant.apiKey, stuck, 'stuck');
    expect(takenOver.status).toBe(201);
    expect(takenOver.body.id).not.toBe(started.body.id);
  });

  it('stores client errors but not server errors, and keeps secrets in responses encrypted', async () => {
    const key = randomUUID();
    const missing = `/api/v1/exams/${randomUUID()}/candidates`;
    const notFound = await test.request<any>('POST', missing, {
      key: tenant.apiKey,
      headers: { 'idempotency-key': key },
      body: { externalId: 'x', name: 'X' },
    });
    expect(notFound.status).toBe(404);
    const replayed = await test.request<any>('POST', missing, {
      key: tenant.apiKey,
      headers: { 'idempotency-key': key },
      body: { externalId: 'x', name: 'X' },
    });
    expect(replayed.status).toBe(404);
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    expect(replayed.body).toEqual(notFound.body);

    const tokenKey = randomUUID();
    const minted = await test.request<any>('POST', '/api/v1/proctor-tokens', {
      key: other.apiKey,
      headers: { 'idempotency-key': tokenKey },
      body: { name: 'Secret holder' },
    });
    expect(minted.status).toBe(201);
    const rows = await test.app.context.db
      .select()
      .from(idempotencyKeys)
      .where(eq(idempotencyKeys.tenantId, other.tenantId));
    const text = JSON.stringify(rows);
    expect(text).not.toContain(minted.body.token);
    expect(text).not.toContain(tokenKey);
    const again = await test.request<any>('POST', '/api/v1/proctor-tokens', {
      key: other.apiKey,
      headers: { 'idempotency-key': tokenKey },
      body: { name: 'Secret holder' },
    });
    expect(again.body.token).toBe(minted.body.token);
  });

  it('refuses a malformed key and ignores the header on public routes', async () => {
    const long = await createExam(tenant.apiKey, 'k'.repeat(256));
    expect(long.status).toBe(400);
    expect(long.body.error.code).toBe('invalid_input');
    const spaced = await createExam(tenant.apiKey, 'has space');
    expect(spaced.status).toBe(400);
    // Validation runs first: a bad body is a 400 that does not use up the key.
    const key = randomUUID();
    const bad = await test.request<any>('POST', '/api/v1/exams', {
      key: tenant.apiKey,
      headers: { 'idempotency-key': key },
      body: { title: '' },
    });
    expect(bad.status).toBe(400);
    expect((await createExam(tenant.apiKey, key, 'after-bad')).status).toBe(201);
    const login = await test.request<any>('POST', '/api/v1/auth/token', {
      headers: { 'idempotency-key': key },
      body: { email: 'nobody@example.test', password: 'wrong' },
    });
    expect(login.status).toBe(401);
  });
});
