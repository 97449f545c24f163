import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { MediaService } from '../../server/media/index.js';
import {
  SamplerService,
  type AudioChunk,
  type SamplerEvents,
  type SampledFrame,
} from '../../server/sampler/index.js';
import { createLogger } from '../../server/shared/index.js';
import {
  encodeForRtp,
  freeUdpPort,
  speechWav,
  startRtpSource,
  testdataFile,
  type RtpSource,
} from '../support/rtp-source.js';
import { reserveRtcPorts } from '../support/ports.js';
import { samplerFfmpegs } from '../support/sampler-ffmpeg.js';
import { rtpParameters } from '../support/sockets.js';

/**
 * The frame sampler against real parts: a mediasoup worker, candidate media sent as RTP by
 * ffmpeg (the foreman clip as VP8, espeak-ng speech as Opus) into the exam router, and the
 * sampler's own ffmpeg decoders. One source per kind, shared by the steps below in order.
 */

const width = 640;
const height = 480;
const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');

type Sampler = SamplerService & EventEmitter<SamplerEvents>;

/** Resolves with the next `event` payload that passes `accept`. */
function next<K extends keyof SamplerEvents>(
  sampler: Sampler,
  event: K,
  accept: (...args: SamplerEvents[K]) => boolean = () => true,
  timeoutMs = 10_000,
): Promise<SamplerEvents[K][0]> {
  return new Promise((resolve, reject) => {
    const listener = (...args: SamplerEvents[K]) => {
      if (!accept(...args)) return;
      clearTimeout(timer);
      sampler.off(event, listener as never);
      resolve(args[0]);
    };
    const timer = setTimeout(() => {
      sampler.off(event, listener as never);
      reject(new Error(`timed out waiting for sampler ${String(event)}`));
    }, timeoutMs);
    sampler.on(event, listener as never);
  });
}

/** Everything `event` delivers for `ms` that passes `accept`. */
async function collect<K extends 'frame' | 'audio'>(
  sampler: Sampler,
  event: K,
  accept: (payload: SamplerEvents[K][0]) => boolean,
  ms: number,
): Promise<SamplerEvents[K][0][]> {
  const seen: SamplerEvents[K][0][] = [];
  const listener = (payload: SamplerEvents[K][0]) => {
    if (accept(payload)) seen.push(payload);
  };
  sampler.on(event, listener as never);
  await sleep(ms);
  sampler.off(event, listener as never);
  return seen;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Alive and not a zombie (Node reaps its children, so a dead one is simply gone). */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) Z /.test(stat);
  } catch {
    return false;
  }
}

async function gone(pids: number[], withinMs = 3000): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    if (pids.every((pid) => !alive(pid))) return true;
    await sleep(50);
  }
  return pids.every((pid) => !alive(pid));
}

/** Mean of the RGB bytes in columns [x0, x1) of every row. */
function meanLevel(frame: SampledFrame, x0 = 0, x1 = frame.width): number {
  let sum = 0;
  for (let y = 0; y < frame.height; y += 1) {
    const row = y * frame.width * 3;
    for (let i = row + x0 * 3; i < row + x1 * 3; i += 1) sum += frame.data[i]!;
  }
  return sum / (frame.height * (x1 - x0) * 3);
}

function maxGap(times: number[]): number {
  let gap = 0;
  for (let i = 1; i < times.length; i += 1) gap = Math.max(gap, times[i]! - times[i - 1]!);
  return gap;
}

const ffmpegs = await samplerFfmpegs('frame sampler');

