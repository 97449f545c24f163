/**
 * `vigil bench analysis [--json] [--seconds N] [--streams N]`: real clips through the whole
 * server path — RTP into mediasoup, the frame sampler (ffmpeg), the analysis workers, the rules,
 * socket.io — to a proctor socket, against the same engine (same models, options and threads)
 * called directly on the same frames in the same run.
 *   rawFps      frames/s the engine manages when fed directly, as fast as it can take them
 *   pipelineFps frames/s analysed through the server path with enough streams to saturate it
 *   ratio       pipelineFps / rawFps (how much the server path costs)
 *   p95LatencyMs frame's arrival at the server → the proctor socket receiving its analysis:tick
 */
import fs from 'node:fs';
import path from 'node:path';
import { io as connectSocket } from 'socket.io-client';
import { buildContext, createApp, type VigilApp } from '../app/index.js';
import { createApiClient } from '../auth/index.js';
import type { SampledFrame } from '../sampler/index.js';
import { createLogger, packageRoot } from '../shared/index.js';
import { benchApi, benchConfig } from './bench-app.js';
import {
  encodeForRtp,
  freeUdpPort,
  ingestSynthetic,
  rtpPayloadType,
  startRtpSource,
  type RtpSource,
} from './rtp-source.js';

interface Options {
  json: boolean;
  seconds: number;
  streams: number | undefined;
}

function parse(argv: string[]): Options {
  const value = (name: string) => {
    const index = argv.indexOf(`--${name}`);
    return index >= 0 ? argv[index + 1] : undefined;
  };
  return {
    json: argv.includes('--json'),
    seconds: Number(value('seconds') ?? 30),
    streams: value('streams') ? Number(value('streams')) : undefined,
  };
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0
    ? NaN
    : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};

