import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../support/backends.js';
import { recordViolation, seedSession, startTestApp, type TestApp } from '../support/app.js';

const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0xff, 0xd9]);

describe.each(backends())('human review on $name', (backend) => {
  let test: TestApp;
  let tenant: { apiKey: string; tenantId: string };
  let other: { apiKey: string; tenantId: string };

  const login = async (tenantId: string, role: 'admin' | 'proctor') => {
    const user = await test.createUser(tenantId, role);
    const tokens = await test.request<any>('POST', '/api/v1/auth/token', {
      body: { email: user.email, password: user.password },
    });
    return tokens.body.accessToken as string;
  };
  const proctorToken = async (examIds?: string[]) => {
    const minted = await test.request<any>('POST', '/api/v1/proctor-tokens', {
      key: tenant.apiKey,
      body: { name: 'Reviewer', ...(examIds ? { examIds } : {}) },
    });
    return minted.body.token as string;
  };
  /** A session with one high (multiple_faces) and one medium (tab_hidden) violation. */
  const flaggedSession = async () => {
    const seeded = await seedSession(test, tenant.apiKey);
    const ref = { tenantId: tenant.tenantId, examId: seeded.examId, id: seeded.id };
    const faces = await recordViolation(test, ref, {
      type: 'multiple_faces',
      confidence: 1,
      snapshots: [jpeg],
    });
    const tab = await recordViolation(test, ref, { type: 'tab_hidden', confidence: 1, snapshots: [] });
    return { seeded, faces: faces.violation, tab: tab.violation };
  };
  const scoreOf = async (sessionId: string) =>
    (await test.request<any>('GET', `/api/v1/sessions/${sessionId}`, { key: tenant.apiKey })).body
      .suspicionScore as number;

  beforeAll(async () => {
    test = await startTestApp(backend);
    tenant = await test.createTenant();
    other = await test.createTenant();
  });
  afterAll(() => test?.close());

  it('dismisses a violation out of the score, keeps it on record, and audits the decision', async () => {
    const { seeded, faces, tab } = await flaggedSession();
    const token = await login(tenant.tenantId, 'proctor');
    expect(await scoreOf(seeded.id)).toBe(20);

    const dismissed = await test.request<any>('POST', `/api/v1/sessions/${seeded.id}/reviews`, {
      token,
      body: { violationId: faces.id, decision: 'dismissed', note: 'The second face is a photo on the wall' },
    });
    expect(dismissed.status).toBe(201);
    expect(dismissed.body).toMatchObject({
      sessionId: seeded.id,
      violationId: faces.id,
      decision: 'dismissed',
      note: 'The second face is a photo on the wall',
      reviewer: expect.stringMatching(/^user:/),
      covered: 1,
    });
    expect(await scoreOf(seeded.id)).toBe(5);
    const session = await test.request<any>('GET', `/api/v1/sessions/${seeded.id}`, { key: tenant.apiKey });
    expect(session.body.violationCounts).toEqual({ multiple_faces: 1, tab_hidden: 1 });

    // A later decision overrides: confirmed again, the violation is back in the score.
    await test.request('POST', `/api/v1/sessions/${seeded.id}/reviews`, {
      token,
      body: { violationId: faces.id, decision: 'confirmed', note: 'On a second look it is a person' },
    });
    expect(await scoreOf(seeded.id)).toBe(20);

    const reviews = await test.request<any[]>('GET', `/api/v1/sessions/${seeded.id}/reviews`, {
      key: tenant.apiKey,
    });
    expect(reviews.body.map((r) => r.decision)).toEqual(['dismissed', 'confirmed']);

    const audit = await test.request<any[]>('GET', '/api/v1/audit?limit=500', { key: tenant.apiKey });
    const entries = audit.body.filter((e) => e.action === 'session.review' && e.target === seeded.id);
    expect(entries).toHaveLength(2);
    expect(entries[0].details).toMatchObject({
      decision: 'dismissed',
      violationId: faces.id,
      covered: [faces.id],
    });
    // The note is in the review, not in the never-rewritten log: there only its hash.
    expect(JSON.stringify(entries[0].details)).not.toContain('photo on the wall');
    expect(entries[0].details.note).toEqual({ sha256: expect.stringMatching(/^[0-9a-f]{64}$/), length: 38 });
    expect((await test.request<any>('GET', '/api/v1/audit/verify', { key: tenant.apiKey })).body.ok).toBe(
      true,
    );
    expect(tab.id).toBeDefined();
  });

  it('dismisses the whole session with one decision, through an embedded proctor token', async () => {
    const { seeded } = await flaggedSession();
    const token = await proctorToken([seeded.examId]);
    const review = await test.request<any>('POST', `/api/v1/sessions/${seeded.id}/reviews`, {
      token,
      body: { decision: 'dismissed', note: 'Reviewed the recording: nothing wrong' },
    });
    expect(review.status).toBe(201);
    expect(review.body).toMatchObject({ violationId: null, decision: 'dismissed', covered: 2 });
    expect(await scoreOf(seeded.id)).toBe(0);
  });

  it('ranks the review queue by score and lists only what no one decided on', async () => {
    const exam = await test.request<any>('POST', '/api/v1/exams', {
      key: tenant.apiKey,
      body: { title: 'Queue exam', durationMinutes: 30 },
    });
    const sessionIn = async (name: string) => {
      const candidate = await test.request<any>('POST', `/api/v1/exams/${exam.body.id}/candidates`, {
        key: tenant.apiKey,
        body: { externalId: name, name },
      });
      const session = await test.request<any>('POST', `/api/v1/exams/${exam.body.id}/sessions`, {
        key: tenant.apiKey,
        body: { candidateId: candidate.body.id },
      });
      return { tenantId: tenant.tenantId, examId: exam.body.id, id: session.body.id as string };
    };
    const honest = await sessionIn('Honest Candidate');
    const low = await sessionIn('Low Candidate');
    const high = await sessionIn('High Candidate');
    await recordViolation(test, low, { type: 'tab_hidden', confidence: 1, snapshots: [] });
    const reviewed = await recordViolation(test, high, {
      type: 'multiple_faces',
      confidence: 1,
      snapshots: [],
    });
    await recordViolation(test, high, { type: 'phone_detected', confidence: 0.8, snapshots: [] });

    const queue = async () =>
      (await test.request<any[]>('GET', `/api/v1/exams/${exam.body.id}/review-queue`, { key: tenant.apiKey }))
        .body;
    const before = await queue();
    expect(before.map((item) => item.sessionId)).toEqual([high.id, low.id]);
    expect(before[0]).toMatchObject({
      candidateName: 'High Candidate',
      suspicionScore: 27,
      unreviewed: { multiple_faces: 1, phone_detected: 1 },
      unreviewedTotal: 2,
    });
    expect(before.some((item) => item.sessionId === honest.id)).toBe(false);

    const token = await login(tenant.tenantId, 'admin');
    await test.request('POST', `/api/v1/sessions/${high.id}/reviews`, {
      token,
      body: { violationId: reviewed.violation.id, decision: 'confirmed', note: 'Two people at the desk' },
    });
    const after = await queue();
    expect(after.find((item) => item.sessionId === high.id)).toMatchObject({
      unreviewed: { phone_detected: 1 },
      unreviewedTotal: 1,
    });
    await test.request('POST', `/api/v1/sessions/${high.id}/reviews`, {
      token,
      body: { decision: 'confirmed', note: 'Confirmed as a whole' },
    });
    expect((await queue()).map((item) => item.sessionId)).toEqual([low.id]);
  });

  it('refuses bad input, API keys, candidates, other tenants and other exams with the contract errors', async () => {
    const { seeded, faces } = await flaggedSession();
    const token = await login(tenant.tenantId, 'proctor');
    const post = (sessionId: string, body: unknown, auth: { key?: string; token?: string }) =>
      test.request<any>('POST', `/api/v1/sessions/${sessionId}/reviews`, { ...auth, body });
    const good = { violationId: faces.id, decision: 'dismissed', note: 'why' };

    for (const body of [
      { decision: 'maybe', note: 'x' },
      { decision: 'dismissed' },
      { decision: 'dismissed', note: '   ' },
      { decision: 'dismissed', note: 'x', violationId: 'not-a-uuid' },
      { decision: 'dismissed', note: 'x', extra: true },
      { decision: 'dismissed', note: 'x'.repeat(5000) },
    ]) {
      const response = await post(seeded.id, body, { token });
      expect(response.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(response.body.error.code).toBe('invalid_input');
    }
    expect((await post(seeded.id, good, {})).status).toBe(401);
    const byKey = await post(seeded.id, good, { key: tenant.apiKey });
    expect(byKey.status).toBe(403);
    const byCandidate = await post(seeded.id, good, { token: seeded.candidateToken });
    expect(byCandidate.status).toBe(403);

    // Another tenant's reviewer sees no such session; a violation of another session is unknown.
    const stranger = await login(other.tenantId, 'admin');
    const foreign = await post(seeded.id, good, { token: stranger });
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.code).toBe('not_found');
    const { seeded: second } = await flaggedSession();
    const mixed = await post(second.id, good, { token });
    expect(mixed.status).toBe(404);
    expect((await post(seeded.id, { ...good, violationId: crypto.randomUUID() }, { token })).status).toBe(
      404,
    );

    // A proctor token scoped to another exam may not review this one.
    const scoped = await proctorToken([second.examId]);
    expect((await post(seeded.id, good, { token: scoped })).status).toBe(403);
    const otherQueue = await test.request<any>('GET', `/api/v1/exams/${seeded.examId}/review-queue`, {
      key: other.apiKey,
    });
    expect(otherQueue.status).toBe(404);
    // Nothing of the refused attempts was recorded.
    expect(await scoreOf(seeded.id)).toBe(20);
  });
});
