import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildContext, createApp, type AppOptions, type VigilApp } from '../../server/app/index.js';
import { createApiClient, createUser } from '../../server/auth/index.js';
import { loadConfig } from '../../server/config/index.js';
import type { ViolationType } from '../../server/db/index.js';
import { storeEvidence } from '../../server/evidence/index.js';
import { openViolation } from '../../server/proctoring/index.js';
import { createLogger } from '../../server/shared/index.js';
import type { Backend } from './backends.js';
import { reserveRtcPorts } from './ports.js';

export interface Response<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

export interface RequestOptions {
  key?: string;
  token?: string;
  body?: unknown;
  /** Sent as-is (no JSON encoding); pair with a content-type header. */
  raw?: string | Buffer;
  headers?: Record<string, string>;
}

export interface TestApp {
  url: string;
  app: VigilApp;
  dataDir: string;
  jwtSecret: string;
  request<T = any>(method: string, route: string, options?: RequestOptions): Promise<Response<T>>;
  /** A fresh tenant with its own API key, so tests never share objects. */
  createTenant(name?: string): Promise<{ apiKey: string; tenantId: string }>;
  createUser(
    tenantId: string,
    role: 'admin' | 'proctor',
  ): Promise<{ email: string; password: string; userId: string }>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** Start the SFU and socket.io too (a real mediasoup worker). */
  media?: boolean;
  /** Load the analysis models (Human, face-api, VAD) and watch streams; slow to start. */
  analysis?: boolean;
  onDecision?: AppOptions['onDecision'];
  timings?: AppOptions['timings'];
  webhooks?: AppOptions['webhooks'];
}

/** Starts the real service on a free port against `backend`. */
export async function startTestApp(
  backend: Backend,
  env: Record<string, string> = {},
  options: TestAppOptions = {},
): Promise<TestApp> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-test-'));
  // An RTC range of its own, so parallel test apps never share a media port.
  const rtcPorts = await reserveRtcPorts();
  const jwtSecret = randomBytes(32).toString('hex');
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    JWT_SECRET: jwtSecret,
    LOG_LEVEL: 'silent',
    ...(backend.databaseUrl ? { DATABASE_URL: backend.databaseUrl } : {}),
    ...(backend.redisUrl ? { REDIS_URL: backend.redisUrl } : {}),
    ...rtcPorts.env,
    ...env,
  });
  const context = await buildContext(config, {
    logger: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
    redisKeyPrefix: `vigil-test-${randomUUID()}`,
  });
  const app = await createApp(context, {
    media: options.media ?? false,
    analysis: options.analysis ?? false,
    // One analysis thread: these suites check behaviour, and each thread loads ~400 MB of models.
    analysisThreads: 1,
    timings: options.timings,
    webhooks: options.webhooks,
    onDecision: options.onDecision,
  });
  const url = await app.listen(0, '127.0.0.1');

  async function request<T>(
    method: string,
    route: string,
    options: RequestOptions = {},
  ): Promise<Response<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.key) headers['x-api-key'] = options.key;
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let body: string | Buffer | undefined;
    if (options.raw !== undefined) body = options.raw;
    else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(`${url}${route}`, { method, headers, body });
    const text = await response.text();
    let parsed: unknown = text;
    if (response.headers.get('content-type')?.includes('application/json'))
      parsed = text ? JSON.parse(text) : undefined;
    return { status: response.status, headers: response.headers, body: parsed as T };
  }

  return {
    url,
    app,
    dataDir,
    jwtSecret,
    request,
    async createTenant(name = `tenant-${randomUUID().slice(0, 8)}`) {
      const created = await createApiClient(context.db, { name, actor: 'test' });
      return { apiKey: created.key, tenantId: created.tenantId };
    },
    async createUser(tenantId, role) {
      const email = `${role}-${randomUUID()}@example.test`;
      const password = `pw-${randomUUID()}`;
      const { userId } = await createUser(context.db, { email, password, role, tenantId, actor: 'test' });
      return { email, password, userId };
    },
    async close() {
      await app.close();
      rtcPorts.release();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Creates exam → candidate → session through the API; returns their ids and the candidate token. */
export async function seedSession(test: TestApp, apiKey: string) {
  const exam = await test.request<{ id: string }>('POST', '/api/v1/exams', {
    key: apiKey,
    body: { title: 'Seeded exam', durationMinutes: 60 },
  });
  const candidate = await test.request<{ id: string }>('POST', `/api/v1/exams/${exam.body.id}/candidates`, {
    key: apiKey,
    body: { externalId: `ext-${randomUUID()}`, name: 'Seeded Candidate' },
  });
  const session = await test.request<{ id: string; candidateToken: string; joinUrl: string }>(
    'POST',
    `/api/v1/exams/${exam.body.id}/sessions`,
    { key: apiKey, body: { candidateId: candidate.body.id } },
  );
  if (session.status !== 201) throw new Error(`seeding failed: ${JSON.stringify(session.body)}`);
  return { examId: exam.body.id, candidateId: candidate.body.id, ...session.body };
}

/**
 * A server-seen violation of `session`, stored with one snapshot per item of `snapshots` (the
 * bytes), the way the monitor records them: evidence first, then the violation naming it.
 */
export async function recordViolation(
  test: TestApp,
  session: { tenantId: string; examId: string; id: string },
  options: { type?: ViolationType; confidence?: number; snapshots: Buffer[] },
) {
  const { db, evidenceStore, events } = test.app.context;
  const evidence = [];
  for (const bytes of options.snapshots) {
    evidence.push(
      await storeEvidence(db, evidenceStore, {
        tenantId: session.tenantId,
        sessionId: session.id,
        kind: 'snapshot',
        mediaType: 'image/jpeg',
        bytes,
      }),
    );
  }
  const violation = await openViolation(db, events, {
    tenantId: session.tenantId,
    examId: session.examId,
    sessionId: session.id,
    type: options.type ?? 'multiple_faces',
    source: 'server',
    confidence: options.confidence ?? 0.9,
    evidenceIds: evidence.map((row) => row.id),
  });
  return { evidence, violation };
}
