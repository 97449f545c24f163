import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import openapiTS, { astToString } from 'openapi-typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../support/backends.js';
import { startTestApp, type TestApp } from '../support/app.js';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');

/**
 * A client program written against the generated types: it must type-check (tsc, strict), and it
 * calls three endpoints when run. `@ts-expect-error` proves the types are specific, not `any`.
 */
const clientProgram = `import createClient from 'openapi-fetch';
import type { paths } from './vigil-api.js';

const client = createClient<paths>({
  baseUrl: process.env.VIGIL_URL!,
  headers: { 'x-api-key': process.env.VIGIL_KEY! },
});
const exam = await client.POST('/api/v1/exams', { body: { title: 'Generated client', durationMinutes: 45 } });
const usage = await client.GET('/api/v1/usage', { params: { query: { from: '2026-01-01T00:00:00Z' } } });
const apiRequests: number | undefined = usage.data?.apiRequests;
const maxCandidates: number | null | undefined = usage.data?.limits.maxCandidates;
const job = await client.GET('/api/v1/jobs/{id}', { params: { path: { id: process.env.VIGIL_JOB! } } });
const rows: number | undefined = job.data?.rows.length;
const missing = await client.GET('/api/v1/jobs/{id}', {
  params: { path: { id: '00000000-0000-4000-8000-000000000000' } },
});
const code: string | undefined = missing.error?.error.code;
// @ts-expect-error the usage report has no such field
void usage.data?.noSuchField;
// @ts-expect-error durationMinutes is a number
void (() => client.POST('/api/v1/exams', { body: { title: 'x', durationMinutes: '45' } }));
console.log(
  JSON.stringify({
    examStatus: exam.response.status,
    usageStatus: usage.response.status,
    apiRequests,
    maxCandidates,
    jobStatus: job.data?.status,
    rows,
    missingStatus: missing.response.status,
    code,
  }),
);
`;

describe.each(backends())('a client generated from the OpenAPI document on $name', (backend) => {
  let test: TestApp;
  let tenant: { apiKey: string; tenantId: string };
  const workDir = path.join(root, 'node_modules', '.cache', `vigil-openapi-${backend.name}-${process.pid}`);

  beforeAll(async () => {
    test = await startTestApp(backend);
    tenant = await test.createTenant();
    fs.mkdirSync(workDir, { recursive: true });
  });
  afterAll(async () => {
    await test?.close();
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  it('declares success and error responses on every route', async () => {
    const spec = (await test.request<any>('GET', '/api/v1/openapi.json')).body;
    const operations = Object.entries(spec.paths as Record<string, Record<string, any>>).flatMap(
      ([route, methods]) =>
        Object.entries(methods).map(([method, operation]) => ({ route, method, operation })),
    );
    expect(operations.length).toBeGreaterThan(20);
    for (const { route, method, operation } of operations) {
      const statuses = Object.keys(operation.responses ?? {});
      expect(
        statuses.some((status) => status.startsWith('2')),
        `${method} ${route}`,
      ).toBe(true);
      const notFound = operation.responses['404']?.content?.['application/json']?.schema;
      expect(notFound?.properties?.error?.properties?.code?.enum, `${method} ${route}`).toContain(
        'not_found',
      );
    }
    const usage = spec.paths['/api/v1/usage'].get.responses;
    expect(usage['200'].content['application/json'].schema.properties).toHaveProperty('candidateMinutes');
    expect(usage['401'].content['application/json'].schema.properties.error.properties.code.enum).toEqual([
      'unauthorized',
      'invalid_token',
      'token_expired',
      'invalid_credentials',
    ]);
    expect(spec.paths['/api/v1/exams/{examId}/candidates'].post.responses['402']).toBeDefined();
  });

  it('generates typed code with openapi-typescript that type-checks and calls three endpoints', async () => {
    const spec = (await test.request<any>('GET', '/api/v1/openapi.json')).body;
    const types = astToString(await openapiTS(spec));
    expect(types).toContain('"/api/v1/jobs/{id}"');
    fs.writeFileSync(path.join(workDir, 'vigil-api.d.ts'), types);
    fs.writeFileSync(path.join(workDir, 'client.mts'), clientProgram);

    await run(
      process.execPath,
      [
        path.join(root, 'node_modules/typescript/bin/tsc'),
        '--noEmit',
        '--strict',
        '--target',
        'es2022',
        '--module',
        'nodenext',
        '--moduleResolution',
        'nodenext',
        '--types',
        'node',
        path.join(workDir, 'client.mts'),
      ],
      { cwd: workDir, timeout: 60_000 },
    ).catch((error: { stdout?: string }) => {
      throw new Error(`the generated client does not type-check:\n${error.stdout}`);
    });

    const examId = (
      await test.request<any>('POST', '/api/v1/exams', {
        key: tenant.apiKey,
        body: { title: 'Import target', durationMinutes: 30 },
      })
    ).body.id;
    const job = await test.request<any>('POST', `/api/v1/exams/${examId}/candidates/bulk`, {
      key: tenant.apiKey,
      raw: 'externalId,name\nc-1,Client One\n',
      headers: { 'content-type': 'text/csv' },
    });
    expect(job.status).toBe(202);

    const { stdout } = await run(process.execPath, ['--import', 'tsx', path.join(workDir, 'client.mts')], {
      cwd: root,
      env: { ...process.env, VIGIL_URL: test.url, VIGIL_KEY: tenant.apiKey, VIGIL_JOB: job.body.id },
      timeout: 60_000,
    });
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(result).toMatchObject({
      examStatus: 201,
      usageStatus: 200,
      maxCandidates: null,
      rows: expect.any(Number),
      missingStatus: 404,
      code: 'not_found',
    });
    expect(result.apiRequests).toBeGreaterThanOrEqual(3);
    expect(['queued', 'running', 'completed']).toContain(result.jobStatus);
  }, 90_000);
});
