import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entryHash } from '../../server/audit/chain.js';
import { storeEvidence } from '../../server/evidence/index.js';
import {
  ProctoringEvents,
  ViolationRules,
  closeViolation,
  completeOverdueSessions,
  defaultPolicy,
  openViolation,
  transitionSession,
} from '../../server/proctoring/index.js';
import { sessions } from '../../server/db/index.js';
import { eq } from 'drizzle-orm';
import { createLogger } from '../../server/shared/index.js';
import { backends } from '../support/backends.js';
import { seedSession, startTestApp, type TestApp } from '../support/app.js';
import { testdata } from '../support/testdata.js';

describe.each(backends())('session report on $name', (backend) => {
  let test: TestApp;
  let tenant: { apiKey: string; tenantId: string };
  let other: { apiKey: string; tenantId: string };
  const photo = () => fs.readFileSync(testdata('human/person-lexi.jpg'));

  /** A session with "2 faces in view for 14 s" (with a snapshot) and a paste; the paste dismissed. */
  const reportedSession = async () => {
    const seeded = await seedSession(test, tenant.apiKey);
    const { db, evidenceStore, events } = test.app.context;
    const snapshot = await storeEvidence(db, evidenceStore, {
      tenantId: tenant.tenantId,
      sessionId: seeded.id,
      kind: 'snapshot',
      mediaType: 'image/jpeg',
      bytes: photo(),
    });
    const ref = { tenantId: tenant.tenantId, examId: seeded.examId, sessionId: seeded.id };
    const startedAt = new Date(Date.now() - 14_000);
    const faces = await openViolation(db, events, {
      ...ref,
      type: 'multiple_faces',
      source: 'server',
      confidence: 0.8,
      details: { faces: 2 },
      startedAt,
      evidenceIds: [snapshot.id],
    });
    await closeViolation(db, events, {
      ...ref,
      violationId: faces.id,
      endedAt: new Date(startedAt.getTime() + 14_000),
    });
    const paste = await openViolation(db, events, {
      ...ref,
      type: 'copy_paste',
      source: 'client',
      confidence: 1,
    });
    const user = await test.createUser(tenant.tenantId, 'proctor');
    const login = await test.request<any>('POST', '/api/v1/auth/token', {
      body: { email: user.email, password: user.password },
    });
    const review = await test.request<any>('POST', `/api/v1/sessions/${seeded.id}/reviews`, {
      token: login.body.accessToken,
      body: { violationId: paste.id, decision: 'dismissed', note: 'Pasted their own name' },
    });
    expect(review.status).toBe(201);
    return { seeded, faces, paste, snapshot };
  };

  beforeAll(async () => {
    test = await startTestApp(backend);
    tenant = await test.createTenant();
    other = await test.createTenant();
  });
  afterAll(() => test?.close());

  it('explains the score, plots it, and carries reviews and the audit entries with their hashes', async () => {
    const { seeded, faces, paste, snapshot } = await reportedSession();
    const response = await test.request<any>('GET', `/api/v1/sessions/${seeded.id}/report`, {
      key: tenant.apiKey,
    });
    expect(response.status).toBe(200);
    const report = response.body;
    expect(Object.keys(report)).toEqual(
      expect.arrayContaining([
        'session',
        'exam',
        'candidate',
        'verification',
        'timeline',
        'scoreCurve',
        'violations',
        'reviews',
        'auditEntries',
      ]),
    );
    expect(report.session).toMatchObject({ id: seeded.id, suspicionScore: 12 });
    expect(report.candidate).toMatchObject({ id: seeded.candidateId, name: 'Seeded Candidate' });
    expect(report.explanation.contributions).toEqual([
      expect.objectContaining({
        violationId: faces.id,
        type: 'multiple_faces',
        severity: 'high',
        weight: 15,
        confidence: 0.8,
        durationSeconds: 14,
        points: 12,
        decision: null,
        sentence: '2 faces in view for 14 s',
      }),
      expect.objectContaining({ violationId: paste.id, points: 0, decision: 'dismissed' }),
    ]);
    // The score rises once (the dismissed paste adds nothing) and ends where the session's is.
    expect(report.scoreCurve.map((p: any) => p.score)).toEqual([0, 12]);
    expect(report.violations[0].evidence[0]).toMatchObject({ id: snapshot.id, sha256: snapshot.sha256 });
    expect(report.reviews).toEqual([
      expect.objectContaining({ violationId: paste.id, decision: 'dismissed' }),
    ]);
    const kinds = report.timeline.map((t: any) => `${t.kind}:${t.type}${t.event ? `:${t.event}` : ''}`);
    expect(kinds).toEqual(
      expect.arrayContaining([
        'violation:multiple_faces:opened',
        'violation:multiple_faces:closed',
        'review:dismissed',
      ]),
    );
    // Every audit entry is about this session and recomputes to its stored hash.
    const actions = report.auditEntries.map((e: any) => e.action);
    expect(actions).toEqual(
      expect.arrayContaining(['session.create', 'violation.open', 'violation.close', 'session.review']),
    );
    for (const entry of report.auditEntries) {
      const { prevHash, hash, ...fields } = entry;
      expect(entryHash(prevHash, { ...fields, at: new Date(fields.at) })).toBe(hash);
    }
    expect(report.auditEntries.some((e: any) => e.action === 'exam.create')).toBe(false);
  });

  it('renders the same report as a PDF for Accept: application/pdf', async () => {
    const { seeded } = await reportedSession();
    const response = await fetch(`${test.url}/api/v1/sessions/${seeded.id}/report`, {
      headers: { 'x-api-key': tenant.apiKey, accept: 'application/pdf' },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/pdf');
    const pdf = Buffer.from(await response.arrayBuffer());
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    expect(pdf.subarray(-6).toString()).toContain('%%EOF');
    // The evidence snapshot is embedded as an image.
    expect(pdf.includes(Buffer.from('/Subtype /Image'))).toBe(true);
    expect(pdf.length).toBeGreaterThan(photo().length / 2);
  });

  it('answers another tenant 404, a proctor token of another exam 403, a malformed id 404', async () => {
    const { seeded } = await reportedSession();
    const foreign = await test.request<any>('GET', `/api/v1/sessions/${seeded.id}/report`, {
      key: other.apiKey,
    });
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.code).toBe('not_found');
    const elsewhere = await seedSession(test, tenant.apiKey);
    const minted = await test.request<any>('POST', '/api/v1/proctor-tokens', {
      key: tenant.apiKey,
      body: { name: 'Scoped', examIds: [elsewhere.examId] },
    });
    const scoped = await test.request<any>('GET', `/api/v1/sessions/${seeded.id}/report`, {
      token: minted.body.token,
    });
    expect(scoped.status).toBe(403);
    const bad = await test.request<any>('GET', '/api/v1/sessions/not-a-uuid/report', { key: tenant.apiKey });
    // As everywhere in the API: an id that cannot exist is an unknown object.
    expect(bad.status).toBe(404);
    expect(bad.body.error.code).toBe('not_found');
    const anonymous = await test.request<any>('GET', `/api/v1/sessions/${seeded.id}/report`);
    expect(anonymous.status).toBe(401);
    const candidate = await test.request<any>('GET', `/api/v1/sessions/${seeded.id}/report`, {
      token: seeded.candidateToken,
    });
    expect(candidate.status).toBe(403);
  });

  describe('accessibility profiles', () => {
    const put = (candidateId: string, body: unknown, key = tenant.apiKey) =>
      test.request<any>('PUT', `/api/v1/candidates/${candidateId}/profile`, { key, body });

    it('stores a profile, changes only the fields given, audits it, and records it in the report', async () => {
      const seeded = await seedSession(test, tenant.apiKey);
      const empty = await test.request<any>('GET', `/api/v1/candidates/${seeded.candidateId}/profile`, {
        key: tenant.apiKey,
      });
      expect(empty.body).toMatchObject({ gazeExempt: false, extraTimeMinutes: 0, updatedAt: null });
      expect((await put(seeded.candidateId, { gazeExempt: true, extraTimeMinutes: 30 })).status).toBe(200);
      const changed = await put(seeded.candidateId, { speechAllowed: true });
      expect(changed.body).toMatchObject({
        candidateId: seeded.candidateId,
        gazeExempt: true,
        speechAllowed: true,
        noFullscreen: false,
        extraTimeMinutes: 30,
      });
      const report = await test.request<any>('GET', `/api/v1/sessions/${seeded.id}/report`, {
        key: tenant.apiKey,
      });
      expect(report.body.accommodations).toMatchObject({
        gazeExempt: true,
        speechAllowed: true,
        extraTimeMinutes: 30,
      });
      expect(report.body.accommodations.description).toEqual([
        'No looking-away checks (gaze exempt)',
        'Speech allowed (no talking or noise checks)',
        '30 minutes of extra time',
      ]);
      const audit = await test.request<any[]>('GET', '/api/v1/audit?limit=1000', { key: tenant.apiKey });
      expect(
        audit.body.filter((e) => e.action === 'candidate.profile' && e.target === seeded.candidateId),
      ).toHaveLength(2);
    });

    it('refuses bad fields, proctors writing, and other tenants', async () => {
      const seeded = await seedSession(test, tenant.apiKey);
      for (const body of [
        { gazeExempt: 'yes' },
        { extraTimeMinutes: -5 },
        { extraTimeMinutes: 1.5 },
        { typo: true },
      ]) {
        const response = await put(seeded.candidateId, body);
        expect(response.status, JSON.stringify(body)).toBe(400);
        expect(response.body.error.code).toBe('invalid_input');
      }
      expect((await put(seeded.candidateId, { gazeExempt: true }, other.apiKey)).status).toBe(404);
      const minted = await test.request<any>('POST', '/api/v1/proctor-tokens', {
        key: tenant.apiKey,
        body: { name: 'Reader' },
      });
      const asProctor = await test.request<any>('PUT', `/api/v1/candidates/${seeded.candidateId}/profile`, {
        token: minted.body.token,
        body: { gazeExempt: true },
      });
      expect(asProctor.status).toBe(403);
      // The proctor sees it, though.
      const read = await test.request<any>('GET', `/api/v1/candidates/${seeded.candidateId}/profile`, {
        token: minted.body.token,
      });
      expect(read.status).toBe(200);
    });

    it('switches the rules off for that candidate only (gazeExempt: no looking_away) and adds the extra time', async () => {
      const rules = new ViolationRules({
        db: test.app.context.db,
        events: new ProctoringEvents(),
        logger: createLogger('silent'),
        timings: { looking_away: { openAfterMs: 0, closeAfterMs: 0 } },
      });
      try {
        const exempt = await seedSession(test, tenant.apiKey);
        const plain = await seedSession(test, tenant.apiKey);
        await put(exempt.candidateId, { gazeExempt: true, extraTimeMinutes: 30 });
        for (const seeded of [exempt, plain]) {
          const session = {
            tenantId: tenant.tenantId,
            examId: seeded.examId,
            sessionId: seeded.id,
            policy: defaultPolicy(),
          };
          rules.report(session, 'looking_away', true, { origin: 'analysis' });
          rules.report(session, 'talking', true);
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
        const types = async (id: string) =>
          (
            await test.request<any[]>('GET', `/api/v1/sessions/${id}/violations`, { key: tenant.apiKey })
          ).body.map((v) => v.type);
        expect(await types(exempt.id)).toEqual([]);
        expect(await types(plain.id)).toEqual(['looking_away']);

        // Both started 61 minutes ago in a 60-minute exam: only the one without extra time is over.
        const { db, events } = test.app.context;
        for (const seeded of [exempt, plain]) {
          await transitionSession(
            db,
            events,
            { tenantId: tenant.tenantId, sessionId: seeded.id, actor: 'test', reason: 'candidate_joined' },
            'in_progress',
          );
          await db
            .update(sessions)
            .set({ startedAt: new Date(Date.now() - 61 * 60_000) })
            .where(eq(sessions.id, seeded.id));
        }
        // The same sweep every running service does every 15 s (it only ends overdue sessions).
        await completeOverdueSessions(db, events);
        const status = async (id: string) =>
          (await test.request<any>('GET', `/api/v1/sessions/${id}`, { key: tenant.apiKey })).body.status;
        expect(await status(plain.id)).toBe('completed');
        expect(await status(exempt.id)).toBe('in_progress');
      } finally {
        rules.close();
      }
    });
  });
});
