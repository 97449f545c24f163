import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { sessions } from '../../server/db/index.js';
import { purgeExpiredEvidence, scheduleRetention } from '../../server/evidence/index.js';
import { backends } from '../support/backends.js';
import { recordViolation, seedSession, startTestApp, type TestApp } from '../support/app.js';

const day = 86_400_000;

/**
 * EVIDENCE_RETENTION_DAYS: the bytes of an ended session's evidence go after the retention
 * period; the rows, their sha256 and an audit entry stay; content still needed elsewhere stays.
 */
describe.each(backends())('evidence retention on $name', (backend) => {
  let test: TestApp;
  let owner: { apiKey: string; tenantId: string };

  beforeAll(async () => {
    test = await startTestApp(backend);
    owner = await test.createTenant();
  });
  afterAll(() => test?.close());

  /** A session with one violation carrying evidence made of `contents`. */
  async function sessionWithEvidence(contents: string[]) {
    const seeded = await seedSession(test, owner.apiKey);
    const { evidence } = await recordViolation(
      test,
      { tenantId: owner.tenantId, examId: seeded.examId, id: seeded.id },
      { type: 'phone_detected', confidence: 0.8, snapshots: contents.map((content) => Buffer.from(content)) },
    );
    return { ...seeded, evidence };
  }

  const terminate = (sessionId: string) =>
    test.request('POST', `/api/v1/sessions/${sessionId}/actions`, {
      key: owner.apiKey,
      body: { action: 'terminate' },
    });
  const read = (evidenceId: string) =>
    test.request<any>('GET', `/api/v1/evidence/${evidenceId}`, { key: owner.apiKey });
  const sweep = (daysFromNow: number) =>
    purgeExpiredEvidence(test.app.context.db, test.app.context.evidenceStore, {
      retentionDays: 30,
      now: new Date(Date.now() + daysFromNow * day),
      batchSize: 1, // several batches even for a few rows
      tenantId: owner.tenantId, // other test files share the PostgreSQL database
    });

  it('keeps evidence within the period and of sessions still running, deletes it after, and audits it', async () => {
    const ended = await sessionWithEvidence([
      `ended snapshot ${Math.random()}`,
      `ended audio ${Math.random()}`,
    ]);
    const running = await sessionWithEvidence([`running snapshot ${Math.random()}`]);
    expect((await terminate(ended.id)).status).toBe(200);

    expect(await sweep(29)).toEqual({ items: 0, sessions: 0, filesDeleted: 0 });
    expect((await read(ended.evidence[0]!.id)).status).toBe(200);

    const outcome = await sweep(31);
    expect(outcome.sessions).toBeGreaterThanOrEqual(1);
    expect(outcome.items).toBeGreaterThanOrEqual(2);
    for (const item of ended.evidence) {
      const gone = await read(item.id);
      expect(gone.status).toBe(404);
      expect(gone.body.error.message).toMatch(/deleted on .* under the retention policy/);
      expect(await test.app.context.evidenceStore.has(item.storageKey)).toBe(false);
    }
    // The session still running keeps everything, however old.
    expect((await read(running.evidence[0]!.id)).status).toBe(200);

    // The record outlives the bytes: the violation still lists them by sha256, marked purged.
    const violations = await test.request<any[]>('GET', `/api/v1/sessions/${ended.id}/violations`, {
      key: owner.apiKey,
    });
    expect(violations.body[0].evidence).toEqual(
      ended.evidence.map((item) =>
        expect.objectContaining({ id: item.id, sha256: item.sha256, purgedAt: expect.any(String) }),
      ),
    );
    const audit = await test.request<any[]>('GET', '/api/v1/audit?limit=500', { key: owner.apiKey });
    // One entry per session and batch (batches of one row here), naming what went by sha256.
    const purges = audit.body.filter(
      (entry) => entry.action === 'evidence.purge' && entry.target === ended.id,
    );
    expect(purges.map((entry) => entry.actor)).toEqual(purges.map(() => 'system:retention'));
    expect(purges.flatMap((entry) => entry.details.sha256).sort()).toEqual(
      ended.evidence.map((item) => item.sha256).sort(),
    );
    expect((await test.request<any>('GET', '/api/v1/audit/verify', { key: owner.apiKey })).body.ok).toBe(
      true,
    );

    // A second sweep finds nothing left to do.
    expect(await sweep(31)).toEqual({ items: 0, sessions: 0, filesDeleted: 0 });
  });

  it('keeps a file that another, live piece of evidence has the same bytes as', async () => {
    const shared = `identical frame ${Math.random()}`;
    const ended = await sessionWithEvidence([shared]);
    const running = await sessionWithEvidence([shared]);
    expect(ended.evidence[0]!.storageKey).toBe(running.evidence[0]!.storageKey);
    await terminate(ended.id);

    const outcome = await sweep(31);
    expect(outcome.items).toBeGreaterThanOrEqual(1);
    expect((await read(ended.evidence[0]!.id)).status).toBe(404);
    const kept = await read(running.evidence[0]!.id);
    expect(kept.status).toBe(200);
    expect(await test.app.context.evidenceStore.has(running.evidence[0]!.storageKey)).toBe(true);
  });

  it('sweeps by itself on a schedule', async () => {
    const ended = await sessionWithEvidence([`scheduled ${Math.random()}`]);
    await terminate(ended.id);
    const { db, evidenceStore, logger } = test.app.context;
    // As if it had ended two days ago.
    await db
      .update(sessions)
      .set({ endedAt: new Date(Date.now() - 2 * day) })
      .where(eq(sessions.id, ended.id));
    const schedule = scheduleRetention({
      db,
      store: evidenceStore,
      retentionDays: 1,
      logger,
      intervalMs: 200,
    });
    try {
      let status = 200;
      for (let attempt = 0; attempt < 50 && status === 200; attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        status = (await read(ended.evidence[0]!.id)).status;
      }
      expect(status).toBe(404);
    } finally {
      await schedule.stop();
    }
  });
});
