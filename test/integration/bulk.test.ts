import fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTenantPlan } from '../../server/usage/index.js';
import { backends, type Backend } from '../support/backends.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { testdata } from '../support/testdata.js';
import { zipArchive } from '../support/zip.js';

interface Upload {
  status: number;
  body: any;
}

/** The import API as a client uses it: raw bodies, multipart forms, and polling the job. */
function importClient(test: TestApp) {
  const route = (examId: string) => `/api/v1/exams/${examId}/candidates/bulk`;
  return {
    raw(key: string, examId: string, body: string | Buffer, contentType: string, headers = {}) {
      return test.request<any>('POST', route(examId), {
        key,
        raw: body,
        headers: { 'content-type': contentType, ...headers },
      });
    },
    async form(
      key: string,
      examId: string,
      parts: Array<[field: string, bytes: string | Buffer, filename: string, type: string]>,
    ): Promise<Upload> {
      const form = new FormData();
      for (const [field, bytes, filename, type] of parts) {
        form.append(
          field,
          new Blob([typeof bytes === 'string' ? bytes : new Uint8Array(bytes)], { type }),
          filename,
        );
      }
      const response = await fetch(`${test.url}${route(examId)}`, {
        method: 'POST',
        headers: { 'x-api-key': key },
        body: form,
      });
      return { status: response.status, body: await response.json() };
    },
    /** Polls `GET /jobs/:id` until the job has finished. */
    async finished(key: string, jobId: string, timeoutMs = 30_000): Promise<any> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const job = await test.request<any>('GET', `/api/v1/jobs/${jobId}`, { key });
        expect(job.status).toBe(200);
        if (job.body.status === 'completed' || job.body.status === 'failed') return job.body;
        if (Date.now() > deadline)
          throw new Error(`job ${jobId} still ${job.body.status} after ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
  };
}

async function newExam(test: TestApp, key: string): Promise<string> {
  const exam = await test.request<any>('POST', '/api/v1/exams', {
    key,
    body: { title: 'Bulk exam', durationMinutes: 60 },
  });
  return exam.body.id as string;
}

const listCandidates = async (test: TestApp, key: string, examId: string) =>
  (await test.request<any[]>('GET', `/api/v1/exams/${examId}/candidates`, { key })).body;

describe.each(backends())('bulk candidate import on $name', (backend: Backend) => {
  let test: TestApp;
  let tenant: { apiKey: string; tenantId: string };
  let client: ReturnType<typeof importClient>;

  beforeAll(async () => {
    test = await startTestApp(backend);
    tenant = await test.createTenant();
    client = importClient(test);
  });
  afterAll(() => test?.close());

  it('imports CSV rows on their own, and a re-run updates by external id', async () => {
    const examId = await newExam(test, tenant.apiKey);
    const csv = [
      'externalId,name',
      's-1,Ada Lovelace',
      's-2,"Hopper, Grace"',
      's-3,', // no name: fails its row
      's-4,Alan Turing,extra', // one field too many
      '"s-5","Emmy ""E."" Noether"',
    ].join('\r\n');
    const answer = await client.raw(tenant.apiKey, examId, csv, 'text/csv');
    expect(answer.status).toBe(202);
    expect(answer.headers.get('location')).toBe(`/api/v1/jobs/${answer.body.id}`);
    expect(answer.body).toMatchObject({ kind: 'candidates.bulk', examId, total: 5 });
    const job = await client.finished(tenant.apiKey, answer.body.id);
    expect(job).toMatchObject({
      status: 'completed',
      total: 5,
      processed: 5,
      created: 3,
      updated: 0,
      failed: 2,
    });
    expect(
      job.rows.map((row: any) => [row.row, row.externalId, row.status, row.error?.code ?? null]),
    ).toEqual([
      [1, 's-1', 'created', null],
      [2, 's-2', 'created', null],
      [3, 's-3', 'failed', 'invalid_input'],
      [4, 's-4', 'failed', 'invalid_input'],
      [5, 's-5', 'created', null],
    ]);
    expect(job.rows[2].error.message).toContain('name');
    const names = (await listCandidates(test, tenant.apiKey, examId)).map((c) => c.name).sort();
    expect(names).toEqual(['Ada Lovelace', 'Emmy "E." Noether', 'Hopper, Grace']);

    const again = await client.raw(
      tenant.apiKey,
      examId,
      csv.replace('Ada Lovelace', 'Ada King'),
      'text/csv',
    );
    const rerun = await client.finished(tenant.apiKey, again.body.id);
    expect(rerun).toMatchObject({ created: 0, updated: 3, failed: 2 });
    expect(rerun.rows[0].candidateId).toBe(job.rows[0].candidateId);
    const after = await listCandidates(test, tenant.apiKey, examId);
    expect(after).toHaveLength(3);
    expect(after.map((c) => c.name)).toContain('Ada King');
  });

  it('takes JSON lists and NDJSON, a bad line failing only its row', async () => {
    const examId = await newExam(test, tenant.apiKey);
    const json = await test.request<any>('POST', `/api/v1/exams/${examId}/candidates/bulk`, {
      key: tenant.apiKey,
      body: {
        candidates: [
          { externalId: 'j-1', name: 'Jay' },
          { externalId: 'j-2', name: 'Kay', extra: 1 },
        ],
      },
    });
    expect(json.status).toBe(202);
    const fromJson = await client.finished(tenant.apiKey, json.body.id);
    expect(fromJson).toMatchObject({ created: 1, failed: 1 });
    expect(fromJson.rows[1]).toMatchObject({ externalId: 'j-2', error: { code: 'invalid_input' } });

    const ndjson = [
      '{"externalId":"n-1","name":"En"}',
      '{broken',
      '',
      '{"externalId":"j-1","name":"Jay"}',
    ].join('\n');
    const lines = await client.raw(tenant.apiKey, examId, ndjson, 'application/x-ndjson');
    const fromLines = await client.finished(tenant.apiKey, lines.body.id);
    expect(fromLines).toMatchObject({ total: 3, created: 1, updated: 1, failed: 1 });
    expect(fromLines.rows[1].error.message).toContain('not JSON');
  });

  it('answers clear errors for files it cannot read, before any row is imported', async () => {
    const examId = await newExam(test, tenant.apiKey);
    const refused = async (answer: Promise<Upload>, status: number, code: string, text: string) => {
      const { status: got, body } = await answer;
      expect({ got, code: body.error?.code }).toEqual({ got: status, code });
      expect(body.error.message).toContain(text);
    };
    await refused(
      client.raw(tenant.apiKey, examId, 'id,fullName\nx,y', 'text/csv'),
      400,
      'invalid_input',
      'header',
    );
    await refused(
      client.raw(tenant.apiKey, examId, 'externalId,name\n"open,quote\n', 'text/csv'),
      400,
      'invalid_input',
      'CSV cannot be read',
    );
    await refused(client.raw(tenant.apiKey, examId, '', 'text/csv'), 400, 'invalid_input', 'empty');
    await refused(
      client.raw(tenant.apiKey, examId, 'externalId,name\n', 'text/csv'),
      400,
      'invalid_input',
      'no rows',
    );
    await refused(
      client.raw(tenant.apiKey, examId, 'a,b', 'text/plain'),
      415,
      'unsupported_media_type',
      'unsupported',
    );
    await refused(
      test.request('POST', `/api/v1/exams/${examId}/candidates/bulk`, {
        key: tenant.apiKey,
        body: { rows: [] },
      }),
      400,
      'invalid_input',
      'JSON list',
    );
    const csv = 'externalId,name\nz-1,Zed\n';
    const csvPart: [string, string, string, string] = ['candidates', csv, 'roster.csv', 'text/csv'];
    await refused(
      client.form(tenant.apiKey, examId, [
        csvPart,
        ['photos', 'not a zip at all', 'photos.zip', 'application/zip'],
      ]),
      400,
      'invalid_input',
      'not a readable ZIP',
    );
    const gif = zipArchive([['z-1.gif', Buffer.from('GIF89a')]]);
    await refused(
      client.form(tenant.apiKey, examId, [csvPart, ['photos', gif, 'p.zip', 'application/zip']]),
      400,
      'invalid_input',
      'z-1.gif',
    );
    const twice = zipArchive([
      ['z-1.jpg', Buffer.from('a')],
      ['dir/z-1.png', Buffer.from('b')],
    ]);
    await refused(
      client.form(tenant.apiKey, examId, [csvPart, ['photos', twice, 'p.zip', 'application/zip']]),
      400,
      'invalid_input',
      'two photos for z-1',
    );
    await refused(
      client.form(tenant.apiKey, examId, [['photos', gif, 'p.zip', 'application/zip']]),
      400,
      'invalid_input',
      '"candidates" file',
    );
    await refused(
      client.form(tenant.apiKey, examId, [csvPart, ['extra', 'x', 'x.txt', 'text/plain']]),
      400,
      'invalid_input',
      'unexpected file',
    );
    await refused(
      client.form(tenant.apiKey, examId, [['candidates', 'x', 'roster.xlsx', 'application/vnd.ms-excel']]),
      415,
      'unsupported_media_type',
      'CSV, NDJSON or JSON',
    );
    // None of that made a candidate or a job folder.
    expect(await listCandidates(test, tenant.apiKey, examId)).toEqual([]);
    expect(fs.readdirSync(`${test.dataDir}/bulk`).filter((entry) => !entry.startsWith('.'))).toEqual([]);
  });

  it('keeps tenants apart, counts rows against the plan and needs the engine for photos', async () => {
    const examId = await newExam(test, tenant.apiKey);
    const other = await test.createTenant();
    const foreign = await client.raw(other.apiKey, examId, 'externalId,name\nx,X', 'text/csv');
    expect(foreign.status).toBe(404);
    const mine = await client.raw(tenant.apiKey, examId, 'externalId,name\nx,X', 'text/csv');
    expect(
      (await test.request<any>('GET', `/api/v1/jobs/${mine.body.id}`, { key: other.apiKey })).status,
    ).toBe(404);
    expect(
      (await test.request<any>('GET', `/api/v1/jobs/${randomUUID()}`, { key: tenant.apiKey })).status,
    ).toBe(404);
    await client.finished(tenant.apiKey, mine.body.id);

    const limited = await test.createTenant();
    await setTenantPlan(test.app.context.db, {
      tenantId: limited.tenantId,
      plan: 'free',
      limits: { maxCandidates: 2 },
    });
    const limitedExam = await newExam(test, limited.apiKey);
    const rows = [
      'externalId,name,photo',
      'q-1,Q1,',
      'q-2,Q2,"data:image/png;base64,iVBORw0KGgo="',
      'q-3,Q3,',
      'q-4,Q4,',
    ].join('\n');
    const answer = await client.raw(limited.apiKey, limitedExam, rows, 'text/csv');
    const job = await client.finished(limited.apiKey, answer.body.id);
    expect(job).toMatchObject({ created: 1, failed: 3 });
    // q-2 is created, but without the engine its photo is refused.
    expect(job.rows[1]).toMatchObject({
      status: 'failed',
      photo: 'rejected',
      error: { code: 'not_implemented' },
    });
    expect(job.rows[1].candidateId).toEqual(expect.any(String));
    expect(job.rows.slice(2).map((row: any) => row.error.code)).toEqual(['quota_exceeded', 'quota_exceeded']);
    expect(job.rows[2].error.message).toContain('maxCandidates');
  });

  it('replays an import sent again with its Idempotency-Key', async () => {
    const examId = await newExam(test, tenant.apiKey);
    const key = randomUUID();
    const csv = 'externalId,name\ni-1,Idem\n';
    const first = await client.raw(tenant.apiKey, examId, csv, 'text/csv', { 'idempotency-key': key });
    const second = await client.raw(tenant.apiKey, examId, csv, 'text/csv', { 'idempotency-key': key });
    expect(second.status).toBe(202);
    expect(second.body.id).toBe(first.body.id);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    const different = await client.raw(tenant.apiKey, examId, `${csv}i-2,Other\n`, 'text/csv', {
      'idempotency-key': key,
    });
    expect(different.status).toBe(409);
  });
});

/** Photos through the real analysis engine (slow to start, so on the embedded leg only). */
/** Every 20th row brings a photo, and row 2 one as a data URL: 11 in all, 5 of them bad (a busy 2-core machine analyses about 0.4/s). */
const photoEvery = 20;

describe('bulk import of 200 rows with photos on the real engine', () => {
  let test: TestApp;
  let key: string;
  let client: ReturnType<typeof importClient>;

  beforeAll(async () => {
    test = await startTestApp({ name: 'pglite' }, {}, { analysis: true });
    ({ apiKey: key } = await test.createTenant());
    client = importClient(test);
  });
  afterAll(() => test?.close());

  it('stores the good reference photos and fails the 5 bad ones on their own rows', async () => {
    const examId = await newExam(test, key);
    const good = [
      'pairs/clapton_2.jpg',
      'pairs/jack_dorsey_3.jpg',
      'pairs/sundar_pichai_2.jpg',
      'pairs/katy_perry_3.jpg',
    ].map((file) => fs.readFileSync(testdata(file)));
    const noFace = fs.readFileSync(testdata('human/background.jpg'));
    const groupOfFour = fs.readFileSync(testdata('human/group-3.jpg'));
    const bad = new Map<number, 'no_face' | 'multiple_faces'>([
      [20, 'no_face'],
      [60, 'multiple_faces'],
      [100, 'no_face'],
      [160, 'multiple_faces'],
      [200, 'no_face'],
    ]);
    const lines = ['externalId,name,photo'];
    const photos: Array<[string, Buffer]> = [];
    for (let row = 1; row <= 200; row += 1) {
      const externalId = `cand-${String(row).padStart(3, '0')}`;
      const kind = bad.get(row);
      const bytes =
        kind === 'no_face' ? noFace : kind === 'multiple_faces' ? groupOfFour : good[row % good.length]!;
      if (row === 2) {
        // One photo as a data URL in the CSV; the others come from the ZIP.
        lines.push(`${externalId},Candidate ${row},"data:image/jpeg;base64,${bytes.toString('base64')}"`);
        continue;
      }
      lines.push(`${externalId},Candidate ${row},`);
      if (row % photoEvery === 0) photos.push([`${externalId}.jpg`, bytes]);
    }
    const photoCount = photos.length + 1;
    const started = performance.now();
    const answer = await client.form(key, examId, [
      ['candidates', lines.join('\n'), 'roster.csv', 'text/csv'],
      ['photos', zipArchive(photos), 'photos.zip', 'application/zip'],
    ]);
    expect(answer.status).toBe(202);
    expect(answer.body.total).toBe(200);
    const job = await client.finished(key, answer.body.id, 100_000);
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `bulk import: 200 rows, ${photoCount} photos in ${seconds.toFixed(1)} s = ${(photoCount / seconds).toFixed(2)} photos/s`,
    );
    expect(job).toMatchObject({ status: 'completed', processed: 200, created: 195, failed: 5 });
    const failures = job.rows.filter((row: any) => row.status === 'failed');
    expect(failures.map((row: any) => [row.row, row.error.code, row.photo])).toEqual(
      [...bad].map(([row, code]) => [row, code, 'rejected']),
    );
    expect(job.rows.filter((row: any) => row.photo === 'stored')).toHaveLength(photoCount - 5);
    expect(job.rows[1]).toMatchObject({ externalId: 'cand-002', photo: 'stored' });
    const candidates = await listCandidates(test, key, examId);
    expect(candidates).toHaveLength(200);
    expect(candidates.filter((c) => c.hasReference)).toHaveLength(photoCount - 5);
    // The folder the upload waited in is gone once the job is done.
    expect(fs.existsSync(`${test.dataDir}/bulk/${answer.body.id}`)).toBe(false);
  }, 150_000);
});