describe.each(ffmpegs)('frame sampler on a real mediasoup worker ($source ffmpeg)', (ffmpeg) => {
  let dir: string;
  /** The foreman clip as VP8 and espeak-ng speech as Opus, encoded once. */
  let clip: string;
  let speech: string;
  let media: MediaService;
  let sampler: Sampler;
  const sources: RtpSource[] = [];
  /** Every decoder pid the sampler reported, to prove none outlives its tap. */
  const decoderPids = new Set<number>();
  const faults: string[] = [];

  const examId = randomUUID();
  const sessionId = randomUUID();
  const peerId = `candidate-${randomUUID()}`;
  let camera: { producerId: string; port: number };
  let cameraSourcePort: number;
  let cameraSource: RtpSource;
  let microphone: { producerId: string; port: number };

  const sessionFrames = (frame: SampledFrame) => frame.sessionId === sessionId;
  const sendCamera = async () => {
    const source = startRtpSource({
      input: clip,
      port: camera.port,
      localPort: cameraSourcePort,
      ssrc: 1111,
      payloadType: 101,
    });
    sources.push(source);
    cameraSource = source;
  };
  const videoTap = () => sampler.taps().find((tap) => tap.producerId === camera.producerId);

  beforeAll(async () => {
    const foreman = testdataFile('video/foreman_cif_299f.mp4');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-sampler-test-'));
    [clip, speech] = await Promise.all([
      encodeForRtp('video', foreman, dir),
      speechWav(dir).then((wav) => encodeForRtp('audio', wav, dir)),
    ]);
    const { min: minPort } = await reserveRtcPorts();
    // Two workers and one transport per router: an exam spreads over routers at once.
    media = await MediaService.create({
      workers: 2,
      announcedIp: '127.0.0.1',
      minPort,
      maxPort: minPort + 19,
      logger,
      routerCapacity: 1,
    });
    sampler = await SamplerService.create({
      media,
      logger,
      monitorFps: 1,
      challengeFps: 10,
      maxTaps: 3,
      stallAfterMs: 2000,
      ffmpegPath: ffmpeg.path,
    });
    sampler.on('tap:opened', (tap) => tap.pids.forEach((pid) => decoderPids.add(pid)));
    sampler.on('decoder:started', (started) => decoderPids.add(started.pid));
    sampler.on('error', (fault) => faults.push(fault.message));
    media.openPeer({ id: peerId, examId, sessionId, role: 'candidate' });
  });

  afterAll(async () => {
    await Promise.all(sources.map((source) => source.stop()));
    await sampler?.close();
    media?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    expect(await gone([...decoderPids])).toBe(true);
  });

  it('samples a candidate camera at MONITOR_FPS: constant-size RGB frames of the real picture', async () => {
    const opened = next(sampler, 'tap:opened', (tap) => tap.sessionId === sessionId && tap.kind === 'video');
    const first = next(sampler, 'frame', sessionFrames);
    const startedAt = Date.now();
    camera = await media.ingestPlainRtp(peerId, {
      kind: 'video',
      source: 'camera',
      rtpParameters: rtpParameters('video', 1111),
      listenInfo: { protocol: 'udp', ip: '127.0.0.1', port: await freeUdpPort() },
    });
    cameraSourcePort = await freeUdpPort();
    await sendCamera();
    expect((await opened).pids).toHaveLength(1);
    const firstFrame = await first;
    console.info(
      `[sampler] camera tap: first frame ${firstFrame.at - startedAt} ms after the producer appeared`,
    );

    const frames = await collect(sampler, 'frame', sessionFrames, 4500);
    expect(frames.length).toBeGreaterThanOrEqual(3);
    expect(frames.length).toBeLessThanOrEqual(6);
    for (const frame of frames) {
      expect(frame).toMatchObject({ sessionId, width, height });
      expect(frame.data.length).toBe(width * height * 3);
    }
    const seqs = frames.map((frame) => frame.seq);
    expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i));
    // One frame per 1 s slot of the stream's clock: about a second apart on average (single
    // gaps vary: the slots start wherever that clock does, and a busy box sends in bursts).
    const mean = (frames.at(-1)!.at - frames[0]!.at) / (frames.length - 1);
    expect(mean).toBeGreaterThan(600);
    expect(mean).toBeLessThan(1600);

    // foreman is 352x288: fitted to 586x480, black bars of 27 columns left and right.
    const frame = frames.at(-1)!;
    expect(meanLevel(frame, 0, 20)).toBeLessThan(8);
    expect(meanLevel(frame, width - 20, width)).toBeLessThan(8);
    const picture = meanLevel(frame, 40, width - 40);
    expect(picture).toBeGreaterThan(40);
    expect(picture).toBeLessThan(220);
  });

  it('switches to CHALLENGE_FPS and back without a gap', async () => {
    const before = videoTap()!;
    const times: number[] = [];
    const record = (frame: SampledFrame) => {
      if (frame.sessionId === sessionId) times.push(frame.at);
    };
    sampler.on('frame', record);
    const switched = next(sampler, 'decoder:started', (started) => started.fps === 10);
    sampler.challenge(sessionId, true);
    const { pid: fastPid } = await switched;
    // The new decoder's first frame takes over from the old one, which then goes.
    await expect.poll(() => videoTap()?.pids, { timeout: 5000 }).toEqual([fastPid]);
    expect(await gone(before.pids)).toBe(true);
    const fast = await collect(sampler, 'frame', sessionFrames, 2000);
    // 10 a second (a loaded 2-core box delivers the test source a little unevenly).
    expect(fast.length).toBeGreaterThanOrEqual(14);
    expect(fast.length).toBeLessThanOrEqual(24);
    expect(videoTap()).toMatchObject({ fps: 10 });

    sampler.challenge(sessionId, false);
    await next(sampler, 'decoder:started', (started) => started.fps === 1);
    await sleep(1500);
    const slow = await collect(sampler, 'frame', sessionFrames, 3000);
    sampler.off('frame', record);
    expect(slow.length).toBeGreaterThanOrEqual(2);
    expect(slow.length).toBeLessThanOrEqual(4);
    expect(videoTap()).toMatchObject({ fps: 1 });
    // Across both switches frames kept coming at least as often as the slow rate.
    expect(maxGap(times)).toBeLessThan(1600);
  });

  it('decodes the microphone to 16 kHz mono PCM', async () => {
    const first = next(sampler, 'audio', (chunk) => chunk.sessionId === sessionId);
    microphone = await media.ingestPlainRtp(peerId, {
      kind: 'audio',
      source: 'microphone',
      rtpParameters: rtpParameters('audio', 2222),
      listenInfo: { protocol: 'udp', ip: '127.0.0.1', port: await freeUdpPort() },
    });
    sources.push(
      startRtpSource({
        input: speech,
        port: microphone.port,
        localPort: await freeUdpPort(),
        ssrc: 2222,
        payloadType: 111,
      }),
    );
    await first;
    await sleep(500); // past the decoder's start-up burst
    const chunks = await collect(sampler, 'audio', (chunk) => chunk.sessionId === sessionId, 3000);
    const samples = chunks.reduce((sum, chunk) => sum + chunk.pcm.length, 0);
    expect(samples / 3).toBeGreaterThan(16_000 * 0.85);
    expect(samples / 3).toBeLessThan(16_000 * 1.15);
    for (const chunk of chunks) {
      expect(chunk.pcm).toBeInstanceOf(Int16Array);
      expect(chunk.pcm.length).toBe(1600);
    }
    const all = chunks.flatMap((chunk: AudioChunk) => [...chunk.pcm]);
    const rms = Math.sqrt(all.reduce((sum, value) => sum + value * value, 0) / all.length);
    expect(rms).toBeGreaterThan(200); // speech, not silence
    expect(sampler.taps().filter((tap) => tap.sessionId === sessionId)).toHaveLength(2);
  });

  it('restarts a decoder that dies, and frames resume', async () => {
    const [pid] = videoTap()!.pids;
    const restarted = next(sampler, 'decoder:started', (started) => started.producerId === camera.producerId);
    const faulted = next(sampler, 'error', (fault) => fault.producerId === camera.producerId);
    process.kill(pid!, 'SIGKILL');
    expect((await faulted).message).toMatch(/SIGKILL/);
    const { pid: newPid } = await restarted;
    expect(newPid).not.toBe(pid);
    const resumed = await next(sampler, 'frame', sessionFrames, 5000);
    expect(resumed.data.length).toBe(width * height * 3);
    expect(alive(pid!)).toBe(false);
  });

  it('reports a camera that stops sending as stalled, and recovers when it returns', async () => {
    const stalled = next(sampler, 'stalled', (stall) => stall.producerId === camera.producerId, 8000);
    await cameraSource.stop();
    expect(await stalled).toMatchObject({ sessionId, kind: 'video', reason: 'no_media' });
    expect(videoTap()).toMatchObject({ stalled: true, pids: [expect.any(Number)] });

    const flowing = next(sampler, 'flowing', (flow) => flow.producerId === camera.producerId, 10_000);
    await sendCamera();
    await flowing;
    expect(videoTap()).toMatchObject({ stalled: false });
  });

  it('closes the tap and its ffmpeg when the producer closes', async () => {
    const pids = videoTap()!.pids;
    const closed = next(sampler, 'tap:closed', (tap) => tap.producerId === camera.producerId);
    media.closeProducer(peerId, camera.producerId);
    await closed;
    expect(videoTap()).toBeUndefined();
    expect(await gone(pids)).toBe(true);

    const audioPids = sampler.taps().find((tap) => tap.producerId === microphone.producerId)!.pids;
    const audioClosed = next(sampler, 'tap:closed', (tap) => tap.producerId === microphone.producerId);
    media.closePeer(peerId);
    await audioClosed;
    expect(await gone(audioPids)).toBe(true);
    expect(sampler.taps()).toEqual([]);
  });

  it('taps a producer that lives on another router of a spread-out exam', async () => {
    const peer = `candidate-${randomUUID()}`;
    media.openPeer({ id: peer, examId, sessionId: randomUUID(), role: 'candidate' });
    await media.createTransport(peer); // fills the exam's first router
    const second = await media.createTransport(peer);
    expect((await media.room(examId)).routerCount).toBe(2);
    const opened = next(sampler, 'tap:opened', (tap) => tap.kind === 'video');
    const producerId = await media.produce(peer, {
      transportId: second.id,
      kind: 'video',
      source: 'camera',
      rtpParameters: rtpParameters('video', 7777),
    });
    const tap = await opened;
    expect(tap).toMatchObject({ producerId, pids: [expect.any(Number)] });
    const closed = next(sampler, 'tap:closed', (closedTap) => closedTap.producerId === producerId);
    media.closePeer(peer);
    await closed;
    expect(await gone(tap.pids)).toBe(true);
  });

  it('runs at most maxTaps taps; the next stream waits for a free one', async () => {
    const peers = [0, 1, 2].map(() => {
      const id = `candidate-${randomUUID()}`;
      media.openPeer({ id, examId, sessionId: randomUUID(), role: 'candidate' });
      return id;
    });
    const ingest = async (peer: string, kind: 'video' | 'audio') =>
      media.ingestPlainRtp(peer, {
        kind,
        source: kind === 'video' ? 'camera' : 'microphone',
        rtpParameters: rtpParameters(kind, kind === 'video' ? 3333 : 4444),
        listenInfo: { protocol: 'udp', ip: '127.0.0.1', port: await freeUdpPort() },
      });
    const opened = new Set<string>();
    const onOpened = (tap: { producerId: string }) => opened.add(tap.producerId);
    sampler.on('tap:opened', onOpened);
    const a = await ingest(peers[0]!, 'video');
    await ingest(peers[0]!, 'audio');
    await ingest(peers[1]!, 'video');
    const waiting = await ingest(peers[2]!, 'video');
    await expect.poll(() => sampler.taps().length).toBe(3);
    expect(sampler.waiting).toBe(1);
    expect(opened.has(waiting.producerId)).toBe(false);

    const freed = next(sampler, 'tap:opened', (tap) => tap.producerId === waiting.producerId);
    media.closeProducer(peers[0]!, a.producerId);
    await freed;
    expect(sampler.waiting).toBe(0);
    sampler.off('tap:opened', onOpened);

    const pids = sampler.taps().flatMap((tap) => tap.pids);
    for (const peer of peers) media.closePeer(peer);
    await expect.poll(() => sampler.taps().length).toBe(0);
    expect(await gone(pids)).toBe(true);
    expect(faults.filter((message) => !/SIGKILL/.test(message))).toEqual([]);
  });
});

describe('frame sampler without a usable ffmpeg', () => {
  it('refuses to start, naming each ffmpeg it tried and the fix', async () => {
    const rtc = await reserveRtcPorts();
    onTestFinished(() => rtc.release());
    const minPort = rtc.min;
    const logger = createLogger('silent');
    const media = await MediaService.create({
      workers: 1,
      announcedIp: '127.0.0.1',
      minPort,
      maxPort: minPort + 19,
      logger,
    });
    process.env.FFMPEG_PATH = path.join(os.tmpdir(), 'vigil-no-such-ffmpeg');
    try {
      await expect(SamplerService.create({ media, logger, monitorFps: 1, challengeFps: 10 })).rejects.toThrow(
        /no usable ffmpeg: FFMPEG_PATH ffmpeg .*vigil-no-such-ffmpeg: does not run: .*Fix: install ffmpeg 4\.0\+/,
      );
    } finally {
      delete process.env.FFMPEG_PATH;
      media.close();
    }
  });
});
