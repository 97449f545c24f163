import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { sessions } from '../../server/db/index.js';
import { completeOverdueSessions, openViolation, transitionSession } from '../../server/proctoring/index.js';
import { backends } from '../support/backends.js';
import { seedSession, startTestApp, type TestApp } from '../support/app.js';

const expectError = (response: { status: number; body: any }, status: number, code?: string) => {
  expect(response.status).toBe(status);
  expect(response.body).toEqual({ error: { code: code ?? expect.any(String), message: expect.any(String) } });
  expect(JSON.stringify(response.body)).not.toMatch(/at .*\.(ts|js):\d+/); // no stack traces
};

describe.each(backends())('REST API on $name', (backend) => {
  let test: TestApp;
  let key: string;
  let tenantId: string;

  beforeAll(async () => {
    test = await startTestApp(backend);
    ({ apiKey: key, tenantId } = await test.createTenant());
  });
  afterAll(() => test?.close());

  describe('service endpoints', () => {
    it('answers liveness and readiness with migrations applied', async () => {
      expect((await test.request('GET', '/healthz')).body).toEqual({ status: 'ok' });
      const ready = await test.request<any>('GET', '/readyz');
      expect(ready.status).toBe(200);
      expect(ready.body).toMatchObject({ status: 'ready', database: backend.name, migrations: 'applied' });
    });

    it('exposes Prometheus metrics with per-route request counts and latency', async () => {
      await test.request('GET', '/healthz');
      const metrics = await test.request<string>('GET', '/metrics');
      expect(metrics.status).toBe(200);
      expect(metrics.body).toMatch(
        /vigil_http_requests_total\{method="GET",route="\/healthz",status="200"\} \d+/,
      );
      expect(metrics.body).toContain('vigil_http_request_duration_seconds_bucket');
      expect(metrics.body).toContain('vigil_process_cpu_user_seconds_total');
    });

    it('serves an OpenAPI document generated from the request schemas, and its docs page', async () => {
      const doc = await test.request<any>('GET', '/api/v1/openapi.json');
      expect(doc.status).toBe(200);
      expect(doc.body.openapi).toMatch(/^3\./);
      const createExam = doc.body.paths['/api/v1/exams'].post;
      expect(createExam.requestBody.content['application/json'].schema.required).toEqual(
        expect.arrayContaining(['title', 'durationMinutes']),
      );
      expect(doc.body.paths['/api/v1/sessions/{id}/actions']).toBeDefined();
      const docs = await test.request<string>('GET', '/api/v1/docs/');
      expect(docs.status).toBe(200);
      expect(docs.body).toContain('swagger');
    });

    it('answers unknown routes with the error shape', async () => {
      expectError(await test.request('GET', '/api/v1/nope', { key }), 404, 'not_found');
    });
  });

  describe('exams', () => {
    it('creates an exam with the default policy filled in and reads it back', async () => {
      const created = await test.request<any>('POST', '/api/v1/exams', {
        key,
        body: { title: 'Algebra I', durationMinutes: 90 },
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ id: expect.any(String), title: 'Algebra I', durationMinutes: 90 });
      expect(created.body.policy.identity).toEqual({ required: true, matchThreshold: 0.5 });
      const read = await test.request<any>('GET', `/api/v1/exams/${created.body.id}`, { key });
      expect(read.status).toBe(200);
      expect(read.body).toEqual(created.body);
    });

    it('keeps a given policy and rejects an unknown policy key naming it', async () => {
      const ok = await test.request<any>('POST', '/api/v1/exams', {
        key,
        body: {
          title: 'Strict',
          durationMinutes: 30,
          policy: { gaze: { maxYawDegrees: 20 }, rules: { talking: { enabled: false } } },
        },
      });
      expect(ok.status).toBe(201);
      expect(ok.body.policy.gaze).toEqual({ maxYawDegrees: 20, maxPitchDegrees: 25 });
      expect(ok.body.policy.rules.talking).toEqual({ enabled: false });
      const bad = await test.request<any>('POST', '/api/v1/exams', {
        key,
        body: { title: 'Typo', durationMinutes: 30, policy: { gaze: { maxYaw: 20 } } },
      });
      expectError(bad, 400, 'invalid_input');
      expect(bad.body.error.message).toContain('policy.gaze');
    });

    it.each([
      ['missing fields', {}],
      ['wrong types', { title: 42, durationMinutes: '90' }],
      ['a negative duration', { title: 'x', durationMinutes: -5 }],
      ['an empty title', { title: '   ', durationMinutes: 10 }],
      ['extra fields', { title: 'x', durationMinutes: 10, tenantId: randomUUID() }],
      ['an array body', [1, 2]],
    ])('rejects %s with 400', async (_name, body) => {
      expectError(await test.request('POST', '/api/v1/exams', { key, body }), 400, 'invalid_input');
    });

    it('rejects broken JSON with 400 invalid_json', async () => {
      const response = await test.request('POST', '/api/v1/exams', {
        key,
        raw: '{"title": "x", "durationMinutes":',
        headers: { 'content-type': 'application/json' },
      });
      expectError(response, 400, 'invalid_json');
    });

    it('rejects a JSON body over 64 KB with 413', async () => {
      const response = await test.request('POST', '/api/v1/exams', {
        key,
        body: { title: 'x'.repeat(70 * 1024), durationMinutes: 10 },
      });
      expectError(response, 413, 'payload_too_large');
    });

    it('rejects a body that is not JSON with 415', async () => {
      const response = await test.request('POST', '/api/v1/exams', {
        key,
        raw: 'title=x',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expectError(response, 415, 'unsupported_media_type');
    });

    it('answers 404 for an unknown id, well-formed or not', async () => {
      expectError(await test.request('GET', '/api/v1/exams/not-a-uuid', { key }), 404, 'not_found');
      expectError(await test.request('GET', `/api/v1/exams/${randomUUID()}`, { key }), 404, 'not_found');
    });

    it('stores injection-looking text literally', async () => {
      const title = `Robert'); DROP TABLE exams;-- <script>alert(1)</script> {{7*7}} \${x}`;
      const created = await test.request<any>('POST', '/api/v1/exams', {
        key,
        body: { title, durationMinutes: 5 },
      });
      expect(created.status).toBe(201);
      const read = await test.request<any>('GET', `/api/v1/exams/${created.body.id}`, { key });
      expect(read.body.title).toBe(title);
      expect((await test.request('GET', '/readyz')).status).toBe(200);
    });
  });

  describe('candidates and sessions', () => {
    it('registers a candidate, rejects a duplicate externalId with 409, and opens a session', async () => {
      const exam = await test.request<any>('POST', '/api/v1/exams', {
        key,
        body: { title: 'Bio', durationMinutes: 45 },
      });
      const candidate = await test.request<any>('POST', `/api/v1/exams/${exam.body.id}/candidates`, {
        key,
        body: { externalId: 'student-17', name: 'Ada Lovelace' },
      });
      expect(candidate.status).toBe(201);
      expect(candidate.body).toEqual({
        id: expect.any(String),
        examId: exam.body.id,
        externalId: 'student-17',
        name: 'Ada Lovelace',
        hasReference: false,
      });
      const duplicate = await test.request('POST', `/api/v1/exams/${exam.body.id}/candidates`, {
        key,
        body: { externalId: 'student-17', name: 'Someone Else' },
      });
      expectError(duplicate, 409, 'conflict');

      const session = await test.request<any>('POST', `/api/v1/exams/${exam.body.id}/sessions`, {
        key,
        body: { candidateId: candidate.body.id },
      });
      expect(session.status).toBe(201);
      expect(session.body).toMatchObject({
        id: expect.any(String),
        status: 'created',
        candidateToken: expect.any(String),
      });
      expect(session.body.joinUrl).toBe(
        `${test.app.context.config.publicUrl}/candidate?token=${session.body.candidateToken}`,
      );

      const again = await test.request('POST', `/api/v1/exams/${exam.body.id}/sessions`, {
        key,
        body: { candidateId: candidate.body.id },
      });
      expectError(again, 409, 'session_exists');

      const read = await test.request<any>('GET', `/api/v1/sessions/${session.body.id}`, { key });
      expect(read.body).toMatchObject({
        id: session.body.id,
        examId: exam.body.id,
        candidateId: candidate.body.id,
        status: 'created',
        suspicionScore: 0,
        verification: null,
        violationCounts: {},
      });
      expect(
        (await test.request<any>('GET', `/api/v1/sessions/${session.body.id}/violations`, { key })).body,
      ).toEqual([]);
    });

    it('closes the violations still open when the session ends, audited and announced', async () => {
      const seeded = await seedSession(test, key);
      const { db, events } = test.app.context;
      const opened = await openViolation(db, events, {
        tenantId,
        examId: seeded.examId,
        sessionId: seeded.id,
        type: 'looking_away',
        source: 'server',
        confidence: 0.7,
      });
      expect(opened.endedAt).toBeNull();
      const announced: string[] = [];
      const listener = (event: { violation: { id: string } }) => announced.push(event.violation.id);
      events.on('violation:closed', listener);
      try {
        const ended = await test.request<any>('POST', `/api/v1/sessions/${seeded.id}/actions`, {
          key,
          body: { action: 'terminate' },
        });
        const [violation] = (
          await test.request<any[]>('GET', `/api/v1/sessions/${seeded.id}/violations`, { key })
        ).body;
        expect(violation.endedAt).toBe(ended.body.endedAt);
        expect(announced).toEqual([opened.id]);
        const audit = await test.request<any[]>('GET', '/api/v1/audit?limit=1000', { key });
        expect(
          audit.body.find((entry) => entry.target === opened.id && entry.action === 'violation.close'),
        ).toMatchObject({ details: { reason: 'session_ended' } });
      } finally {
        events.off('violation:closed', listener);
      }
    });

    it('refuses a session for a candidate of another exam', async () => {
      const a = await seedSession(test, key);
      const other = await test.request<any>('POST', '/api/v1/exams', {
        key,
        body: { title: 'Other', durationMinutes: 10 },
      });
      const response = await test.request('POST', `/api/v1/exams/${other.body.id}/sessions`, {
        key,
        body: { candidateId: a.candidateId },
      });
      expectError(response, 404, 'not_found');
    });

    it('lets a proctor pass a session that is stuck verifying with resume', async () => {
      const seeded = await seedSession(test, key);
      await transitionSession(
        test.app.context.db,
        test.app.context.events,
        { tenantId, sessionId: seeded.id, actor: 'test', reason: 'join' },
        'verifying',
      );
      const resumed = await test.request<any>('POST', `/api/v1/sessions/${seeded.id}/actions`, {
        key,
        body: { action: 'resume' },
      });
      expect(resumed.status).toBe(200);
      expect(resumed.body.status).toBe('in_progress');
    });

    it('follows the status machine for proctor actions', async () => {
      const seeded = await seedSession(test, key);
      const act = (action: string, message?: string) =>
        test.request<any>('POST', `/api/v1/sessions/${seeded.id}/actions`, {
          key,
          body: { action, ...(message ? { message } : {}) },
        });

      expectError(await act('pause'), 409, 'invalid_transition'); // not started yet
      expectError(await act('resume'), 409, 'invalid_transition'); // nor can a proctor start it
      const warned = await act('warn', 'Eyes on your screen, please');
      expect(warned.status).toBe(200);
      expect(warned.body.status).toBe('created');
      const flagged = await act('flag');
      expect(flagged.body.flagged).toBe(true);

      // The candidate joining moves the session to in_progress (the realtime layer does this).
      await transitionSession(
        test.app.context.db,
        test.app.context.events,
        { tenantId, sessionId: seeded.id, actor: 'test', reason: 'join' },
        'in_progress',
      );
      expect((await act('pause')).body.status).toBe('paused');
      // A double click is not an error: pausing a paused session leaves it paused.
      expect((await act('pause')).body.status).toBe('paused');
      expect((await act('resume')).body.status).toBe('in_progress');
      const terminated = await act('terminate', 'Caught with notes');
      expect(terminated.body.status).toBe('terminated');
      expect(terminated.body.endedAt).toEqual(expect.any(String));
      expectError(await act('resume'), 409, 'invalid_transition');
      expectError(await act('warn'), 409, 'invalid_transition');
      expectError(await act('explode'), 400, 'invalid_input');
    });

    it('completes a running session with the complete action (the candidate submitted)', async () => {
      const seeded = await seedSession(test, key);
      const complete = () =>
        test.request<any>('POST', `/api/v1/sessions/${seeded.id}/actions`, {
          key,
          body: { action: 'complete' },
        });
      expectError(await complete(), 409, 'invalid_transition'); // never joined
      await transitionSession(
        test.app.context.db,
        test.app.context.events,
        { tenantId, sessionId: seeded.id, actor: 'test', reason: 'join' },
        'in_progress',
      );
      const completed = await complete();
      expect(completed.body).toMatchObject({ status: 'completed', endedAt: expect.any(String) });
    });

    it('completes sessions whose exam time is up, and only those', async () => {
      const { db, events } = test.app.context;
      const start = async () => {
        const seeded = await seedSession(test, key); // 60-minute exam
        await transitionSession(
          db,
          events,
          { tenantId, sessionId: seeded.id, actor: 'test', reason: 'join' },
          'in_progress',
        );
        return seeded;
      };
      const late = await start();
      const onTime = await start();
      // Started 61 minutes ago.
      await db
        .update(sessions)
        .set({ startedAt: new Date(Date.now() - 61 * 60_000) })
        .where(eq(sessions.id, late.id));
      await completeOverdueSessions(db, events);
      const status = async (id: string) =>
        (await test.request<any>('GET', `/api/v1/sessions/${id}`, { key })).body.status as string;
      expect(await status(late.id)).toBe('completed');
      expect(await status(onTime.id)).toBe('in_progress');
      const audit = await test.request<any[]>('GET', '/api/v1/audit?limit=1000', { key });
      expect(
        audit.body.find((entry) => entry.target === late.id && entry.details?.to === 'completed'),
      ).toMatchObject({ actor: 'system:timer', details: { reason: 'time_up' } });
    });
  });
});
