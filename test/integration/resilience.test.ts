import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../support/backends.js';
import { freeTcpPort } from '../support/ports.js';
import { startTestApp, type TestApp } from '../support/app.js';

describe.each(backends())('resilience on $name', (backend) => {
  describe('with Redis unreachable', () => {
    let test: TestApp;

    beforeAll(async () => {
      test = await startTestApp(backend, {
        REDIS_URL: `redis://127.0.0.1:${await freeTcpPort()}`,
        AUTH_FAILURE_LIMIT: '3',
      });
    });
    afterAll(() => test?.close());

    it('keeps serving the API, with rate limits falling back to in-process counters', async () => {
      const { apiKey } = await test.createTenant();
      const exam = await test.request('POST', '/api/v1/exams', {
        key: apiKey,
        body: { title: 'No Redis', durationMinutes: 10 },
      });
      expect(exam.status).toBe(201);
      const statuses: number[] = [];
      for (let attempt = 0; attempt < 6; attempt += 1) {
        const response = await test.request('GET', `/api/v1/exams/${randomUUID()}`, {
          key: `vgl_${'z'.repeat(12)}_${'q'.repeat(43)}`,
        });
        statuses.push(response.status);
      }
      expect(statuses).toContain(401);
      expect(statuses.at(-1)).toBe(429);
      const ready = await test.request<any>('GET', '/readyz');
      expect(ready.body).toMatchObject({ status: 'ready', redis: 'degraded' });
    });
  });

  describe('process stability', () => {
    let test: TestApp;

    beforeAll(async () => {
      test = await startTestApp(backend);
    });
    afterAll(() => test?.close());

    it('survives a volley of hostile requests and still answers', async () => {
      const { apiKey } = await test.createTenant();
      const hostile = [
        test.request('POST', '/api/v1/exams', {
          key: apiKey,
          raw: '\u0000\u0001garbage',
          headers: { 'content-type': 'application/json' },
        }),
        test.request('POST', '/api/v1/exams', {
          key: apiKey,
          raw: '{"__proto__":{"admin":true},"title":"x","durationMinutes":1}',
          headers: { 'content-type': 'application/json' },
        }),
        test.request('POST', '/api/v1/exams', { key: apiKey, body: { title: 'x', durationMinutes: 1e308 } }),
        test.request('GET', `/api/v1/exams/${'a'.repeat(5000)}`, { key: apiKey }),
        test.request('GET', '/api/v1/audit?limit=abc&after=../../etc/passwd', { key: apiKey }),
        test.request('PUT', `/api/v1/candidates/${randomUUID()}/reference`, {
          key: apiKey,
          raw: 'GIF89a',
          headers: { 'content-type': 'image/gif' },
        }),
        test.request('POST', '/api/v1/exams', {
          key: apiKey,
          raw: JSON.stringify({
            title: 'x',
            durationMinutes: 1,
            policy: { rules: { no_face: { openAfterSeconds: -1 } } },
          }),
          headers: { 'content-type': 'application/json; charset=utf-8' },
        }),
      ];
      const statuses = (await Promise.all(hostile)).map((response) => response.status);
      expect(statuses.every((status) => status >= 400 && status < 500)).toBe(true);
      expect((await test.request('GET', '/healthz')).status).toBe(200);
    });

    it('accepts images up to 10 MB on the reference route and refuses larger ones with 413', async () => {
      const { apiKey } = await test.createTenant();
      const exam = await test.request<any>('POST', '/api/v1/exams', {
        key: apiKey,
        body: { title: 'Ref', durationMinutes: 10 },
      });
      const candidate = await test.request<any>('POST', `/api/v1/exams/${exam.body.id}/candidates`, {
        key: apiKey,
        body: { externalId: 'r1', name: 'Ref Person' },
      });
      const route = `/api/v1/candidates/${candidate.body.id}/reference`;
      const big = await test.request<any>('PUT', route, {
        key: apiKey,
        raw: Buffer.alloc(11 * 1024 * 1024, 1),
        headers: { 'content-type': 'image/jpeg' },
      });
      expect(big.status).toBe(413);
      expect(big.body.error.code).toBe('payload_too_large');
      const gif = await test.request<any>('PUT', route, {
        key: apiKey,
        raw: 'GIF89a',
        headers: { 'content-type': 'image/gif' },
      });
      expect(gif.status).toBe(415);
    });
  });
});
