import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../support/backends.js';
import { seedSession, startTestApp, type TestApp } from '../support/app.js';

describe.each(backends())('audit log on $name', (backend) => {
  let test: TestApp;

  beforeAll(async () => {
    test = await startTestApp(backend);
  });
  afterAll(() => test?.close());

  /** A tenant with a few audited actions: tenant/key creation, exam, candidate, session, actions. */
  async function tenantWithHistory() {
    const tenant = await test.createTenant();
    const seeded = await seedSession(test, tenant.apiKey);
    await test.request('POST', `/api/v1/sessions/${seeded.id}/actions`, {
      key: tenant.apiKey,
      body: { action: 'warn', message: 'first warning' },
    });
    await test.request('POST', `/api/v1/sessions/${seeded.id}/actions`, {
      key: tenant.apiKey,
      body: { action: 'flag' },
    });
    const entries = await test.request<any[]>('GET', '/api/v1/audit?limit=1000', { key: tenant.apiKey });
    return { ...tenant, seeded, entries: entries.body };
  }

  const verify = (key: string) => test.request<any>('GET', '/api/v1/audit/verify', { key });
  const execute = (query: ReturnType<typeof sql>) => test.app.context.db.execute(query);

  it('records every mutating request as a chained entry, in order', async () => {
    const { entries, seeded, tenantId } = await tenantWithHistory();
    expect(entries.map((entry) => entry.action)).toEqual([
      'tenant.create',
      'api_client.create',
      'exam.create',
      'candidate.create',
      'session.create',
      'session.warn',
      'session.flag',
    ]);
    for (const [index, entry] of entries.entries()) {
      expect(entry).toMatchObject({
        tenant: tenantId,
        seq: index + 1,
        hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      });
      expect(entry.prevHash).toBe(index === 0 ? '0'.repeat(64) : entries[index - 1].hash);
    }
    expect(entries.at(-2)).toMatchObject({ target: seeded.id, details: { message: 'first warning' } });
  });

  it('pages with after= and limit=', async () => {
    const { apiKey, entries } = await tenantWithHistory();
    const page = await test.request<any[]>('GET', `/api/v1/audit?after=${entries[2].id}&limit=2`, {
      key: apiKey,
    });
    expect(page.body.map((entry) => entry.id)).toEqual([entries[3].id, entries[4].id]);
    expect((await test.request('GET', '/api/v1/audit?limit=0', { key: apiKey })).status).toBe(400);
    expect((await test.request('GET', `/api/v1/audit?after=${randomUUID()}`, { key: apiKey })).status).toBe(
      404,
    );
  });

  it('verifies an untouched chain', async () => {
    const { apiKey, entries } = await tenantWithHistory();
    expect((await verify(apiKey)).body).toEqual({ ok: true, checked: entries.length });
  });

  it('detects an edited entry', async () => {
    const { apiKey, entries } = await tenantWithHistory();
    const victim = entries[5];
    await execute(
      sql`update audit_log set details = '{"message":"nothing to see"}'::jsonb where id = ${victim.id}`,
    );
    expect((await verify(apiKey)).body).toEqual({ ok: false, checked: 5, firstBrokenId: victim.id });
  });

  it('detects a deleted entry', async () => {
    const { apiKey, entries } = await tenantWithHistory();
    await execute(sql`delete from audit_log where id = ${entries[3].id}`);
    expect((await verify(apiKey)).body).toEqual({ ok: false, checked: 3, firstBrokenId: entries[4].id });
  });

  it('detects reordered entries', async () => {
    const { apiKey, entries, tenantId } = await tenantWithHistory();
    // Swap the positions of entries 3 and 4 (seq is unique, so go through a free number).
    await execute(sql`update audit_log set seq = -1 where id = ${entries[2].id}`);
    await execute(sql`update audit_log set seq = 3 where id = ${entries[3].id}`);
    await execute(sql`update audit_log set seq = 4 where id = ${entries[2].id}`);
    const report = await verify(apiKey);
    expect(report.body).toEqual({ ok: false, checked: 2, firstBrokenId: entries[3].id });
    expect(tenantId).toBeTruthy();
  });

  it('detects the newest entries being cut off', async () => {
    const { apiKey, entries } = await tenantWithHistory();
    await execute(sql`delete from audit_log where id = ${entries.at(-1).id}`);
    expect((await verify(apiKey)).body).toEqual({
      ok: false,
      checked: entries.length - 1,
      firstBrokenId: entries.at(-1).id,
    });
  });

  it("keeps each tenant's chain to itself", async () => {
    const a = await tenantWithHistory();
    const b = await tenantWithHistory();
    const listed = await test.request<any[]>('GET', '/api/v1/audit?limit=1000', { key: b.apiKey });
    expect(listed.body.every((entry) => entry.tenant === b.tenantId)).toBe(true);
    // Tampering with A does not break B.
    await execute(sql`delete from audit_log where id = ${a.entries[1].id}`);
    expect((await verify(a.apiKey)).body.ok).toBe(false);
    expect((await verify(b.apiKey)).body.ok).toBe(true);
  });

  it('audits a failed login against the tenant of the e-mail', async () => {
    const tenant = await test.createTenant();
    const user = await test.createUser(tenant.tenantId, 'proctor');
    await test.request('POST', '/api/v1/auth/token', { body: { email: user.email, password: 'not-it' } });
    const entries = await test.request<any[]>('GET', '/api/v1/audit?limit=1000', { key: tenant.apiKey });
    expect(entries.body.at(-1)).toMatchObject({
      action: 'auth.login_failure',
      target: user.userId,
      actor: expect.stringMatching(/^ip:/),
    });
    expect((await verify(tenant.apiKey)).body.ok).toBe(true);
  });

  it('keeps the chain linear under concurrent writes', async () => {
    const tenant = await test.createTenant();
    const exams = await Promise.all(
      Array.from({ length: 12 }, (_, index) =>
        test.request('POST', '/api/v1/exams', {
          key: tenant.apiKey,
          body: { title: `Parallel ${index}`, durationMinutes: 10 },
        }),
      ),
    );
    expect(exams.every((response) => response.status === 201)).toBe(true);
    expect((await verify(tenant.apiKey)).body).toEqual({ ok: true, checked: 14 });
  });
});
