import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transitionSession } from '../../server/proctoring/index.js';
import { backends } from '../support/backends.js';
import { recordViolation, seedSession, startTestApp, type TestApp } from '../support/app.js';

/** DELETE /candidates/:id: a candidate's data goes on request, all of it, and only theirs. */
describe.each(backends())('erasing a candidate on $name', (backend) => {
  let test: TestApp;
  let owner: { apiKey: string; tenantId: string };

  beforeAll(async () => {
    test = await startTestApp(backend);
    owner = await test.createTenant();
  });
  afterAll(() => test?.close());

  /** A candidate with an ended session holding one violation with evidence made of `content`. */
  async function candidateWithHistory(content: string) {
    const seeded = await seedSession(test, owner.apiKey);
    const { evidence } = await recordViolation(
      test,
      { tenantId: owner.tenantId, examId: seeded.examId, id: seeded.id },
      { snapshots: [Buffer.from(content)] },
    );
    const { db, events } = test.app.context;
    await transitionSession(
      db,
      events,
      { tenantId: owner.tenantId, sessionId: seeded.id, actor: 'test', reason: 'test' },
      'terminated',
    );
    return { ...seeded, evidence: evidence[0]! };
  }
  const erase = (candidateId: string, key = owner.apiKey) =>
    test.request<any>('DELETE', `/api/v1/candidates/${candidateId}`, { key });

  it('erases sessions, violations and evidence files, keeps what others share, and audits it', async () => {
    const shared = `same frame ${Math.random()}`;
    const gone = await candidateWithHistory(shared);
    const other = await candidateWithHistory(shared); // identical bytes, another candidate

    const erased = await erase(gone.candidateId);
    expect(erased.status).toBe(200);
    expect(erased.body).toEqual({ sessions: 1, evidence: 1, filesDeleted: 0 });

    for (const path of [
      `/api/v1/candidates/${gone.candidateId}`,
      `/api/v1/sessions/${gone.id}`,
      `/api/v1/sessions/${gone.id}/violations`,
      `/api/v1/evidence/${gone.evidence.id}`,
    ]) {
      expect((await test.request('GET', path, { key: owner.apiKey })).status, path).toBe(404);
    }
    // The other candidate's evidence, with the same bytes, is untouched.
    const kept = await test.request('GET', `/api/v1/evidence/${other.evidence.id}`, { key: owner.apiKey });
    expect(kept.status).toBe(200);

    const audit = await test.request<any[]>('GET', '/api/v1/audit?limit=1000', { key: owner.apiKey });
    expect(audit.body.find((entry) => entry.action === 'candidate.erase')).toMatchObject({
      target: gone.candidateId,
      details: { sessions: 1, evidence: 1 },
    });
    expect((await test.request<any>('GET', '/api/v1/audit/verify', { key: owner.apiKey })).body.ok).toBe(
      true,
    );

    // Once nobody needs the bytes, erasing the last owner deletes the file.
    expect((await erase(other.candidateId)).body).toEqual({ sessions: 1, evidence: 1, filesDeleted: 1 });
    expect(await test.app.context.evidenceStore.has(other.evidence.storageKey)).toBe(false);
  });

  it('refuses while a session is open, for other tenants and for proctors', async () => {
    const live = await seedSession(test, owner.apiKey);
    const refused = await erase(live.candidateId);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({
      code: 'conflict',
      message: expect.stringContaining('end it'),
    });

    const stranger = await test.createTenant();
    expect((await erase(live.candidateId, stranger.apiKey)).status).toBe(404);
    const proctor = await test.request<any>('POST', '/api/v1/proctor-tokens', {
      key: owner.apiKey,
      body: { name: 'Proctor' },
    });
    const byProctor = await test.request('DELETE', `/api/v1/candidates/${live.candidateId}`, {
      token: proctor.body.token,
    });
    expect(byProctor.status).toBe(403);
    expect((await erase('not-a-candidate')).status).toBe(404);
    // Still there.
    expect((await test.request('GET', `/api/v1/sessions/${live.id}`, { key: owner.apiKey })).status).toBe(
      200,
    );
  });
});
