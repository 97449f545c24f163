import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../support/backends.js';
import { recordViolation, seedSession, startTestApp, type TestApp } from '../support/app.js';

/** Evidence goes only to authorised readers of its tenant (and exam), byte for byte. */
describe.each(backends())('evidence on $name', (backend) => {
  let test: TestApp;
  let owner: { apiKey: string; tenantId: string };
  let seeded: Awaited<ReturnType<typeof seedSession>>;
  const bytes = Buffer.from('\xff\xd8\xff\xe0 not really a jpeg, but bytes to keep', 'latin1');

  beforeAll(async () => {
    test = await startTestApp(backend);
    owner = await test.createTenant();
    seeded = await seedSession(test, owner.apiKey);
    await recordViolation(
      test,
      { tenantId: owner.tenantId, examId: seeded.examId, id: seeded.id },
      { snapshots: [bytes] },
    );
  });
  afterAll(() => test?.close());

  const evidenceRef = async () => {
    const violations = await test.request<any[]>('GET', `/api/v1/sessions/${seeded.id}/violations`, {
      key: owner.apiKey,
    });
    return violations.body[0].evidence[0] as { id: string; url: string; sha256: string; kind: string };
  };

  it('lists the evidence with its violation and serves the same bytes', async () => {
    const ref = await evidenceRef();
    expect(ref).toMatchObject({ kind: 'snapshot', url: `/api/v1/evidence/${ref.id}` });
    expect(ref.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    const response = await fetch(`${test.url}${ref.url}`, { headers: { 'x-api-key': owner.apiKey } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/jpeg');
    expect(response.headers.get('x-content-sha256')).toBe(ref.sha256);
    expect(Buffer.from(await response.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it('answers 404 to another tenant, 403 to a proctor of another exam and to the candidate', async () => {
    const ref = await evidenceRef();
    const stranger = await test.createTenant();
    expect((await test.request('GET', ref.url, { key: stranger.apiKey })).status).toBe(404);
    const other = await seedSession(test, owner.apiKey);
    const scoped = await test.request<any>('POST', '/api/v1/proctor-tokens', {
      key: owner.apiKey,
      body: { name: 'Other exam proctor', examIds: [other.examId] },
    });
    expect((await test.request('GET', ref.url, { token: scoped.body.token })).status).toBe(403);
    expect((await test.request('GET', ref.url, { token: seeded.candidateToken })).status).toBe(403);
    const allowed = await test.request<any>('POST', '/api/v1/proctor-tokens', {
      key: owner.apiKey,
      body: { name: 'This exam proctor', examIds: [seeded.examId] },
    });
    expect((await test.request('GET', ref.url, { token: allowed.body.token })).status).toBe(200);
  });
});
