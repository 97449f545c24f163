import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sessionMessages, sessionNotes } from '../../server/db/index.js';
import { backends } from '../support/backends.js';
import { seedSession, startTestApp, type TestApp } from '../support/app.js';
import { connect, nextEvent, request, type ClientSocket } from '../support/sockets.js';

describe.each(backends())('chat and notes on $name', (backend) => {
  let test: TestApp;
  let tenant: { apiKey: string; tenantId: string };
  let other: { apiKey: string; tenantId: string };
  const sockets: ClientSocket[] = [];
  const open = async (namespace: '/candidate' | '/proctor', token: string) => {
    const socket = await connect(test.url, namespace, token);
    sockets.push(socket);
    return socket;
  };
  const proctorToken = async (examIds?: string[], apiKey = tenant.apiKey) => {
    const minted = await test.request<any>('POST', '/api/v1/proctor-tokens', {
      key: apiKey,
      body: { name: 'Chat Proctor', ...(examIds ? { examIds } : {}) },
    });
    return minted.body.token as string;
  };
  const login = async (role: 'admin' | 'proctor') => {
    const user = await test.createUser(tenant.tenantId, role);
    const tokens = await test.request<any>('POST', '/api/v1/auth/token', {
      body: { email: user.email, password: user.password },
    });
    return tokens.body.accessToken as string;
  };

  beforeAll(async () => {
    test = await startTestApp(backend, {}, { media: true });
    tenant = await test.createTenant();
    other = await test.createTenant();
  });
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.close();
  });
  afterAll(() => test?.close());

  it('carries messages both ways and a raised hand, stores them literally and audits them', async () => {
    const seeded = await seedSession(test, tenant.apiKey);
    const proctor = await open('/proctor', await proctorToken([seeded.examId]));
    await request(proctor, 'exam:watch', { examId: seeded.examId });
    const candidate = await open('/candidate', seeded.candidateToken);

    const markup = '  <img src=x onerror=alert(1)> & "quotes"  ';
    const toCandidate = nextEvent<any>(candidate, 'chat:message');
    const sent = await request(proctor, 'chat:send', { sessionId: seeded.id, text: markup });
    expect(sent).toMatchObject({
      ok: true,
      data: { sessionId: seeded.id, from: 'proctor', kind: 'message', text: markup.trim() },
    });
    expect(await toCandidate).toEqual(sent.ok && sent.data);

    const toProctor = nextEvent<any>(proctor, 'chat:message', (m) => m.from === 'candidate');
    const answer = await request(candidate, 'chat:send', { text: 'Line one\n\tline two' });
    expect(answer).toMatchObject({ ok: true, data: { from: 'candidate', text: 'Line one\n\tline two' } });
    expect(await toProctor).toMatchObject({ id: answer.ok && answer.data.id, sessionId: seeded.id });

    const hand = nextEvent<any>(proctor, 'chat:message', (m) => m.kind === 'help');
    const help = await request(candidate, 'chat:send', { kind: 'help' });
    expect(help).toMatchObject({ ok: true, data: { from: 'candidate', kind: 'help', text: 'I need help' } });
    await hand;

    const listed = await test.request<any[]>('GET', `/api/v1/sessions/${seeded.id}/messages`, {
      key: tenant.apiKey,
    });
    expect(listed.status).toBe(200);
    expect(listed.body.map((m) => [m.from, m.kind, m.text])).toEqual([
      ['proctor', 'message', markup.trim()],
      ['candidate', 'message', 'Line one\n\tline two'],
      ['candidate', 'help', 'I need help'],
    ]);
    // The candidate reads their own conversation (a reloaded page shows it again).
    const own = await test.request<any[]>('GET', `/api/v1/sessions/${seeded.id}/messages`, {
      token: seeded.candidateToken,
    });
    expect(own.body).toEqual(listed.body);

    const audit = await test.request<any[]>('GET', '/api/v1/audit?limit=1000', { key: tenant.apiKey });
    const entries = audit.body.filter(
      (e) => e.target === seeded.id && e.action.match(/^session\.(message|help)$/),
    );
    expect(entries.map((e) => e.action)).toEqual(['session.message', 'session.message', 'session.help']);
    expect(entries[0].details).toMatchObject({
      from: 'proctor',
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    // The log is never rewritten, so it names the words by hash only.
    expect(JSON.stringify(entries)).not.toContain('onerror');
    expect((await test.request<any>('GET', '/api/v1/audit/verify', { key: tenant.apiKey })).body.ok).toBe(
      true,
    );
  });

  it('refuses bad text, foreign sessions and a flood', async () => {
    const seeded = await seedSession(test, tenant.apiKey);
    const elsewhere = await seedSession(test, tenant.apiKey);
    const foreign = await seedSession(test, other.apiKey);
    const proctor = await open('/proctor', await proctorToken([seeded.examId]));
    const candidate = await open('/candidate', seeded.candidateToken);

    const bad: unknown[] = [
      { text: 'x'.repeat(2001) },
      { text: '   \n\t ' },
      { text: 'bell\u0007' },
      { text: 'carriage\rreturn' },
      { text: 'escape\u001b[31m' },
      { text: 'c1\u0085' },
      { text: 'lone \ud800 surrogate' },
      { text: 'nul\u0000' },
      { text: 42 },
      { sessionId: seeded.id, text: 'a candidate names no session' },
      {},
    ];
    for (const payload of bad) {
      expect(await request(candidate, 'chat:send', payload), JSON.stringify(payload)).toMatchObject({
        ok: false,
        error: { code: 'invalid_input' },
      });
      const asProctor = { sessionId: seeded.id, ...(payload as object) };
      if (!('sessionId' in (payload as object)))
        expect(await request(proctor, 'chat:send', asProctor), JSON.stringify(payload)).toMatchObject({
          ok: false,
          error: { code: 'invalid_input' },
        });
    }
    // Only the candidate raises a hand; the proctor names the session.
    for (const payload of [{ sessionId: seeded.id, kind: 'help' }, { text: 'hello' }]) {
      expect(await request(proctor, 'chat:send', payload)).toMatchObject({
        error: { code: 'invalid_input' },
      });
    }
    // 2,000 characters after trimming is the limit, not past it.
    expect(
      await request(proctor, 'chat:send', { sessionId: seeded.id, text: ` ${'y'.repeat(2000)} ` }),
    ).toMatchObject({
      ok: true,
    });

    // Another exam of the tenant (the token is limited to one), another tenant's session.
    expect(await request(proctor, 'chat:send', { sessionId: elsewhere.id, text: 'hi' })).toMatchObject({
      error: { code: 'forbidden' },
    });
    expect(await request(proctor, 'chat:send', { sessionId: foreign.id, text: 'hi' })).toMatchObject({
      error: { code: 'not_found' },
    });
    const path = (id: string) => `/api/v1/sessions/${id}/messages`;
    expect((await test.request('GET', path(foreign.id), { key: tenant.apiKey })).status).toBe(404);
    expect((await test.request('GET', path(seeded.id), { key: other.apiKey })).status).toBe(404);
    expect((await test.request('GET', path(seeded.id), { token: elsewhere.candidateToken })).status).toBe(
      403,
    );
    const scoped = await proctorToken([elsewhere.examId]);
    expect((await test.request('GET', path(seeded.id), { token: scoped })).status).toBe(403);

    // A burst passes, then the session's budget is spent, and reconnecting does not refill it.
    const answers = [];
    for (let i = 0; i < 8; i++) answers.push(await request(candidate, 'chat:send', { text: `msg ${i}` }));
    expect(answers.slice(0, 5).every((a) => a.ok)).toBe(true);
    expect(answers.at(-1)).toMatchObject({ ok: false, error: { code: 'rate_limited' } });
    candidate.close();
    const again = await open('/candidate', seeded.candidateToken);
    expect(await request(again, 'chat:send', { text: 'still here' })).toMatchObject({
      error: { code: 'rate_limited' },
    });
    expect(again.connected).toBe(true);

    // Once the session ended, nothing more is said in it.
    await test.request('POST', `/api/v1/sessions/${seeded.id}/actions`, {
      key: tenant.apiKey,
      body: { action: 'terminate' },
    });
    expect(await request(proctor, 'chat:send', { sessionId: seeded.id, text: 'too late' })).toMatchObject({
      error: { code: 'session_ended' },
    });
  });

  // Two nodes need a shared database and Redis: declared on that leg only (CI counts a skip as a failure).
  if (backend.redisUrl !== undefined)
    it('reaches a proctor on another node through the Redis adapter, both ways', async () => {
      // Nodes of one deployment share the JWT key, the database and Redis.
      const second = await startTestApp(backend, { JWT_SECRET: test.jwtSecret }, { media: true });
      try {
        const seeded = await seedSession(test, tenant.apiKey);
        const remote = await connect(second.url, '/proctor', await proctorToken([seeded.examId]));
        sockets.push(remote);
        await request(remote, 'exam:watch', { examId: seeded.examId });
        const candidate = await open('/candidate', seeded.candidateToken);

        const there = nextEvent<any>(remote, 'chat:message', (m) => m.kind === 'help');
        expect(await request(candidate, 'chat:send', { kind: 'help', text: 'Screen froze' })).toMatchObject({
          ok: true,
        });
        expect(await there).toMatchObject({ sessionId: seeded.id, from: 'candidate', text: 'Screen froze' });

        const back = nextEvent<any>(candidate, 'chat:message', (m) => m.from === 'proctor');
        const sent = await request(remote, 'chat:send', { sessionId: seeded.id, text: 'Reload the page' });
        expect(sent).toMatchObject({ ok: true });
        expect(await back).toEqual(sent.ok && sent.data);
      } finally {
        await second.close();
      }
    });

  it("keeps a proctor's notes private, validated and audited", async () => {
    const seeded = await seedSession(test, tenant.apiKey);
    const foreign = await seedSession(test, other.apiKey);
    const path = `/api/v1/sessions/${seeded.id}/notes`;
    const admin = await login('admin');
    const proctor = await login('proctor');

    const first = await test.request<any>('POST', path, {
      token: admin,
      body: { text: ' Looked off screen twice. ' },
    });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      sessionId: seeded.id,
      text: 'Looked off screen twice.',
      author: expect.stringMatching(/^user:/),
    });
    expect(
      (await test.request('POST', path, { token: proctor, body: { text: '<script>x</script>' } })).status,
    ).toBe(201);

    const listed = await test.request<any[]>('GET', path, { key: tenant.apiKey });
    expect(listed.body.map((n) => n.text)).toEqual(['Looked off screen twice.', '<script>x</script>']);

    // Never the candidate's, never in the conversation, never another tenant's.
    expect((await test.request('GET', path, { token: seeded.candidateToken })).status).toBe(403);
    expect(
      (await test.request('POST', path, { token: seeded.candidateToken, body: { text: 'mine' } })).status,
    ).toBe(403);
    const messages = await test.request<any[]>('GET', `/api/v1/sessions/${seeded.id}/messages`, {
      key: tenant.apiKey,
    });
    expect(messages.body).toEqual([]);
    expect((await test.request('GET', `/api/v1/sessions/${foreign.id}/notes`, { token: admin })).status).toBe(
      404,
    );
    expect(
      (
        await test.request('POST', `/api/v1/sessions/${foreign.id}/notes`, {
          token: admin,
          body: { text: 'x' },
        })
      ).status,
    ).toBe(404);

    for (const text of ['', 'x'.repeat(2001), 'bell\u0007']) {
      const refused = await test.request<any>('POST', path, { token: admin, body: { text } });
      expect(refused.status, JSON.stringify(text)).toBe(400);
      expect(refused.body.error.code).toBe('invalid_input');
    }
    expect((await test.request('POST', path, { token: admin, body: { text: 'ok', extra: 1 } })).status).toBe(
      400,
    );

    // Notes outlive the session: the review writes them after the exam.
    await test.request('POST', `/api/v1/sessions/${seeded.id}/actions`, {
      key: tenant.apiKey,
      body: { action: 'terminate' },
    });
    expect((await test.request('POST', path, { token: proctor, body: { text: 'Reviewed.' } })).status).toBe(
      201,
    );

    const audit = await test.request<any[]>('GET', '/api/v1/audit?limit=1000', { key: tenant.apiKey });
    const notes = audit.body.filter((e) => e.target === seeded.id && e.action === 'session.note');
    expect(notes).toHaveLength(3);
    expect(JSON.stringify(notes)).not.toContain('off screen');
  });
  it('erases the conversation and the notes with the candidate', async () => {
    const seeded = await seedSession(test, tenant.apiKey);
    const candidate = await open('/candidate', seeded.candidateToken);
    expect(await request(candidate, 'chat:send', { text: 'My name is in here' })).toMatchObject({ ok: true });
    const admin = await login('admin');
    await test.request('POST', `/api/v1/sessions/${seeded.id}/notes`, {
      token: admin,
      body: { text: 'note' },
    });
    await test.request('POST', `/api/v1/sessions/${seeded.id}/actions`, {
      key: tenant.apiKey,
      body: { action: 'terminate' },
    });
    const erased = await test.request('DELETE', `/api/v1/candidates/${seeded.candidateId}`, {
      key: tenant.apiKey,
    });
    expect(erased.status).toBe(200);
    const { db } = test.app.context;
    expect(await db.select().from(sessionMessages).where(eq(sessionMessages.sessionId, seeded.id))).toEqual(
      [],
    );
    expect(await db.select().from(sessionNotes).where(eq(sessionNotes.sessionId, seeded.id))).toEqual([]);
  });
});
