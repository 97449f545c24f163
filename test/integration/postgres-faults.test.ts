/**
 * Issue 9, defect 6: PostgreSQL stopped or frozen under the service. A private cluster (initdb +
 * pg_ctl on its own loopback port and socket directory), never the machine's own server. Runs on
 * the PostgreSQL leg (CI), where the server binaries are installed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../support/backends.js';
import { defaultPolicy, ViolationRules } from '../../server/proctoring/index.js';
import { createLogger } from '../../server/shared/index.js';
import { seedSession, startTestApp, type TestApp } from '../support/app.js';
import { postgresBinDir, PrivatePostgres } from '../support/private-postgres.js';

const onPostgresLeg = backends().some((backend) => backend.name === 'postgres') && !!postgresBinDir();
const timeoutSeconds = 2;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.runIf(onPostgresLeg)('PostgreSQL stopped and frozen (private cluster)', () => {
  let cluster: PrivatePostgres;
  let test: TestApp;
  let apiKey: string;
  let tenantId: string;
  let examId: string;

  beforeAll(async () => {
    cluster = await PrivatePostgres.create();
    test = await startTestApp(
      { name: 'postgres', databaseUrl: cluster.url },
      { DATABASE_TIMEOUT_SECONDS: String(timeoutSeconds) },
    );
    ({ apiKey, tenantId } = await test.createTenant());
    const exam = await test.request<any>('POST', '/api/v1/exams', {
      key: apiKey,
      body: { title: 'Before the outage', durationMinutes: 30 },
    });
    expect(exam.status).toBe(201);
    examId = exam.body.id;
  }, 60_000);
  afterAll(async () => {
    cluster?.signal('SIGCONT');
    await test?.close();
    cluster?.destroy();
  });

  const timed = async <T>(work: () => Promise<T>) => {
    const started = Date.now();
    const result = await work();
    return { result, ms: Date.now() - started };
  };
  const getExam = () => test.request<any>('GET', `/api/v1/exams/${examId}`, { key: apiKey });
  const recovered = async () => {
    for (let attempt = 0; attempt < 40; attempt += 1) {
      if ((await getExam()).status === 200) return true;
      await sleep(500);
    }
    return false;
  };

  it('answers 503 unavailable with Retry-After while stopped, and recovers with nothing lost', async () => {
    cluster.stop();
    try {
      for (let round = 0; round < 3; round += 1) {
        const { result, ms } = await timed(getExam);
        expect(result.status).toBe(503);
        expect(result.body).toEqual({ error: { code: 'unavailable', message: expect.any(String) } });
        expect(result.headers.get('retry-after')).toBe('5');
        expect(ms).toBeLessThan((timeoutSeconds + 5) * 1000 + 1500);
      }
      const ready = await timed(() => test.request<any>('GET', '/readyz'));
      expect(ready.result.status).toBe(503);
      expect(ready.ms).toBeLessThan(timeoutSeconds * 1000 + 1500);
    } finally {
      cluster.start();
    }
    expect(await recovered()).toBe(true);
    expect((await getExam()).body).toMatchObject({ id: examId, title: 'Before the outage' });
  }, 60_000);

  it('never hangs longer than the configured timeout while frozen (SIGSTOP), and recovers', async () => {
    cluster.signal('SIGSTOP');
    try {
      const [api, ready] = await Promise.all([
        timed(getExam),
        timed(() => test.request<any>('GET', '/readyz')),
      ]);
      expect(api.result.status).toBe(503);
      expect(api.result.body.error.code).toBe('unavailable');
      expect(api.ms).toBeLessThan((timeoutSeconds + 5) * 1000 + 1500);
      expect(ready.result.status).toBe(503);
      expect(ready.ms).toBeLessThan(timeoutSeconds * 1000 + 1500);
    } finally {
      cluster.signal('SIGCONT');
    }
    expect(await recovered()).toBe(true);
  }, 60_000);

  it('stores a violation raised while the database is stopped once it is back, then announces it', async () => {
    const seeded = await seedSession(test, apiKey);
    const { db, events } = test.app.context;
    const rules = new ViolationRules({ db, events, logger: createLogger('silent') });
    const announced = new Promise<any>((resolve) =>
      events.on('violation:opened', (event) => event.sessionId === seeded.id && resolve(event.violation)),
    );
    cluster.stop();
    let stored: Promise<void> = Promise.resolve();
    try {
      stored = rules.instant(
        { tenantId, examId: seeded.examId, sessionId: seeded.id, policy: defaultPolicy() },
        'copy_paste',
        { source: 'client' },
      );
      await sleep(1500);
    } finally {
      cluster.start();
    }
    await stored;
    const late = sleep(15_000).then(() => 'never announced');
    expect(await Promise.race([announced, late])).toMatchObject({ type: 'copy_paste', sessionId: seeded.id });
    const violations = await test.request<any[]>('GET', `/api/v1/sessions/${seeded.id}/violations`, {
      key: apiKey,
    });
    expect(violations.body.map((violation) => violation.type)).toEqual(['copy_paste']);
    rules.close();
  }, 60_000);
});
