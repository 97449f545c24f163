import fs from 'node:fs';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evidence } from '../../server/db/index.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { testdata } from '../support/testdata.js';

/** The REST endpoints that need face analysis, on the real engine and real photos. */
describe('reference photos and one-shot verification', () => {
  let test: TestApp;
  let key: string;
  let examId: string;

  beforeAll(async () => {
    test = await startTestApp({ name: 'pglite' }, {}, { analysis: true });
    ({ apiKey: key } = await test.createTenant());
    const exam = await test.request<any>('POST', '/api/v1/exams', {
      key,
      body: { title: 'Identity', durationMinutes: 30 },
    });
    examId = exam.body.id;
  });
  afterAll(() => test?.close());

  const candidate = async (externalId: string) =>
    (
      await test.request<any>('POST', `/api/v1/exams/${examId}/candidates`, {
        key,
        body: { externalId, name: externalId },
      })
    ).body.id as string;
  const jpeg = (file: string) => fs.readFileSync(testdata(file));
  const putRaw = (id: string, bytes: Buffer, type = 'image/jpeg') =>
    test.request<any>('PUT', `/api/v1/candidates/${id}/reference`, {
      key,
      raw: bytes,
      headers: { 'content-type': type },
    });

  it('stores one face from a raw JPEG and reports its quality', async () => {
    const id = await candidate('obama');
    const response = await putRaw(id, jpeg('pairs/obama_1.jpg'));
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      faces: 1,
      quality: { width: expect.any(Number), brightness: expect.any(Number) },
    });
    expect((await test.request<any>('GET', `/api/v1/candidates/${id}`, { key })).body.hasReference).toBe(
      true,
    );
    const audit = await test.request<any[]>('GET', '/api/v1/audit?limit=1000', { key });
    expect(audit.body.at(-1)).toMatchObject({ action: 'candidate.reference', target: id });
  });

  it('erases the reference photo, its embedding and its file with the candidate', async () => {
    const id = await candidate('erase-me');
    expect((await putRaw(id, jpeg('pairs/biden_1.jpg'))).status).toBe(200);
    const [stored] = await test.app.context.db.select().from(evidence).where(eq(evidence.candidateId, id));
    expect(await test.app.context.evidenceStore.has(stored!.storageKey)).toBe(true);

    const erased = await test.request<any>('DELETE', `/api/v1/candidates/${id}`, { key });
    expect(erased.body).toEqual({ sessions: 0, evidence: 1, filesDeleted: 1 });
    expect((await test.request('GET', `/api/v1/candidates/${id}`, { key })).status).toBe(404);
    expect((await test.request('GET', `/api/v1/evidence/${stored!.id}`, { key })).status).toBe(404);
    expect(await test.app.context.evidenceStore.has(stored!.storageKey)).toBe(false);
  });

  it('accepts a data URL in JSON', async () => {
    const id = await candidate('obama-json');
    const image = `data:image/jpeg;base64,${jpeg('pairs/obama_2.jpg').toString('base64')}`;
    const response = await test.request<any>('PUT', `/api/v1/candidates/${id}/reference`, {
      key,
      body: { image },
    });
    expect(response.status).toBe(200);
    expect(response.body.faces).toBe(1);
  });

  it('refuses photos without exactly one usable face with 422', async () => {
    const id = await candidate('nobody');
    const empty = await putRaw(id, jpeg('human/background.jpg'));
    expect(empty.status).toBe(422);
    expect(empty.body.error.code).toBe('no_face');
    const group = await putRaw(id, jpeg('human/stock-models-12.jpg'));
    expect(group.status).toBe(422);
    expect(group.body.error.code).toBe('multiple_faces');
    expect((await test.request<any>('GET', `/api/v1/candidates/${id}`, { key })).body.hasReference).toBe(
      false,
    );
  });

  it('refuses what is not a JPEG or PNG with 415', async () => {
    const id = await candidate('not-an-image');
    expect((await putRaw(id, Buffer.from('GIF89a....'), 'image/gif')).status).toBe(415);
    expect((await putRaw(id, Buffer.from('not really a jpeg'))).status).toBe(415);
    const gif = await test.request<any>('PUT', `/api/v1/candidates/${id}/reference`, {
      key,
      body: { image: 'data:image/gif;base64,R0lGODlhAQABAAAAACw=' },
    });
    expect(gif.status).toBe(415);
  });

  it('verifies a photo against the reference: same person matches, another does not', async () => {
    const id = await candidate('obama-verify');
    expect((await putRaw(id, jpeg('pairs/obama_1.jpg'))).status).toBe(200);
    const verify = (file: string) =>
      test.request<any>('POST', '/api/v1/verify', {
        key,
        body: { candidateId: id, image: `data:image/jpeg;base64,${jpeg(file).toString('base64')}` },
      });
    const same = await verify('pairs/obama_2.jpg');
    expect(same.status).toBe(200);
    expect(same.body).toMatchObject({ faceMatch: true, faces: 1, similarity: expect.any(Number) });
    const other = await verify('pairs/biden_1.jpg');
    expect(other.body).toMatchObject({ faceMatch: false, faces: 1 });
    expect(other.body.similarity).toBeLessThan(same.body.similarity);
  });

  it('answers 409 for a candidate without a reference and 404 for another tenant', async () => {
    const id = await candidate('no-reference');
    const image = `data:image/jpeg;base64,${jpeg('pairs/obama_2.jpg').toString('base64')}`;
    expect(
      (await test.request<any>('POST', '/api/v1/verify', { key, body: { candidateId: id, image } })).status,
    ).toBe(409);
    const other = await test.createTenant();
    const foreign = await test.request<any>('POST', '/api/v1/verify', {
      key: other.apiKey,
      body: { candidateId: id, image },
    });
    expect(foreign.status).toBe(404);
  });
});
