import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usageCounters } from '../../server/db/index.js';
import { setTenantPlan } from '../../server/usage/index.js';
import { backends, type Backend } from '../support/backends.js';
import { recordViolation, seedSession, startTestApp, type TestApp } from '../support/app.js';

const root = path.resolve(import.meta.dirname, '../..');

/** `npx vigil …` as a child process (answered over the control socket on PGlite, directly on PostgreSQL). */
function vigil(args: string[], test: TestApp, backend: Backend) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', path.join(root, 'server/cli/main.ts'), ...args],
      {
        cwd: root,
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          LOG_LEVEL: 'warn',
          DATA_DIR: test.dataDir,
          JWT_SECRET: test.jwtSecret,
          ...(backend.databaseUrl ? { DATABASE_URL: backend.databaseUrl } : {}),
        },
        encoding: 'utf8',
        timeout: 60_000,
      },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

describe.each(backends())('usage and plans on $name', (backend) => {
  let test: TestApp;

  const usage = (key: string, query = '') => test.request<any>('GET', `/api/v1/usage${query}`, { key });
  const newExam = async (key: string) =>
    (
      await test.request<any>('POST', '/api/v1/exams', {
        key,
        body: { title: 'Quota exam', durationMinutes: 60 },
      })
    ).body.id as string;
  const addCandidate = (key: string, examId: string) =>
    test.request<any>('POST', `/api/v1/exams/${examId}/candidates`, {
      key,
      body: { externalId: `ext-${randomUUID()}`, name: 'Quota Candidate' },
    });
  const addSession = (key: string, examId: string, candidateId: string, idempotencyKey?: string) =>
    test.request<any>('POST', `/api/v1/exams/${examId}/sessions`, {
      key,
      body: { candidateId },
      ...(idempotencyKey ? { headers: { 'idempotency-key': idempotencyKey } } : {}),
    });

  beforeAll(async () => {
    test = await startTestApp(backend);
  });
  afterAll(() => test?.close());

  it('counts requests, sessions, frames, monitored minutes and evidence per tenant, in hourly rows', async () => {
    const tenant = await test.createTenant();
    const other = await test.createTenant();
    const seeded = await seedSession(test, tenant.apiKey); // 3 requests, 1 session
    const replayKey = randomUUID();
    const candidate = await addCandidate(tenant.apiKey, seeded.examId);
    const first = await addSession(tenant.apiKey, seeded.examId, candidate.body.id, replayKey);
    const replay = await addSession(tenant.apiKey, seeded.examId, candidate.body.id, replayKey);
    expect(replay.body.id).toBe(first.body.id);
    const snapshots = [Buffer.alloc(1000, 1), Buffer.alloc(2345, 2)];
    await recordViolation(test, { ...seeded, tenantId: tenant.tenantId }, { snapshots });
    // 121 analysed frames one second apart: two minutes monitored (a long gap does not count).
    const start = Date.now() - 200_000;
    for (let i = 0; i <= 120; i += 1) {
      test.app.context.usage.frameAnalysed(tenant.tenantId, seeded.id, start + i * 1000);
    }
    test.app.context.usage.frameAnalysed(tenant.tenantId, seeded.id, start + 120_000 + 60_000);

    const report = await usage(tenant.apiKey);
    expect(report.status).toBe(200);
    expect(report.body).toMatchObject({
      tenantId: tenant.tenantId,
      sessions: 2, // the replayed creation is not a session
      framesAnalysed: 122,
      candidateMinutes: 2,
      evidenceBytes: 3345,
      apiRequests: 6, // seeding (3), candidate, two session POSTs; this GET is counted after it answers
      plan: 'enterprise',
      limits: { maxConcurrentSessions: null, maxCandidates: null, maxCandidateMinutesPerMonth: null },
      current: { concurrentSessions: 2, candidates: 2, candidateMinutesThisMonth: 2 },
    });
    expect(Date.parse(report.body.from)).toBeLessThanOrEqual(Date.now());
    const again = await usage(tenant.apiKey);
    expect(again.body.apiRequests).toBe(7);

    // Aggregated: one row per metric and hour, not one per request or frame.
    const rows = await test.app.context.db
      .select()
      .from(usageCounters)
      .where(eq(usageCounters.tenantId, tenant.tenantId));
    expect(rows.length).toBeLessThanOrEqual(4 * 2); // four metrics, at most two hours touched
    // Tenants never see each other's usage.
    const theirs = await usage(other.apiKey);
    expect(theirs.body).toMatchObject({
      tenantId: other.tenantId,
      sessions: 0,
      framesAnalysed: 0,
      apiRequests: 0,
    });
    // A range before any of it is empty.
    const before = await usage(tenant.apiKey, '?from=2020-01-01T00:00:00Z&to=2020-02-01T00:00:00Z');
    expect(before.body).toMatchObject({ sessions: 0, apiRequests: 0, evidenceBytes: 0 });

    const metrics = await test.request<string>('GET', '/metrics');
    expect(metrics.body).toContain(`vigil_usage_total{tenant="${tenant.tenantId}",metric="api_requests"}`);
  });

  it('refuses bad ranges and callers that are not the tenant admin', async () => {
    const tenant = await test.createTenant();
    for (const query of [
      '?from=yesterday',
      '?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z',
      '?from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z',
      '?tenant=x',
    ]) {
      const answer = await usage(tenant.apiKey, query);
      expect(answer.status, query).toBe(400);
      expect(answer.body.error.code).toBe('invalid_input');
    }
    const minted = await test.request<any>('POST', '/api/v1/proctor-tokens', {
      key: tenant.apiKey,
      body: { name: 'Proctor' },
    });
    expect((await test.request<any>('GET', '/api/v1/usage', { token: minted.body.token })).status).toBe(403);
    expect((await test.request<any>('GET', '/api/v1/usage')).status).toBe(401);
  });

  it('answers 402 quota_exceeded naming the limit, and cuts nothing off', async () => {
    const tenant = await test.createTenant();
    const { db } = test.app.context;
    await setTenantPlan(db, { tenantId: tenant.tenantId, plan: 'free', limits: { maxCandidates: 3 } });
    const examId = await newExam(tenant.apiKey);
    const candidates = [];
    for (let i = 0; i < 3; i += 1)
      candidates.push((await addCandidate(tenant.apiKey, examId)).body.id as string);
    const fourth = await addCandidate(tenant.apiKey, examId);
    expect(fourth.status).toBe(402);
    expect(fourth.body.error).toMatchObject({ code: 'quota_exceeded' });
    expect(fourth.body.error.message).toContain('maxCandidates');

    await setTenantPlan(db, { tenantId: tenant.tenantId, limits: { maxConcurrentSessions: 2 } });
    const sessions = [];
    for (const id of candidates.slice(0, 2))
      sessions.push((await addSession(tenant.apiKey, examId, id)).body);
    const third = await addSession(tenant.apiKey, examId, candidates[2]!);
    expect(third.status).toBe(402);
    expect(third.body.error.message).toContain('maxConcurrentSessions');
    // Lowering a limit below what runs cuts nothing off: both sessions are still open.
    await setTenantPlan(db, { tenantId: tenant.tenantId, limits: { maxConcurrentSessions: 1 } });
    for (const session of sessions) {
      const read = await test.request<any>('GET', `/api/v1/sessions/${session.id}`, { key: tenant.apiKey });
      expect(read.body.status).toBe('created');
    }
    // Ending one frees its place.
    await setTenantPlan(db, { tenantId: tenant.tenantId, limits: { maxConcurrentSessions: 2 } });
    const ended = await test.request<any>('POST', `/api/v1/sessions/${sessions[0].id}/actions`, {
      key: tenant.apiKey,
      body: { action: 'terminate', message: 'done' },
    });
    expect(ended.status).toBe(200);
    expect((await addSession(tenant.apiKey, examId, candidates[2]!)).status).toBe(201);

    // Candidate-minutes this month: used up, no new session; limits lifted (null), it goes again.
    await setTenantPlan(db, {
      tenantId: tenant.tenantId,
      limits: { maxConcurrentSessions: null, maxCandidateMinutesPerMonth: 1 },
    });
    const start = Date.now() - 120_000;
    for (let i = 0; i <= 61; i += 1) {
      test.app.context.usage.frameAnalysed(tenant.tenantId, sessions[1].id, start + i * 1000);
    }
    await test.app.context.usage.flush();
    const overMinutes = await addSession(tenant.apiKey, examId, candidates[0]!);
    expect(overMinutes.status).toBe(402);
    expect(overMinutes.body.error.message).toContain('maxCandidateMinutesPerMonth');
    const report = await usage(tenant.apiKey);
    expect(report.body).toMatchObject({
      plan: 'free',
      limits: { maxCandidates: 3, maxConcurrentSessions: null, maxCandidateMinutesPerMonth: 1 },
    });
  });

  it('sets plans and limits with `vigil tenant plan` and refuses bad options', async () => {
    const tenant = await test.createTenant();
    const set = await vigil(
      ['tenant', 'plan', '--tenant', tenant.tenantId, '--plan', 'pro', '--limits', '{"maxCandidates":1200}'],
      test,
      backend,
    );
    expect(set.stderr).toBe('');
    expect(set.code).toBe(0);
    expect(set.stdout).toContain('plan pro');
    const report = await usage(tenant.apiKey);
    expect(report.body).toMatchObject({
      plan: 'pro',
      limits: { maxCandidates: 1200, maxConcurrentSessions: 250, maxCandidateMinutesPerMonth: 100000 },
    });

    const [gold, notJson, unknownLimit, noTenant, nothing] = await Promise.all([
      vigil(['tenant', 'plan', '--tenant', tenant.tenantId, '--plan', 'gold'], test, backend),
      vigil(['tenant', 'plan', '--tenant', tenant.tenantId, '--limits', '{max'], test, backend),
      vigil(
        ['tenant', 'plan', '--tenant', tenant.tenantId, '--limits', '{"maxViolations":5}'],
        test,
        backend,
      ),
      vigil(['tenant', 'plan', '--tenant', randomUUID(), '--plan', 'free'], test, backend),
      vigil(['tenant', 'plan', '--tenant', tenant.tenantId], test, backend),
    ]);
    expect(gold.code).toBe(1);
    expect(gold.stderr).toContain('--plan must be free, pro or enterprise');
    expect(notJson.code).toBe(1);
    expect(notJson.stderr).toContain('--limits');
    expect(unknownLimit.code).toBe(1);
    expect(unknownLimit.stderr).toContain('--limits');
    expect(noTenant.code).toBe(1);
    expect(noTenant.stderr).toContain('not found');
    expect(nothing.code).toBe(1);
    expect(nothing.stderr).toContain('--plan');
    // Nothing of that changed the plan.
    expect((await usage(tenant.apiKey)).body.plan).toBe('pro');
  }, 90_000);
});
