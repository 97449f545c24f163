import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../support/backends.js';
import { seedSession, startTestApp, type TestApp } from '../support/app.js';
import { candidateRequestEvents, proctorRequestEvents } from '../../server/realtime/protocol.js';
import { connect, nextEvent, request, rtpParameters, type ClientSocket } from '../support/sockets.js';

describe.each(backends())('realtime signalling and media on $name', (backend) => {
  let test: TestApp;
  let tenant: { apiKey: string; tenantId: string };
  const sockets: ClientSocket[] = [];
  const open = async (namespace: '/candidate' | '/proctor', token: string | undefined) => {
    const socket = await connect(test.url, namespace, token);
    sockets.push(socket);
    return socket;
  };

  beforeAll(async () => {
    test = await startTestApp(
      backend,
      {},
      {
        media: true,
        timings: {
          connection_lost: { openAfterMs: 300, closeAfterMs: 0 },
          camera_off: { openAfterMs: 200, closeAfterMs: 0 },
          mic_off: { openAfterMs: 200, closeAfterMs: 0 },
        },
      },
    );
    tenant = await test.createTenant();
  });
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.close();
  });
  afterAll(() => test?.close());

  const proctorToken = async (examIds?: string[]) => {
    const minted = await test.request<any>('POST', '/api/v1/proctor-tokens', {
      key: tenant.apiKey,
      body: { name: 'Test Proctor', ...(examIds ? { examIds } : {}) },
    });
    return minted.body.token as string;
  };

  describe('connection auth', () => {
    it.each([
      ['no token', undefined, 'unauthorized'],
      ['a garbage token', 'garbage', 'invalid_token'],
    ])('refuses %s with a coded connect_error', async (_name, token, code) => {
      await expect(open('/candidate', token)).rejects.toMatchObject({ message: code, data: { code } });
      await expect(open('/proctor', token)).rejects.toMatchObject({ message: code });
    });

    it('keeps candidate and proctor tokens to their own namespaces', async () => {
      const seeded = await seedSession(test, tenant.apiKey);
      await expect(open('/proctor', seeded.candidateToken)).rejects.toMatchObject({ message: 'forbidden' });
      await expect(open('/candidate', await proctorToken())).rejects.toMatchObject({ message: 'forbidden' });
    });

    it('refuses a candidate whose session has ended', async () => {
      const seeded = await seedSession(test, tenant.apiKey);
      await test.request('POST', `/api/v1/sessions/${seeded.id}/actions`, {
        key: tenant.apiKey,
        body: { action: 'terminate' },
      });
      await expect(open('/candidate', seeded.candidateToken)).rejects.toMatchObject({
        message: 'session_ended',
      });
    });
  });

  describe('a live session', () => {
    it('starts on join, tells the proctor, and carries warnings and termination to the candidate', async () => {
      const seeded = await seedSession(test, tenant.apiKey);
      const proctor = await open('/proctor', await proctorToken([seeded.examId]));
      const watched = await request(proctor, 'exam:watch', { examId: seeded.examId });
      expect(watched.ok && watched.data.sessions.map((s: any) => s.id)).toContain(seeded.id);

      const joined = nextEvent<any>(proctor, 'session:joined', (event) => event.sessionId === seeded.id);
      const candidate = await open('/candidate', seeded.candidateToken);
      expect((await nextEvent<any>(candidate, 'session:status')).status).toBe('in_progress');
      expect((await joined).session).toMatchObject({
        id: seeded.id,
        connected: true,
        candidate: { name: 'Seeded Candidate' },
      });

      const message = nextEvent<any>(candidate, 'proctor:message');
      const warned = await request(proctor, 'session:action', {
        sessionId: seeded.id,
        action: 'warn',
        message: 'Eyes on screen',
      });
      expect(warned).toMatchObject({ ok: true, data: { id: seeded.id, status: 'in_progress' } });
      expect(await message).toMatchObject({
        sessionId: seeded.id,
        action: 'warn',
        message: 'Eyes on screen',
      });

      const ended = nextEvent<any>(candidate, 'session:status', (event) => event.status === 'terminated');
      const gone = nextEvent(candidate, 'disconnect');
      await request(proctor, 'session:action', { sessionId: seeded.id, action: 'terminate' });
      await ended;
      await gone;
      const audit = await test.request<any[]>('GET', '/api/v1/audit?limit=1000', { key: tenant.apiKey });
      expect(audit.body.map((entry) => entry.action)).toEqual(
        expect.arrayContaining(['session.warn', 'session.status']),
      );
    });

    it('lets the candidate finish: the session completes and the proctor is told', async () => {
      const seeded = await seedSession(test, tenant.apiKey);
      const proctor = await open('/proctor', await proctorToken([seeded.examId]));
      await request(proctor, 'exam:watch', { examId: seeded.examId });
      const candidate = await open('/candidate', seeded.candidateToken);
      expect((await nextEvent<any>(candidate, 'session:status')).status).toBe('in_progress');

      expect(await request(candidate, 'session:finish', { early: true })).toMatchObject({
        ok: false,
        error: { code: 'invalid_input' },
      });
      const told = nextEvent<any>(
        proctor,
        'session:status',
        (event) => event.sessionId === seeded.id && event.status === 'completed',
      );
      expect(await request(candidate, 'session:finish', {})).toEqual({
        ok: true,
        data: { status: 'completed' },
      });
      await told;
      const stored = await test.request<any>('GET', `/api/v1/sessions/${seeded.id}`, { key: tenant.apiKey });
      expect(stored.body).toMatchObject({ status: 'completed', endedAt: expect.any(String) });
    });

    it('opens connection_lost when the candidate stays away, and closes it on return', async () => {
      const seeded = await seedSession(test, tenant.apiKey);
      const proctor = await open('/proctor', await proctorToken());
      await request(proctor, 'exam:watch', { examId: seeded.examId });
      const candidate = await open('/candidate', seeded.candidateToken);
      const left = nextEvent<any>(proctor, 'session:left');
      const lost = nextEvent<any>(
        proctor,
        'violation:opened',
        (v) => v.type === 'connection_lost' && v.sessionId === seeded.id,
      );
      candidate.disconnect();
      expect(await left).toEqual({ sessionId: seeded.id, examId: seeded.examId });
      const violation = await lost;
      expect(violation).toMatchObject({
        type: 'connection_lost',
        severity: 'medium',
        source: 'server',
        endedAt: null,
        examId: seeded.examId,
      });

      const closed = nextEvent<any>(proctor, 'violation:closed', (v) => v.id === violation.id);
      await open('/candidate', seeded.candidateToken);
      expect((await closed).endedAt).toEqual(expect.any(String));
      const stored = await test.request<any[]>('GET', `/api/v1/sessions/${seeded.id}/violations`, {
        key: tenant.apiKey,
      });
      expect(stored.body).toEqual([
        expect.objectContaining({ id: violation.id, type: 'connection_lost', endedAt: expect.any(String) }),
      ]);
    });

    it('turns browser signals into client violations exactly once per seq', async () => {
      const seeded = await seedSession(test, tenant.apiKey);
      const candidate = await open('/candidate', seeded.candidateToken);
      const opened = nextEvent<any>(candidate, 'violation:opened', (v) => v.type === 'tab_hidden');
      const at = new Date().toISOString();
      expect(await request(candidate, 'client:signal', { type: 'tab_hidden', at, seq: 1 })).toEqual({
        ok: true,
        data: { duplicate: false },
      });
      expect(await request(candidate, 'client:signal', { type: 'tab_hidden', at, seq: 1 })).toEqual({
        ok: true,
        data: { duplicate: true },
      });
      expect(await opened).toMatchObject({ type: 'tab_hidden', source: 'client', severity: 'medium' });
      const closed = nextEvent<any>(candidate, 'violation:closed', (v) => v.type === 'tab_hidden');
      await request(candidate, 'client:signal', {
        type: 'tab_visible',
        at: new Date().toISOString(),
        seq: 2,
      });
      await closed;
      // A paste is a one-off: the violation opens and closes at once.
      const pasted = nextEvent<any>(candidate, 'violation:closed', (v) => v.type === 'copy_paste');
      await request(candidate, 'client:signal', { type: 'copy_paste', at: new Date().toISOString(), seq: 3 });
      expect(await pasted).toMatchObject({
        type: 'copy_paste',
        source: 'client',
        endedAt: expect.any(String),
      });
      const session = await test.request<any>('GET', `/api/v1/sessions/${seeded.id}`, { key: tenant.apiKey });
      expect(session.body.violationCounts).toEqual({ tab_hidden: 1, copy_paste: 1 });
      expect(session.body.suspicionScore).toBeGreaterThan(0);
    });

    it('relays a produced stream to the proctor and flags a camera that sends nothing', async () => {
      const seeded = await seedSession(test, tenant.apiKey);
      const proctor = await open('/proctor', await proctorToken());
      await request(proctor, 'exam:watch', { examId: seeded.examId });
      const candidate = await open('/candidate', seeded.candidateToken);

      const caps = await request(candidate, 'media:capabilities');
      expect(caps.ok && caps.data.routerRtpCapabilities.codecs.map((c: any) => c.mimeType)).toEqual(
        expect.arrayContaining(['audio/opus', 'video/VP8']),
      );
      const transport = await request(candidate, 'media:createTransport', { direction: 'send' });
      expect(transport).toMatchObject({
        ok: true,
        data: { id: expect.any(String), iceCandidates: expect.any(Array) },
      });
      const transportId = transport.ok ? (transport.data.id as string) : '';
      // Every candidate on the worker shares the WebRtcServer's one port.
      const ports = transport.ok ? new Set(transport.data.iceCandidates.map((c: any) => c.port)) : new Set();
      expect(ports.size).toBe(1);

      const announced = nextEvent<any>(proctor, 'media:producer', (e) => e.sessionId === seeded.id);
      const produced = await request(candidate, 'media:produce', {
        transportId,
        kind: 'video',
        source: 'camera',
        rtpParameters: rtpParameters('video', 1111),
      });
      expect(produced).toMatchObject({ ok: true, data: { producerId: expect.any(String) } });
      expect((await announced).producer).toMatchObject({ kind: 'video', source: 'camera' });

      // The proctor can receive it on the exam's router...
      const proctorCaps = await request(proctor, 'media:capabilities', { examId: seeded.examId });
      const recv = await request(proctor, 'media:createTransport', { examId: seeded.examId });
      const consumed = await request(proctor, 'media:consume', {
        transportId: recv.ok ? recv.data.id : '',
        producerId: produced.ok ? produced.data.producerId : '',
        rtpCapabilities: proctorCaps.ok ? proctorCaps.data.routerRtpCapabilities : {},
      });
      expect(consumed).toMatchObject({
        ok: true,
        data: { kind: 'video', producerId: produced.ok ? produced.data.producerId : '' },
      });
      expect(
        await request(proctor, 'media:resume', { consumerId: consumed.ok ? consumed.data.id : '' }),
      ).toEqual({ ok: true, data: {} });

      // ...and no RTP ever arrives, so after the stall window the camera counts as off.
      const cameraOff = await nextEvent<any>(
        proctor,
        'violation:opened',
        (v) => v.type === 'camera_off' && v.sessionId === seeded.id,
      );
      expect(cameraOff).toMatchObject({ severity: 'high', details: { reason: 'stalled' } });
    });
  });

  describe('the request events, as the protocol declares them', () => {
    // Built from the protocol's own lists (checked against the event maps by the compiler), so a
    // declared event without a handler fails here as well as at compile time.
    const namespaces = [
      ['/candidate', candidateRequestEvents],
      ['/proctor', proctorRequestEvents],
    ] as const;

    it.each(namespaces)(
      '%s answers every declared event, and an unknown one, with an ack',
      async (name, events) => {
        const seeded = await seedSession(test, tenant.apiKey);
        const socket = await open(name, name === '/candidate' ? seeded.candidateToken : await proctorToken());
        for (const event of events) {
          // A payload no event accepts: each must reach its handler's validation, not time out.
          const answer = await request(socket, event, { notAField: true });
          expect(answer, event).toMatchObject({
            ok: false,
            error: { code: 'invalid_input', message: expect.stringContaining(event) },
          });
        }
        expect(await request(socket, 'no:such-event', {})).toMatchObject({
          ok: false,
          error: { code: 'not_found', message: expect.stringContaining('no:such-event') },
        });
        expect(socket.connected).toBe(true);
      },
    );

    it("carries a proctor's pause, layers, consumer and transport closing to the SFU", async () => {
      const seeded = await seedSession(test, tenant.apiKey);
      const proctor = await open('/proctor', await proctorToken([seeded.examId]));
      await request(proctor, 'exam:watch', { examId: seeded.examId });
      const candidate = await open('/candidate', seeded.candidateToken);
      const send = await request(candidate, 'media:createTransport', { direction: 'send' });
      const produced = await request(candidate, 'media:produce', {
        transportId: send.ok ? send.data.id : '',
        kind: 'video',
        source: 'camera',
        rtpParameters: rtpParameters('video', 5151),
      });
      const producerId = produced.ok ? (produced.data.producerId as string) : '';
      const router = (await test.app.media!.room(seeded.examId)).router;
      const counts = async () => {
        const dump = await router.dump();
        const consumers = dump.mapProducerIdConsumerIds.find((entry) => entry.key === producerId);
        return { transports: dump.transportIds.length, consumers: consumers?.values.length ?? 0 };
      };
      const before = await counts();

      const caps = await request(proctor, 'media:capabilities', { examId: seeded.examId });
      const recv = await request(proctor, 'media:createTransport', { examId: seeded.examId });
      const transportId = recv.ok ? (recv.data.id as string) : '';
      const consume = () =>
        request(proctor, 'media:consume', {
          transportId,
          producerId,
          rtpCapabilities: caps.ok ? caps.data.routerRtpCapabilities : {},
        });
      const consumed = await consume();
      const consumerId = consumed.ok ? (consumed.data.id as string) : '';
      expect(await counts()).toEqual({ transports: before.transports + 1, consumers: 1 });
      const consumer = () => test.app.media!.peer(`${proctor.id}:${seeded.examId}`).consumers.get(consumerId);
      expect(await request(proctor, 'media:resume', { consumerId })).toEqual({ ok: true, data: {} });
      expect(consumer()?.paused).toBe(false);
      expect(await request(proctor, 'media:pause', { consumerId })).toEqual({ ok: true, data: {} });
      expect(consumer()?.paused).toBe(true);
      // One encoding here, so no simulcast layers to pick: acknowledged, nothing to change.
      expect(await request(proctor, 'media:setLayers', { consumerId, spatialLayer: 0 })).toEqual({
        ok: true,
        data: {},
      });
      expect(await request(proctor, 'media:setLayers', { consumerId, spatialLayer: 9 })).toMatchObject({
        ok: false,
        error: { code: 'invalid_input' },
      });
      expect(await request(proctor, 'media:closeConsumer', { consumerId })).toEqual({ ok: true, data: {} });
      expect(await counts()).toEqual({ transports: before.transports + 1, consumers: 0 });
      expect(await request(proctor, 'media:closeConsumer', { consumerId })).toMatchObject({
        ok: false,
        error: { code: 'not_found' },
      });

      // A consumer again, then the whole transport goes: it takes its consumers with it.
      expect((await consume()).ok).toBe(true);
      expect(await counts()).toEqual({ transports: before.transports + 1, consumers: 1 });
      expect(await request(proctor, 'media:closeTransport', { transportId })).toEqual({ ok: true, data: {} });
      expect(await counts()).toEqual(before);
      expect(await request(proctor, 'media:closeTransport', { transportId })).toMatchObject({
        ok: false,
        error: { code: 'not_found' },
      });

      // A proctor that goes away leaves nothing behind on the router.
      expect((await request(proctor, 'media:createTransport', { examId: seeded.examId })).ok).toBe(true);
      proctor.close();
      await expect.poll(counts, { timeout: 5_000 }).toEqual(before);
    });
  });

  describe('bad input', () => {
    it('answers malformed and foreign media requests with ok:false and keeps serving', async () => {
      const seeded = await seedSession(test, tenant.apiKey);
      const candidate = await open('/candidate', seeded.candidateToken);
      await request(candidate, 'media:capabilities');
      const transport = await request(candidate, 'media:createTransport', { direction: 'send' });
      const transportId = transport.ok ? transport.data.id : '';

      const cases: [string, unknown, string][] = [
        ['media:createTransport', { direction: 'sideways' }, 'invalid_input'],
        ['media:createTransport', { direction: 'recv' }, 'forbidden'],
        ['media:connectTransport', { transportId: 'nope', dtlsParameters: {} }, 'not_found'],
        ['media:connectTransport', { transportId, dtlsParameters: { fingerprints: 'x' } }, 'invalid_input'],
        [
          'media:produce',
          {
            transportId: randomUUID(),
            kind: 'video',
            source: 'camera',
            rtpParameters: rtpParameters('video', 5),
          },
          'not_found',
        ],
        [
          'media:produce',
          { transportId, kind: 'video', source: 'camera', rtpParameters: { codecs: 'VP8' } },
          'invalid_input',
        ],
        [
          'media:produce',
          { transportId, kind: 'audio', source: 'camera', rtpParameters: rtpParameters('audio', 6) },
          'invalid_input',
        ],
        ['media:produce', 'not an object', 'invalid_input'],
        ['client:signal', { type: 'tab_hidden', at: 'yesterday', seq: 1 }, 'invalid_input'],
        ['client:signal', { type: 'drop_table', at: new Date().toISOString(), seq: 1 }, 'invalid_input'],
        ['media:closeProducer', { producerId: randomUUID() }, 'not_found'],
      ];
      for (const [event, payload, code] of cases) {
        const answer = await request(candidate, event, payload);
        expect(answer, `${event} ${JSON.stringify(payload)}`).toMatchObject({
          ok: false,
          error: { code, message: expect.any(String) },
        });
      }
      expect((await request(candidate, 'media:capabilities')).ok).toBe(true);
    });

    it("never lets a candidate produce into another candidate's transport", async () => {
      const a = await seedSession(test, tenant.apiKey);
      const b = await seedSession(test, tenant.apiKey);
      const candidateA = await open('/candidate', a.candidateToken);
      const candidateB = await open('/candidate', b.candidateToken);
      const transportB = await request(candidateB, 'media:createTransport', { direction: 'send' });
      const transportId = transportB.ok ? transportB.data.id : '';
      expect(
        await request(candidateA, 'media:connectTransport', { transportId, dtlsParameters: {} }),
      ).toMatchObject({
        ok: false,
        error: { code: 'not_found' },
      });
      expect(
        await request(candidateA, 'media:produce', {
          transportId,
          kind: 'video',
          source: 'camera',
          rtpParameters: rtpParameters('video', 4444),
        }),
      ).toMatchObject({ ok: false, error: { code: 'not_found' } });
      expect(await request(candidateA, 'media:closeTransport', { transportId })).toMatchObject({
        ok: false,
        error: { code: 'not_found' },
      });
      // B's transport is untouched.
      const produced = await request(candidateB, 'media:produce', {
        transportId,
        kind: 'video',
        source: 'camera',
        rtpParameters: rtpParameters('video', 4445),
      });
      expect(produced.ok).toBe(true);
    });

    it("never lets a proctor reach another exam's or tenant's media", async () => {
      const mine = await seedSession(test, tenant.apiKey);
      const theirs = await seedSession(test, tenant.apiKey);
      const foreignTenant = await test.createTenant();
      const foreign = await seedSession(test, foreignTenant.apiKey);

      const theirCandidate = await open('/candidate', theirs.candidateToken);
      const sendTransport = await request(theirCandidate, 'media:createTransport', { direction: 'send' });
      const theirProducer = await request(theirCandidate, 'media:produce', {
        transportId: sendTransport.ok ? sendTransport.data.id : '',
        kind: 'video',
        source: 'camera',
        rtpParameters: rtpParameters('video', 2222),
      });
      expect(theirProducer.ok).toBe(true);

      const proctor = await open('/proctor', await proctorToken([mine.examId]));
      expect(await request(proctor, 'exam:watch', { examId: theirs.examId })).toMatchObject({
        ok: false,
        error: { code: 'forbidden' },
      });
      expect(await request(proctor, 'exam:watch', { examId: foreign.examId })).toMatchObject({
        ok: false,
        error: { code: 'not_found' },
      });
      expect(await request(proctor, 'media:createTransport', { examId: theirs.examId })).toMatchObject({
        ok: false,
        error: { code: 'forbidden' },
      });
      expect(
        await request(proctor, 'session:action', { sessionId: foreign.id, action: 'terminate' }),
      ).toMatchObject({
        ok: false,
        error: { code: 'not_found' },
      });

      await request(proctor, 'exam:watch', { examId: mine.examId });
      const caps = await request(proctor, 'media:capabilities', { examId: mine.examId });
      const recv = await request(proctor, 'media:createTransport', { examId: mine.examId });
      const stolen = await request(proctor, 'media:consume', {
        transportId: recv.ok ? recv.data.id : '',
        producerId: theirProducer.ok ? theirProducer.data.producerId : '',
        rtpCapabilities: caps.ok ? caps.data.routerRtpCapabilities : {},
      });
      expect(stolen).toMatchObject({ ok: false, error: { code: 'not_found' } });
    });

    it('rate-limits an event flood with ok:false answers', async () => {
      const seeded = await seedSession(test, tenant.apiKey);
      const candidate = await open('/candidate', seeded.candidateToken);
      const answers = await Promise.all(
        Array.from({ length: 80 }, () => request(candidate, 'media:capabilities')),
      );
      const limited = answers.filter((answer) => !answer.ok && answer.error.code === 'rate_limited');
      expect(limited.length).toBeGreaterThan(0);
      expect(answers.filter((answer) => answer.ok).length).toBeGreaterThan(0);
    });
  });

  describe('media worker failure', () => {
    it('replaces a killed worker and tells its clients to reconnect; media works again', async () => {
      const seeded = await seedSession(test, tenant.apiKey);
      const candidate = await open('/candidate', seeded.candidateToken);
      await request(candidate, 'media:createTransport', { direction: 'send' });
      const [slot] = test.app.media!.pool.workers;
      const pid = slot!.worker.pid;
      const reconnect = nextEvent<any>(candidate, 'media:reconnect');
      process.kill(pid, 'SIGKILL');
      expect(await reconnect).toEqual({ reason: 'media_worker_restarted' });
      expect(test.app.media!.pool.workers[0]!.worker.pid).not.toBe(pid);
      const again = await request(candidate, 'media:createTransport', { direction: 'send' });
      expect(again.ok).toBe(true);
      const produced = await request(candidate, 'media:produce', {
        transportId: again.ok ? again.data.id : '',
        kind: 'audio',
        source: 'microphone',
        rtpParameters: rtpParameters('audio', 3333),
      });
      expect(produced.ok).toBe(true);
    });
  });
});
