import { randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../support/backends.js';
import { seedSession, startTestApp, type TestApp } from '../support/app.js';

const expectError = (response: { status: number; body: any }, status: number, code?: string) => {
  expect(response.status).toBe(status);
  expect(response.body).toEqual({ error: { code: code ?? expect.any(String), message: expect.any(String) } });
};

describe.each(backends())('authentication and tenancy on $name', (backend) => {
  let test: TestApp;
  let tenantA: { apiKey: string; tenantId: string };
  let tenantB: { apiKey: string; tenantId: string };

  beforeAll(async () => {
    // Low failure limit so the brute-force tests stay short.
    test = await startTestApp(backend, { AUTH_FAILURE_LIMIT: '5', AUTH_FAILURE_WINDOW_SECONDS: '60' });
    tenantA = await test.createTenant('Tenant A');
    tenantB = await test.createTenant('Tenant B');
  });
  afterAll(() => test?.close());

  const sign = (claims: object, options: jwt.SignOptions & { secret?: string } = {}) => {
    const { secret, ...rest } = options;
    return jwt.sign(claims, secret ?? test.jwtSecret, {
      algorithm: 'HS256',
      issuer: 'vigil',
      audience: 'vigil',
      expiresIn: 300,
      ...rest,
    });
  };

  describe('API keys', () => {
    it('requires a credential', async () => {
      expectError(await test.request('GET', `/api/v1/exams/${randomUUID()}`), 401, 'unauthorized');
    });

    it.each([
      ['a malformed key', 'not-a-key'],
      ['a well-formed unknown key', `vgl_${'a'.repeat(12)}_${'b'.repeat(43)}`],
    ])('rejects %s with 401', async (_name, key) => {
      expectError(await test.request('GET', `/api/v1/exams/${randomUUID()}`, { key }), 401, 'unauthorized');
    });

    it('rejects a real prefix with a wrong secret', async () => {
      const wrong = tenantA.apiKey.slice(0, -4) + 'AAAA';
      expectError(
        await test.request('GET', `/api/v1/exams/${randomUUID()}`, { key: wrong }),
        401,
        'unauthorized',
      );
    });

    it('stores only a hash of the key', async () => {
      const rows = await test.app.context.db.query.apiClients.findMany();
      expect(rows.length).toBeGreaterThan(0);
      for (const row of rows) {
        expect(JSON.stringify(row)).not.toContain(tenantA.apiKey);
        expect(row.keyHash).toMatch(/^[0-9a-f]{64}$/);
      }
    });
  });

  describe('tenant isolation', () => {
    it("answers 404 for every kind of another tenant's object", async () => {
      const seeded = await seedSession(test, tenantA.apiKey);
      const other = { key: tenantB.apiKey };
      expectError(await test.request('GET', `/api/v1/exams/${seeded.examId}`, other), 404, 'not_found');
      expectError(await test.request('GET', `/api/v1/sessions/${seeded.id}`, other), 404, 'not_found');
      expectError(
        await test.request('GET', `/api/v1/sessions/${seeded.id}/violations`, other),
        404,
        'not_found',
      );
      expectError(
        await test.request('GET', `/api/v1/candidates/${seeded.candidateId}`, other),
        404,
        'not_found',
      );
      expectError(
        await test.request('POST', `/api/v1/sessions/${seeded.id}/actions`, {
          ...other,
          body: { action: 'terminate' },
        }),
        404,
        'not_found',
      );
      expectError(
        await test.request('POST', `/api/v1/exams/${seeded.examId}/candidates`, {
          ...other,
          body: { externalId: 'intruder', name: 'Mallory' },
        }),
        404,
        'not_found',
      );
      expectError(
        await test.request('POST', `/api/v1/exams/${seeded.examId}/sessions`, {
          ...other,
          body: { candidateId: seeded.candidateId },
        }),
        404,
        'not_found',
      );
      expectError(
        await test.request('POST', '/api/v1/proctor-tokens', {
          ...other,
          body: { name: 'p', examIds: [seeded.examId] },
        }),
        404,
        'not_found',
      );
      // Tenant A still sees its own session untouched.
      const own = await test.request<any>('GET', `/api/v1/sessions/${seeded.id}`, { key: tenantA.apiKey });
      expect(own.body.status).toBe('created');
    });
  });

  describe('users and JWTs', () => {
    it('logs in, refreshes with rotation, and revokes the family when a used refresh token comes back', async () => {
      const user = await test.createUser(tenantA.tenantId, 'admin');
      const login = await test.request<any>('POST', '/api/v1/auth/token', {
        body: { email: user.email, password: user.password },
      });
      expect(login.status).toBe(200);
      expect(login.body).toEqual({
        accessToken: expect.any(String),
        refreshToken: expect.any(String),
        expiresIn: 900,
      });
      const decoded = jwt.decode(login.body.accessToken, { complete: true }) as jwt.Jwt;
      expect(decoded.header.alg).toBe('HS256');
      expect(decoded.payload).toMatchObject({
        iss: 'vigil',
        aud: 'vigil',
        role: 'admin',
        exp: expect.any(Number),
      });

      const exam = await test.request<any>('POST', '/api/v1/exams', {
        token: login.body.accessToken,
        body: { title: 'By admin', durationMinutes: 20 },
      });
      expect(exam.status).toBe(201);

      const refreshed = await test.request<any>('POST', '/api/v1/auth/refresh', {
        body: { refreshToken: login.body.refreshToken },
      });
      expect(refreshed.status).toBe(200);
      expect(refreshed.body.refreshToken).not.toBe(login.body.refreshToken);

      // Reusing the first token (as a thief would) fails and kills the second one too.
      expectError(
        await test.request('POST', '/api/v1/auth/refresh', {
          body: { refreshToken: login.body.refreshToken },
        }),
        401,
      );
      expectError(
        await test.request('POST', '/api/v1/auth/refresh', {
          body: { refreshToken: refreshed.body.refreshToken },
        }),
        401,
      );

      const stored = await test.app.context.db.query.users.findFirst({
        where: (u, { eq }) => eq(u.id, user.userId),
      });
      expect(stored?.passwordHash).toMatch(/^scrypt\$/);
      expect(stored?.passwordHash).not.toContain(user.password);
    });

    it('revokes a login on sign-out: its refresh token stops working', async () => {
      const user = await test.createUser(tenantA.tenantId, 'proctor');
      const login = await test.request<any>('POST', '/api/v1/auth/token', {
        body: { email: user.email, password: user.password },
      });
      const revoked = await test.request('POST', '/api/v1/auth/revoke', {
        body: { refreshToken: login.body.refreshToken },
      });
      expect(revoked.status).toBe(204);
      expectError(
        await test.request('POST', '/api/v1/auth/refresh', {
          body: { refreshToken: login.body.refreshToken },
        }),
        401,
      );
      // An unknown token is accepted silently: the call reveals nothing.
      expect(
        (await test.request('POST', '/api/v1/auth/revoke', { body: { refreshToken: 'vrt_unknown' } })).status,
      ).toBe(204);
    });

    it('rejects a wrong password with 401 and validates the login body', async () => {
      const user = await test.createUser(tenantA.tenantId, 'proctor');
      expectError(
        await test.request('POST', '/api/v1/auth/token', {
          body: { email: user.email, password: 'wrong-password' },
        }),
        401,
        'invalid_credentials',
      );
      expectError(
        await test.request('POST', '/api/v1/auth/token', { body: { email: 'not-an-email', password: 'x' } }),
        400,
      );
    });

    it.each([
      [
        'signed with another secret',
        () =>
          sign(
            { role: 'admin', typ: 'user', sub: randomUUID(), tid: randomUUID() },
            { secret: 'x'.repeat(40) },
          ),
      ],
      [
        'with alg none',
        () => unsignedToken({ role: 'admin', typ: 'user', sub: randomUUID(), tid: randomUUID() }),
      ],
      [
        'expired',
        () => sign({ role: 'admin', typ: 'user', sub: randomUUID(), tid: randomUUID() }, { expiresIn: -60 }),
      ],
      [
        'for another audience',
        () =>
          sign(
            { role: 'admin', typ: 'user', sub: randomUUID(), tid: randomUUID() },
            { audience: 'someone-else' },
          ),
      ],
      [
        'from another issuer',
        () => sign({ role: 'admin', typ: 'user', sub: randomUUID(), tid: randomUUID() }, { issuer: 'evil' }),
      ],
      ['with unknown claims', () => sign({ role: 'root', typ: 'user', sub: 'x', tid: 'y' })],
      ['that is garbage', () => 'abc.def.ghi'],
    ])('rejects a token %s with 401', async (_name, makeToken) => {
      const response = await test.request('GET', `/api/v1/exams/${randomUUID()}`, { token: makeToken() });
      expectError(response, 401);
    });

    it('answers 403 for a role that is not allowed', async () => {
      const proctor = await test.createUser(tenantA.tenantId, 'proctor');
      const login = await test.request<any>('POST', '/api/v1/auth/token', {
        body: { email: proctor.email, password: proctor.password },
      });
      expectError(
        await test.request('POST', '/api/v1/exams', {
          token: login.body.accessToken,
          body: { title: 'x', durationMinutes: 5 },
        }),
        403,
        'forbidden',
      );
      const seeded = await seedSession(test, tenantA.apiKey);
      expectError(
        await test.request('GET', `/api/v1/sessions/${seeded.id}`, { token: seeded.candidateToken }),
        403,
        'forbidden',
      );
      expectError(
        await test.request('GET', '/api/v1/audit', { token: login.body.accessToken }),
        403,
        'forbidden',
      );
    });

    it('limits a proctor token to its exams', async () => {
      const mine = await seedSession(test, tenantA.apiKey);
      const notMine = await seedSession(test, tenantA.apiKey);
      const minted = await test.request<any>('POST', '/api/v1/proctor-tokens', {
        key: tenantA.apiKey,
        body: { name: 'Proctor Pat', examIds: [mine.examId] },
      });
      expect(minted.status).toBe(201);
      const token = minted.body.token as string;
      expect((await test.request('GET', `/api/v1/sessions/${mine.id}`, { token })).status).toBe(200);
      expect((await test.request('GET', `/api/v1/exams/${mine.examId}`, { token })).status).toBe(200);
      expectError(await test.request('GET', `/api/v1/sessions/${notMine.id}`, { token }), 403, 'forbidden');
      expectError(await test.request('GET', `/api/v1/exams/${notMine.examId}`, { token }), 403, 'forbidden');
      const warned = await test.request<any>('POST', `/api/v1/sessions/${mine.id}/actions`, {
        token,
        body: { action: 'warn', message: 'Please stay in view' },
      });
      expect(warned.status).toBe(200);
      // Proctor tokens cannot mint more tokens or create exams.
      expectError(await test.request('POST', '/api/v1/proctor-tokens', { token, body: { name: 'x' } }), 403);
      expectError(
        await test.request('POST', '/api/v1/exams', { token, body: { title: 'x', durationMinutes: 5 } }),
        403,
      );
      // A proctor token of tenant A sees nothing of tenant B.
      const foreign = await seedSession(test, tenantB.apiKey);
      expectError(await test.request('GET', `/api/v1/sessions/${foreign.id}`, { token }), 404);
    });
  });

  describe('brute force', () => {
    it('answers 429 with Retry-After to a burst of bad API keys, while a good key still works', async () => {
      const statuses: number[] = [];
      let retryAfter: string | null = null;
      for (let attempt = 0; attempt < 20 && !retryAfter; attempt += 1) {
        const response = await test.request('GET', `/api/v1/exams/${randomUUID()}`, {
          key: `vgl_${randomUUID().replaceAll('-', '').slice(0, 12)}_${'x'.repeat(43)}`,
        });
        statuses.push(response.status);
        if (response.status === 429) retryAfter = response.headers.get('retry-after');
      }
      expect(statuses).toContain(429);
      expect(Number(retryAfter)).toBeGreaterThan(0);
      const good = await test.request('GET', `/api/v1/exams/${randomUUID()}`, { key: tenantA.apiKey });
      expect(good.status).toBe(404);
    });

    it('answers 429 with Retry-After to a burst of bad passwords', async () => {
      const user = await test.createUser(tenantA.tenantId, 'admin');
      let blocked: { status: number; headers: Headers } | undefined;
      for (let attempt = 0; attempt < 20 && !blocked; attempt += 1) {
        const response = await test.request('POST', '/api/v1/auth/token', {
          body: { email: user.email, password: `guess-${attempt}` },
        });
        if (response.status === 429) blocked = response;
        else expect(response.status).toBe(401);
      }
      expect(blocked?.headers.get('retry-after')).toMatch(/^\d+$/);
    });
  });
});

function unsignedToken(payload: object): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${encode({ alg: 'none', typ: 'JWT' })}.${encode({ ...payload, iss: 'vigil', aud: 'vigil', iat: now, exp: now + 300 })}.`;
}