export async function runAnalysisBench(argv: string[]): Promise<number> {
  const options = parse(argv);
  const say = (line: string) => !options.json && console.log(line);
  const testdata = process.env.VIGIL_TESTDATA ?? path.join(packageRoot(), '..', 'shared', 'testdata');
  const clipSource = path.join(testdata, 'video', 'foreman_cif_299f.mp4');
  const referencePhoto = path.join(testdata, 'video', 'foreman_frames', 'foreman_000.jpg');
  if (!fs.existsSync(clipSource)) {
    console.error(`vigil bench analysis: no test clip at ${clipSource} (set VIGIL_TESTDATA)`);
    return 2;
  }
  const { work, config } = benchConfig('vigil-bench-', { MEDIA_WORKERS: '1' });
  const decisions: number[] = [];
  let app: VigilApp | undefined;
  const sources: RtpSource[] = [];
  try {
    const context = await buildContext(config, { logger: createLogger('error') });
    app = await createApp(context, { onDecision: () => decisions.push(Date.now()) });
    const url = await app.listen(0, '127.0.0.1');
    const { media, sampler } = app;
    const engine = app.context.analysis;
    if (!media || !sampler || !engine)
      throw new Error('media, sampler and analysis must all run (is ffmpeg installed?)');
    say(
      `backend ${engine.backend}, MONITOR_FPS ${config.analysis.monitorFps}, clip ${path.basename(clipSource)}`,
    );

    // An API client, an exam, and a proctor socket watching it.
    const { key, tenantId } = await createApiClient(context.db, { name: 'bench', actor: 'bench' });
    const call = benchApi(app, key);
    const exam = await call<{ id: string }>('POST', '/exams', { title: 'bench', durationMinutes: 60 });
    const proctorToken = app.context.tokens.sign(
      { kind: 'proctorToken', tenantId, name: 'bench', examIds: null },
      3600,
    );
    const latencies: number[] = [];
    let measuring = false;
    const proctor = connectSocket(`${url}/proctor`, {
      auth: { token: proctorToken },
      transports: ['websocket'],
    });
    await new Promise<void>((resolve, reject) => {
      proctor.once('connect', () => resolve());
      proctor.once('connect_error', reject);
    });
    await proctor.timeout(10_000).emitWithAck('exam:watch', { examId: exam.id });
    proctor.on('analysis:tick', (tick: { frameAt: number }) => {
      if (measuring) latencies.push(Date.now() - tick.frameAt);
    });

    const clip = await encodeForRtp('video', clipSource, work);
    const reference = fs.readFileSync(referencePhoto);
    let streamCount = 0;
    const addStream = async () => {
      const index = streamCount++;
      const candidate = await call<{ id: string }>('POST', `/exams/${exam.id}/candidates`, {
        externalId: `c${index}`,
        name: `Candidate ${index}`,
      });
      await call('PUT', `/candidates/${candidate.id}/reference`, reference, 'image/jpeg');
      const session = await call<{ id: string }>('POST', `/exams/${exam.id}/sessions`, {
        candidateId: candidate.id,
      });
      const peerId = `bench-${index}`;
      media.openPeer({ id: peerId, examId: exam.id, sessionId: session.id, role: 'candidate' });
      const ssrc = 10_000 + index;
      const port = await ingestSynthetic(media, peerId, 'video', ssrc);
      sources.push(
        startRtpSource({
          input: clip,
          port,
          localPort: await freeUdpPort(),
          ssrc,
          payloadType: rtpPayloadType.video,
          maxSeconds: options.seconds * 4 + 120,
        }),
      );
    };

    // 1. One stream to collect real sampled frames for the direct run.
    const frames: SampledFrame[] = [];
    const keep = (frame: SampledFrame) => frames.length < 40 && frames.push(frame);
    sampler.on('frame', keep);
    await addStream();
    const collectUntil = Date.now() + 60_000;
    while (frames.length < 12 && Date.now() < collectUntil)
      await new Promise((resolve) => setTimeout(resolve, 250));
    sampler.off('frame', keep);
    if (frames.length === 0) throw new Error('no frames reached the sampler');
    // The direct run must have the engine to itself: silence the collecting stream first.
    await sources[0]?.stop();
    await new Promise((resolve) => setTimeout(resolve, 1500));

    // 2. The engine called directly on those frames: as many in flight as it has threads, twice over.
    const threads = engine.threads;
    // Warm-up first (JIT, first-call allocations), as the pipeline had its warm-up too.
    for (const frame of frames.slice(0, threads * 3)) {
      await engine.analyseFrame(
        'raw-warmup',
        { ...frame, data: new Uint8Array(frame.data) },
        { objects: true, identity: true },
      );
    }
    const rawTarget = Math.max(60, threads * 30);
    let submitted = 0;
    const rawStarted = performance.now();
    await Promise.all(
      Array.from({ length: threads * 2 }, async (_, lane) => {
        while (submitted < rawTarget) {
          const frame = frames[submitted % frames.length]!;
          submitted += 1;
          await engine.analyseFrame(
            `raw-${lane}`,
            { ...frame, data: new Uint8Array(frame.data) },
            { objects: true, identity: true },
          );
        }
      }),
    );
    const rawFps = rawTarget / ((performance.now() - rawStarted) / 1000);
    say(`direct: ${rawTarget} frames, ${rawFps.toFixed(2)} frames/s on ${threads} thread(s)`);

    // 3. Enough streams to offer more frames than the engine can take (so the pipeline, not the
    //    offered load, limits the rate), then measure. The silenced first stream does not count.
    const wanted = options.streams ?? Math.max(1, Math.ceil((rawFps * 1.5) / config.analysis.monitorFps));
    while (streamCount < wanted + 1) await addStream();
    say(`pipeline: ${streamCount - 1} stream(s) at ${config.analysis.monitorFps} fps each; warming up…`);
    await new Promise((resolve) => setTimeout(resolve, 8000));
    measuring = true;
    const from = Date.now();
    await new Promise((resolve) => setTimeout(resolve, options.seconds * 1000));
    measuring = false;
    const to = Date.now();
    const analysed = decisions.filter((at) => at >= from && at < to).length;
    const pipelineFps = analysed / ((to - from) / 1000);
    const result = {
      backend: engine.backend,
      frames: analysed,
      rawFps: Number(rawFps.toFixed(3)),
      pipelineFps: Number(pipelineFps.toFixed(3)),
      ratio: Number((pipelineFps / rawFps).toFixed(3)),
      p95LatencyMs: Math.round(percentile(latencies, 95)),
    };
    say(
      `pipeline: ${analysed} frames in ${((to - from) / 1000).toFixed(1)} s = ${pipelineFps.toFixed(2)} frames/s`,
    );
    say(
      `ratio pipeline/direct ${result.ratio} (target >= 0.9); latency arrival → proctor socket: p50 ${Math.round(percentile(latencies, 50))} ms, p95 ${result.p95LatencyMs} ms (target <= 1500), ${latencies.length} ticks`,
    );
    proctor.close();
    console.log(JSON.stringify(result));
    return 0;
  } finally {
    await Promise.all(sources.map((source) => source.stop()));
    await app?.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}
