/**
 * Issue 9: the defects an adversarial pass found, each pinned by a test against the real parts
 * (both storage legs where the defect is about storage).
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import jwt from 'jsonwebtoken';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../support/backends.js';
import { recordViolation, seedSession, startTestApp, type TestApp } from '../support/app.js';
import { maxConcurrentUploads } from '../../server/http/index.js';
import { mediaLimits } from '../../server/media/index.js';
import { maxSocketsPerSession } from '../../server/realtime/index.js';
import { connect, nextEvent, request, rtpParameters, type ClientSocket } from '../support/sockets.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(backends())('hardening (issue 9) on $name', (backend) => {
  let test: TestApp;
  let tenant: { apiKey: string; tenantId: string };
  const sockets: ClientSocket[] = [];
  const open = async (url: string, namespace: '/candidate' | '/proctor', token: string) => {
    const socket = await connect(url, namespace, token);
    sockets.push(socket);
    return socket;
  };
  const action = (sessionId: string, body: Record<string, unknown>, app = test) =>
    app.request<any>('POST', `/api/v1/sessions/${sessionId}/actions`, { key: tenant.apiKey, body });
  const violationsOf = async (sessionId: string) =>
    (await test.request<any[]>('GET', `/api/v1/sessions/${sessionId}/violations`, { key: tenant.apiKey }))
      .body;

  beforeAll(async () => {
    test = await startTestApp(backend, {}, { media: true });
    tenant = await test.createTenant();
  });
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.close();
  });
  afterAll(() => test?.close());

  // Two nodes need a shared database and Redis: declared on that leg only (CI counts a skip as a failure).
  if (backend.databaseUrl && backend.redisUrl)
    describe('defect 1: a status change reaches every node', () => {
      let other: TestApp;
      beforeAll(async () => {
        other = await startTestApp(backend, {}, { media: true });
      });
      afterAll(() => other?.close());

      it('refuses a reconnect to node A after node B terminated the session, and A knows of a pause', async () => {
        const paused = await seedSession(test, tenant.apiKey);
        const first = await open(test.url, '/candidate', paused.candidateToken);
        expect((await nextEvent<any>(first, 'session:status')).status).toBe('in_progress');
        expect((await action(paused.id, { action: 'pause' }, other)).status).toBe(200);
        // Node A learns of B's pause: a new page on A is told `paused`, not the stale `in_progress`.
        first.close();
        await sleep(300);
        const again = await open(test.url, '/candidate', paused.candidateToken);
        expect((await nextEvent<any>(again, 'session:status')).status).toBe('paused');

        const ended = await seedSession(test, tenant.apiKey);
        const candidate = await open(test.url, '/candidate', ended.candidateToken);
        expect((await nextEvent<any>(candidate, 'session:status')).status).toBe('in_progress');
        expect((await action(ended.id, { action: 'terminate' }, other)).status).toBe(200);
        // Whatever the page still sends through A is refused by the stored status.
        expect(
          await request(candidate, 'client:signal', {
            type: 'copy_paste',
            at: new Date().toISOString(),
            seq: 1,
          }),
        ).toMatchObject({ ok: false, error: { code: 'session_ended' } });
        candidate.close();
        await expect(open(test.url, '/candidate', ended.candidateToken)).rejects.toMatchObject({
          message: 'session_ended',
        });
        expect(await violationsOf(ended.id)).toEqual([]);
      });
    });

  describe('defect 2: nothing is recorded after the end', () => {
    it('answers session_ended to signals sent after terminate, and no violation outlives the session', async () => {
      const seeded = await seedSession(test, tenant.apiKey);
      const candidate = await open(test.url, '/candidate', seeded.candidateToken);
      expect((await nextEvent<any>(candidate, 'session:status')).status).toBe('in_progress');
      // Signals racing the terminate, then signals after it (inside the 1 s grace).
      const racing = [1, 2, 3].map((seq) =>
        request(candidate, 'client:signal', {
          type: seq === 2 ? 'copy_paste' : 'tab_hidden',
          at: new Date().toISOString(),
          seq,
        }),
      );
      expect((await action(seeded.id, { action: 'terminate' })).status).toBe(200);
      await Promise.all(racing);
      const after = await Promise.all(
        ['tab_hidden', 'copy_paste', 'window_blur'].map((type, index) =>
          request(candidate, 'client:signal', { type, at: new Date().toISOString(), seq: 10 + index }),
        ),
      );
      for (const ack of after) expect(ack).toMatchObject({ ok: false, error: { code: 'session_ended' } });
      await sleep(500);
      const session = await test.request<any>('GET', `/api/v1/sessions/${seeded.id}`, { key: tenant.apiKey });
      const endedAt = Date.parse(session.body.endedAt);
      for (const violation of await violationsOf(seeded.id)) {
        expect(violation.endedAt).not.toBeNull();
        expect(Date.parse(violation.startedAt)).toBeLessThanOrEqual(endedAt);
        expect(Date.parse(violation.endedAt)).toBeLessThanOrEqual(endedAt);
      }
    });
  });
  describe('defect 9: actions after the end', () => {
    it('audits no warn or flag after the terminal transition; later actions get 409', async () => {
      const seeded = await seedSession(test, tenant.apiKey);
      const candidate = await open(test.url, '/candidate', seeded.candidateToken);
      expect((await nextEvent<any>(candidate, 'session:status')).status).toBe('in_progress');
      const kinds = ['warn', 'flag', 'warn', 'flag', 'pause', 'resume', 'warn', 'flag'];
      const mixed = Array.from({ length: 30 }, (_, index) =>
        index === 10
          ? { action: 'terminate' }
          : { action: kinds[index % kinds.length], message: `m${index}` },
      );
      const answers = await Promise.all(mixed.map((body) => action(seeded.id, body)));
      for (const answer of answers) expect([200, 409]).toContain(answer.status);
      const audit = await test.request<any[]>('GET', '/api/v1/audit?limit=1000', { key: tenant.apiKey });
      const ofSession = audit.body.filter((entry) => entry.target === seeded.id);
      const terminal = ofSession.findIndex(
        (entry) => entry.action === 'session.status' && entry.details.to === 'terminated',
      );
      expect(terminal).toBeGreaterThanOrEqual(0);
      expect(ofSession.slice(terminal + 1).map((entry) => entry.action)).toEqual([]);
      const flagged = await action(seeded.id, { action: 'flag' });
      expect(flagged).toMatchObject({ status: 409, body: { error: { code: 'invalid_transition' } } });
      const stored = await test.request<any>('GET', `/api/v1/sessions/${seeded.id}`, { key: tenant.apiKey });
      expect(stored.body.status).toBe('terminated');
    });
  });
  describe('defect 7: NUL and lone surrogates are invalid input at the edge', () => {
    it.each([
      ['a proctor token name', '/api/v1/proctor-tokens', { name: 'ab\ud800cd' }],
      ['a proctor token name with NUL', '/api/v1/proctor-tokens', { name: 'a\u0000b' }],
      ['a key', '/api/v1/proctor-tokens', { name: 'ok', ['\udc00']: 1 }],
    ])('REST: %s → 400 invalid_input', async (_name, route, body) => {
      const answer = await test.request<any>('POST', route, { key: tenant.apiKey, body });
      expect(answer).toMatchObject({ status: 400, body: { error: { code: 'invalid_input' } } });
    });

    it('REST: a candidate externalId and an action message → 400, never 500', async () => {
      const seeded = await seedSession(test, tenant.apiKey);
      const candidate = await test.request<any>('POST', `/api/v1/exams/${seeded.examId}/candidates`, {
        key: tenant.apiKey,
        body: { externalId: 'x\ud800', name: 'Lone Surrogate' },
      });
      expect(candidate).toMatchObject({ status: 400, body: { error: { code: 'invalid_input' } } });
      const warned = await action(seeded.id, { action: 'warn', message: 'x\u0000' });
      expect(warned).toMatchObject({ status: 400, body: { error: { code: 'invalid_input' } } });
    });

    it('sockets: session:action messages and client:signal details, keys and times → invalid_input', async () => {
      const seeded = await seedSession(test, tenant.apiKey);
      const minted = await test.request<any>('POST', '/api/v1/proctor-tokens', {
        key: tenant.apiKey,
        body: { name: 'Proctor' },
      });
      const proctor = await open(test.url, '/proctor', minted.body.token);
      expect(
        await request(proctor, 'session:action', {
          sessionId: seeded.id,
          action: 'warn',
          message: 'x\u0000',
        }),
      ).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
      const candidate = await open(test.url, '/candidate', seeded.candidateToken);
      const at = new Date().toISOString();
      const bad = [
        { type: 'tab_hidden', at, seq: 1, details: { 'k\u0000': 'v' } },
        { type: 'tab_hidden', at, seq: 2, details: { k: 'v\ud800' } },
        { type: 'tab_hidden', at, seq: 3, details: { ['\udfff']: 1 } },
        { type: 'tab_hidden', at: '0000-01-01T00:00:00Z', seq: 4 },
      ];
      for (const signal of bad) {
        expect(await request(candidate, 'client:signal', signal)).toMatchObject({
          ok: false,
          error: { code: 'invalid_input' },
        });
      }
      // A well-formed astral character (a surrogate pair) is fine.
      expect(
        await request(candidate, 'client:signal', {
          type: 'tab_hidden',
          at,
          seq: 5,
          details: { k: '\u{1F600}' },
        }),
      ).toMatchObject({ ok: true });
    });
  });
  describe('defect 8: erase vs create-session race', () => {
    it('answers 404 (or 201 then 409 on the erase), never 500', async () => {
      const exam = await test.request<any>('POST', '/api/v1/exams', {
        key: tenant.apiKey,
        body: { title: 'Race', durationMinutes: 30 },
      });
      for (let round = 0; round < 10; round += 1) {
        const candidate = await test.request<any>('POST', `/api/v1/exams/${exam.body.id}/candidates`, {
          key: tenant.apiKey,
          body: { externalId: `race-${round}-${Date.now()}`, name: 'Racer' },
        });
        const [erased, created] = await Promise.all([
          test.request<any>('DELETE', `/api/v1/candidates/${candidate.body.id}`, { key: tenant.apiKey }),
          test.request<any>('POST', `/api/v1/exams/${exam.body.id}/sessions`, {
            key: tenant.apiKey,
            body: { candidateId: candidate.body.id },
          }),
        ]);
        expect([201, 404]).toContain(created.status);
        if (created.status === 404) expect(created.body.error.code).toBe('not_found');
        expect([200, 204, 409]).toContain(erased.status);
      }
    });
  });
  describe('defects 12 and 14: media requests that do not fit', () => {
    const dtlsParameters = {
      role: 'client',
      fingerprints: [{ algorithm: 'sha-256', value: Array.from({ length: 32 }, () => 'AB').join(':') }],
    };

    it('answers invalid_state to a second media:connectTransport, also when both race', async () => {
      const seeded = await seedSession(test, tenant.apiKey);
      const candidate = await open(test.url, '/candidate', seeded.candidateToken);
      const created = await request<any>(candidate, 'media:createTransport', { direction: 'send' });
      const transportId = created.ok ? created.data.id : '';
      expect(await request(candidate, 'media:connectTransport', { transportId, dtlsParameters })).toEqual({
        ok: true,
        data: {},
      });
      expect(
        await request(candidate, 'media:connectTransport', { transportId, dtlsParameters }),
      ).toMatchObject({
        ok: false,
        error: { code: 'invalid_state' },
      });
      const other = await request<any>(candidate, 'media:createTransport', { direction: 'send' });
      const otherId = other.ok ? other.data.id : '';
      const racing = await Promise.all(
        [1, 2].map(() =>
          request(candidate, 'media:connectTransport', { transportId: otherId, dtlsParameters }),
        ),
      );
      expect(racing.map((ack) => (ack.ok ? 'ok' : ack.error.code)).sort()).toEqual(['invalid_state', 'ok']);
    });

    it('refuses a producer whose codec is not of its kind', async () => {
      const seeded = await seedSession(test, tenant.apiKey);
      const candidate = await open(test.url, '/candidate', seeded.candidateToken);
      const created = await request<any>(candidate, 'media:createTransport', { direction: 'send' });
      const transportId = created.ok ? created.data.id : '';
      for (const [kind, source, codecKind] of [
        ['video', 'camera', 'audio'],
        ['audio', 'microphone', 'video'],
      ] as const) {
        expect(
          await request(candidate, 'media:produce', {
            transportId,
            kind,
            source,
            rtpParameters: rtpParameters(codecKind, 5000),
          }),
        ).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
      }
      expect(
        await request(candidate, 'media:produce', {
          transportId,
          kind: 'video',
          source: 'camera',
          rtpParameters: rtpParameters('video', 5001),
        }),
      ).toMatchObject({ ok: true });
    });
  });
  describe('defect 10: older signals do not override newer ones', () => {
    it('stores a late, lower-seq tab_visible but keeps the tab_hidden violation open', async () => {
      const seeded = await seedSession(test, tenant.apiKey);
      const candidate = await open(test.url, '/candidate', seeded.candidateToken);
      expect((await nextEvent<any>(candidate, 'session:status')).status).toBe('in_progress');
      const opened = nextEvent<any>(candidate, 'violation:opened', (v) => v.type === 'tab_hidden');
      const at = new Date().toISOString();
      expect(await request(candidate, 'client:signal', { type: 'tab_hidden', at, seq: 11 })).toEqual({
        ok: true,
        data: { duplicate: false },
      });
      await opened;
      expect(await request(candidate, 'client:signal', { type: 'tab_visible', at, seq: 10 })).toEqual({
        ok: true,
        data: { duplicate: false, stale: true },
      });
      await sleep(300);
      const [violation] = await violationsOf(seeded.id);
      expect(violation).toMatchObject({ type: 'tab_hidden', endedAt: null });
      // A newer tab_visible closes it.
      const closed = nextEvent<any>(candidate, 'violation:closed', (v) => v.type === 'tab_hidden');
      await request(candidate, 'client:signal', {
        type: 'tab_visible',
        at: new Date().toISOString(),
        seq: 12,
      });
      expect((await closed).id).toBe(violation.id);
    });
  });
  describe('defect 11: caps on sockets per session and media per connection', () => {
    it(`admits at most ${maxSocketsPerSession} sockets per session, a burst included, and frees a slot on disconnect`, async () => {
      const seeded = await seedSession(test, tenant.apiKey);
      const burst = await Promise.allSettled(
        Array.from({ length: 12 }, () => open(test.url, '/candidate', seeded.candidateToken)),
      );
      const accepted = burst.filter((result) => result.status === 'fulfilled');
      expect(accepted).toHaveLength(maxSocketsPerSession);
      for (const result of burst) {
        if (result.status === 'rejected') expect(result.reason).toMatchObject({ message: 'rate_limited' });
      }
      (accepted[0] as PromiseFulfilledResult<ClientSocket>).value.close();
      await sleep(300);
      await open(test.url, '/candidate', seeded.candidateToken);
      await expect(open(test.url, '/candidate', seeded.candidateToken)).rejects.toMatchObject({
        message: 'rate_limited',
      });
    });

    it(`creates at most ${mediaLimits.candidateTransports} transports per candidate connection, and one producer per source at a time`, async () => {
      const seeded = await seedSession(test, tenant.apiKey);
      const candidate = await open(test.url, '/candidate', seeded.candidateToken);
      const created = await Promise.all(
        Array.from({ length: 10 }, () =>
          request<any>(candidate, 'media:createTransport', { direction: 'send' }),
        ),
      );
      const ok = created.filter((ack) => ack.ok);
      expect(ok).toHaveLength(mediaLimits.candidateTransports);
      for (const ack of created) if (!ack.ok) expect(ack.error.code).toBe('rate_limited');
      const transportId = ok[0]!.data.id;
      const producing = await Promise.all(
        [6000, 6001].map((ssrc) =>
          request(candidate, 'media:produce', {
            transportId,
            kind: 'video',
            source: 'camera',
            rtpParameters: rtpParameters('video', ssrc),
          }),
        ),
      );
      expect(producing.map((ack) => (ack.ok ? 'ok' : ack.error.code)).sort()).toEqual([
        'invalid_state',
        'ok',
      ]);
      expect(test.app.media!.producersOfSession(seeded.id)).toHaveLength(1);
      // A closed transport frees its slot.
      expect(await request(candidate, 'media:closeTransport', { transportId: ok[1]!.data.id })).toMatchObject(
        {
          ok: true,
        },
      );
      expect(await request(candidate, 'media:createTransport', { direction: 'send' })).toMatchObject({
        ok: true,
      });
    });
  });

  describe("defect 13: framework-shaped errors use the contract's shape", () => {
    it.each([
      ['a 250-character id', `/api/v1/exams/${'a'.repeat(250)}`],
      ['a path that is not UTF-8', '/api/v1/exams/%ED%A0%80'],
      ['a bad percent escape', '/api/v1/exams/%E0%A4%A'],
      ['an unknown route', '/api/v1/nothing-here'],
      ['an unknown page', '/no/such/page'],
    ])('%s', async (_name, route) => {
      const answer = await test.request<any>('GET', route, { key: tenant.apiKey });
      expect(answer.status).toBeGreaterThanOrEqual(400);
      expect(answer.status).toBeLessThan(500);
      expect(answer.body).toEqual({ error: { code: expect.any(String), message: expect.any(String) } });
      expect(answer.body.error.code).toMatch(/^[a-z_]+$/);
      expect(answer.body.error.message).not.toContain('%ED');
    });
  });
});

describe('defect 3: DATA_DIR is owner-only (embedded PGlite, evidence)', () => {
  const looser = (root: string) => {
    const found: string[] = [];
    const walk = (entry: string) => {
      const stat = fs.lstatSync(entry);
      if (stat.isSymbolicLink()) return;
      const wanted = stat.isDirectory() ? 0o700 : 0o600;
      if ((stat.mode & 0o777 & ~wanted) !== 0) found.push(`${entry} ${(stat.mode & 0o777).toString(8)}`);
      if (stat.isDirectory()) for (const child of fs.readdirSync(entry)) walk(path.join(entry, child));
    };
    walk(root);
    return found;
  };

  it('keeps database files, evidence and directories 0600/0700, and tightens a looser tree at start-up', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-modes-'));
    // A tree left looser by an older version.
    fs.chmodSync(dataDir, 0o755);
    fs.mkdirSync(path.join(dataDir, 'evidence', 'old'), { recursive: true, mode: 0o755 });
    fs.writeFileSync(path.join(dataDir, 'evidence', 'old', 'file'), 'x', { mode: 0o644 });
    const app = await startTestApp({ name: 'pglite' }, { DATA_DIR: dataDir });
    try {
      const { tenantId, apiKey } = await app.createTenant();
      const seeded = await seedSession(app, apiKey);
      await recordViolation(
        app,
        { tenantId, examId: seeded.examId, id: seeded.id },
        { snapshots: [Buffer.from('jpeg bytes')] },
      );
      expect(fs.statSync(dataDir).mode & 0o777).toBe(0o700);
      expect(looser(path.join(dataDir, 'evidence'))).toEqual([]);
      await app.app.close();
      expect(looser(dataDir)).toEqual([]);
    } finally {
      await app.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe.each(backends())('tokens without exp (issue 9) on $name', (backend) => {
  let test: TestApp;
  beforeAll(async () => {
    test = await startTestApp(backend, {}, { media: true });
  });
  afterAll(() => test?.close());

  it('refuses a validly signed token that has no exp, over REST and sockets', async () => {
    const { apiKey } = await test.createTenant();
    const seeded = await seedSession(test, apiKey);
    const sign = (claims: Record<string, unknown>) =>
      jwt.sign(claims, test.jwtSecret, { algorithm: 'HS256', issuer: 'vigil', audience: 'vigil' });
    const withoutExp = (token: string) => {
      const claims = { ...(jwt.decode(token) as Record<string, unknown>) };
      for (const claim of ['exp', 'iat', 'iss', 'aud']) delete claims[claim];
      return claims;
    };
    const minted = await test.request<any>('POST', '/api/v1/proctor-tokens', {
      key: apiKey,
      body: { name: 'Proctor' },
    });
    const proctorClaims = withoutExp(minted.body.token);
    const answer = await test.request<any>('GET', `/api/v1/sessions/${seeded.id}`, {
      token: sign(proctorClaims),
    });
    expect(answer).toMatchObject({ status: 401, body: { error: { code: 'invalid_token' } } });
    const candidateClaims = withoutExp(seeded.candidateToken);
    await expect(connect(test.url, '/candidate', sign(candidateClaims))).rejects.toMatchObject({
      message: 'invalid_token',
    });
    // The same claims with an exp are accepted: the refusal is about exp alone.
    const withExp = (claims: Record<string, unknown>) =>
      jwt.sign(claims, test.jwtSecret, {
        algorithm: 'HS256',
        issuer: 'vigil',
        audience: 'vigil',
        expiresIn: 60,
      });
    const accepted = await test.request('GET', `/api/v1/sessions/${seeded.id}`, {
      token: withExp(proctorClaims),
    });
    expect(accepted.status).toBe(200);
    const socket = await connect(test.url, '/candidate', withExp(candidateClaims));
    socket.close();
  });
});

describe('defect 5: slow requests are timed out (REQUEST_TIMEOUT_SECONDS=1)', () => {
  let test: TestApp;
  beforeAll(async () => {
    test = await startTestApp({ name: 'pglite' }, { REQUEST_TIMEOUT_SECONDS: '1' });
  });
  afterAll(() => test?.close());

  /** A raw connection: what it received, and a promise of when the server closed it. */
  const rawConnection = (head: string) => {
    const { port } = new URL(test.url);
    const socket = net.connect(Number(port), '127.0.0.1');
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    const closed = new Promise<number>((resolve) => {
      const started = Date.now();
      socket.on('close', () => resolve(Date.now() - started));
    });
    socket.write(head);
    return { socket, closed, received: () => received };
  };

  it('answers 408 to a body trickling in and closes the connection', async () => {
    const slow = rawConnection(
      'POST /api/v1/auth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n{',
    );
    const drip = setInterval(() => slow.socket.writable && slow.socket.write(' '), 200);
    try {
      const elapsed = await Promise.race([slow.closed, sleep(8000).then(() => Infinity)]);
      expect(elapsed).toBeLessThan(5000);
      expect(slow.received()).toMatch(/^HTTP\/1\.1 408/);
      expect(slow.received()).toContain('"code":"request_timeout"');
    } finally {
      clearInterval(drip);
      slow.socket.destroy();
    }
  });

  it('closes a connection whose headers never finish', async () => {
    const slow = rawConnection('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    try {
      const elapsed = await Promise.race([slow.closed, sleep(8000).then(() => Infinity)]);
      expect(elapsed).toBeLessThan(5000);
    } finally {
      slow.socket.destroy();
    }
  });

  it(`reads at most ${maxConcurrentUploads} large bodies at once`, async () => {
    const { apiKey } = await test.createTenant();
    const seeded = await seedSession(test, apiKey);
    const head =
      `PUT /api/v1/candidates/${seeded.candidateId}/reference HTTP/1.1\r\nHost: x\r\nX-API-Key: ${apiKey}\r\n` +
      'Content-Type: image/jpeg\r\nContent-Length: 1000000\r\n\r\n';
    const uploads = Array.from({ length: maxConcurrentUploads }, () => rawConnection(head));
    try {
      await sleep(300);
      const extra = rawConnection(head);
      await Promise.race([extra.closed, sleep(5000)]);
      expect(extra.received()).toMatch(/^HTTP\/1\.1 429/);
      extra.socket.destroy();
    } finally {
      for (const upload of uploads) upload.socket.destroy();
    }
  });
});
