/**
 * The per-stream cascade of the analysis engine, on the real engine (wasm) and real clips from
 * ../shared/testdata: which models run on which frame, that the detector's view is the naive
 * pipeline's, that a new face is embedded at once, and that the energy gate spares the VAD.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AnalysisEngine,
  cascadeTuning,
  createObserverState,
  defaultCascade,
  defaultTuning,
  ffmpegAvailable,
  readVideoFrames,
  type CascadePolicy,
  type FrameAnalysis,
  type FrameResult,
  type RgbFrame,
} from '../../server/analysis/index.js';
import { createLogger } from '../../server/shared/index.js';
import { audioFixture, testdata as testdataFile, testdataDir, wavSamples } from '../support/testdata.js';

const testdata = testdataDir;
let engine: AnalysisEngine;

function analysed(result: FrameResult): FrameAnalysis {
  if (result.dropped) throw new Error(`frame dropped (${result.reason})`);
  return result;
}

function iou(a: readonly number[], b: readonly number[]): number {
  const [ax = 0, ay = 0, aw = 0, ah = 0] = a;
  const [bx = 0, by = 0, bw = 0, bh = 0] = b;
  const w = Math.max(0, Math.min(ax + aw, bx + bw) - Math.max(ax, bx));
  const h = Math.max(0, Math.min(ay + ah, by + bh) - Math.max(ay, by));
  return (w * h) / (aw * ah + bw * bh - w * h);
}

/** The frame with `box` (grown by a third each side) painted black: that person is not there. */
function blackOut(frame: RgbFrame, box: readonly number[]): RgbFrame {
  const [x = 0, y = 0, w = 0, h = 0] = box;
  const data = new Uint8Array(frame.data);
  const x0 = Math.max(0, Math.floor(x - w / 3));
  const x1 = Math.min(frame.width, Math.ceil(x + w + w / 3));
  const y0 = Math.max(0, Math.floor(y - h / 3));
  const y1 = Math.min(frame.height, Math.ceil(y + h + h / 3));
  for (let row = y0; row < y1; row++)
    data.fill(0, (row * frame.width + x0) * 3, (row * frame.width + x1) * 3);
  return { ...frame, data };
}

/** Frames of a clip at 1 fps of its own 25 fps, stamped one second apart from `startAt`. */
async function seconds(clip: string, indices: number[], startAt = 0): Promise<RgbFrame[]> {
  const wanted = new Set(indices);
  const list: RgbFrame[] = [];
  for await (const frame of readVideoFrames(path.join(testdata, 'video', clip), {
    to: Math.max(...indices) + 1,
  })) {
    if (wanted.has(frame.index)) list.push({ ...frame, at: startAt + list.length * 1000 });
  }
  return list;
}

beforeAll(async () => {
  testdataFile('video/manifest.csv'); // a clear error naming the command that provides the data
  if (!ffmpegAvailable()) {
    throw new Error(
      'these tests need ffmpeg: run `npm install` (it brings one) or apt-get install -y ffmpeg',
    );
  }
  // The whole thread for the object model here: these tests are about the cadences, and the
  // machine's other load must not stretch them (the budget has its own test below).
  engine = await AnalysisEngine.create({
    backend: 'wasm',
    threads: 1,
    objectShare: 1,
    logger: createLogger('silent'),
  });
});

afterAll(async () => {
  await engine?.close();
});

describe('cascade', () => {
  const cascade: CascadePolicy = { ...defaultCascade };

  it('runs identity, anti-spoofing and objects on their cadences while the face stays, and the detector on every frame', async () => {
    // Foreman, seconds 0-6 (frames 0..150, face present throughout, a handheld camera).
    const clip = await seconds('foreman_cif_299f.mp4', [0, 25, 50, 75, 100, 125, 150, 175]);
    const results: FrameAnalysis[] = [];
    for (const frame of clip) {
      results.push(
        analysed(await engine.analyseFrame('cadence', frame, { cascade: { ...cascade, sceneChange: 1 } })),
      );
    }
    expect(results.map((r) => r.faces.length)).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    // First frame: everything; the burst of identity frames (0-2 s), then 5 s after the last.
    expect(results.map((r) => r.stages.identity)).toEqual([
      true,
      true,
      true,
      false,
      false,
      false,
      false,
      true,
    ]);
    // Anti-spoofing: on the first frame, then not before 10 s.
    const once = [true, false, false, false, false, false, false, false];
    expect(results.map((r) => r.stages.antispoof)).toEqual(once);
    expect(results.map((r) => r.faces[0]?.real !== null)).toEqual(once);
    // Objects every 3 s (scene changes switched off here).
    expect(results.map((r) => r.stages.objects)).toEqual([
      true,
      false,
      false,
      true,
      false,
      false,
      true,
      false,
    ]);
    expect(results.map((r) => r.objects !== null)).toEqual(results.map((r) => r.stages.objects));
    expect(results[1]?.stages.change).toBeGreaterThan(0);
    // Work skipped shows in the timings.
    expect(results[1]?.timings.objectsMs).toBe(0);
    expect(results[0]?.timings.objectsMs).toBeGreaterThan(0);
  });

  it('sees the same faces as the naive pipeline on the same frames', async () => {
    const clip = await seconds('foreman_cif_299f.mp4', [150, 175, 200, 225]);
    for (const frame of clip) {
      const naive = analysed(await engine.analyseFrame('same-naive', frame));
      const cascaded = analysed(await engine.analyseFrame('same-cascade', frame, { cascade }));
      // Naive: every model on every frame (the object model every `objectInterval`-th, as before).
      expect(naive.stages).toMatchObject({ identity: naive.faces.length > 0, trackChanged: false });
      expect(naive.stages.antispoof).toBe(naive.faces.length > 0);
      // Between full-range runs the faces come from the short-range detector: the mesh then
      // starts from a slightly different box, so the figures agree closely, not to the pixel.
      expect(cascaded.faces).toHaveLength(naive.faces.length);
      for (const [index, face] of cascaded.faces.entries()) {
        const other = naive.faces[index]!;
        expect(iou(face.box, other.box)).toBeGreaterThan(0.85);
        expect(Math.abs(face.yaw - other.yaw)).toBeLessThan(5);
        expect(Math.abs(face.pitch - other.pitch)).toBeLessThan(5);
        expect(face.eyesOpen).toBe(other.eyesOpen);
      }
    }
  });

  it('embeds at once when the face track changes: a face back after an absence, a second person', async () => {
    // Foreman at 6 s (face), then 9 s and 10 s (gone), then the two-person call, then a face again.
    const present = await seconds('foreman_cif_299f.mp4', [150, 225, 250]);
    const [two] = await seconds('cisco_vt_2people_320x192_9f.mp4', [0], 3000);
    const [back] = await seconds('foreman_cif_299f.mp4', [25], 4000);
    const policy = { ...cascade, sceneChange: 1 };
    const run = async (frame: RgbFrame | undefined) =>
      analysed(await engine.analyseFrame('track', frame!, { cascade: policy }));
    const first = await run(present[0]);
    expect(first.stages).toMatchObject({ identity: true, trackChanged: true });
    const gone = await run(present[1]);
    expect(gone.faces).toHaveLength(0);
    expect(gone.stages.identity).toBe(false);
    await run(present[2]);
    const pair = await run(two);
    expect(pair.faces.length).toBeGreaterThanOrEqual(2);
    expect(pair.stages).toMatchObject({ trackChanged: true, identity: true });
    expect(pair.faces[0]?.embedding).toHaveLength(128);
    expect(pair.stages.antispoof).toBe(false);
    // The face back after the call: a change again, embedded at once; anti-spoofing follows on
    // the frame after a change (it runs inside the detector pass, before the change is known).
    const again = await run(back);
    expect(again.stages).toMatchObject({ trackChanged: true, identity: true, antispoof: true });
    const next = await run({ ...back!, at: 5000 });
    expect(next.stages).toMatchObject({ trackChanged: false, antispoof: false });
  });

  it('embeds at once when another person takes the same seat (a cut), though the box barely moves', async () => {
    // Foreman for 4 s (the identity burst is over by then), then the man from the whisper clip.
    const before = await seconds('foreman_cif_299f.mp4', [50, 75, 100, 125], 470_000);
    const after = await seconds('cisco_men_whisper_640x320_9f.mp4', [0, 3, 6, 8], 474_000);
    const results: FrameAnalysis[] = [];
    for (const frame of [...before, ...after]) {
      results.push(analysed(await engine.analyseFrame('swap', frame, { cascade })));
    }
    expect(results.map((r) => r.faces.length)).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    // The frame before the swap was not due for identity: only the cut makes the swap frame one.
    expect(results[3]?.stages.identity).toBe(false);
    expect(results[4]?.stages).toMatchObject({ trackChanged: true, identity: true });
    expect(results[4]?.faces[0]?.embedding).toHaveLength(128);
    // The burst follows, and anti-spoofing runs on the frame after the change.
    expect(results.slice(5, 7).map((r) => r.stages.identity)).toEqual([true, true]);
    expect(results[5]?.stages.antispoof).toBe(true);
  });

  it('finds faces with the short-range detector between full-range runs: the same faces and pose as the full-range detector on every frame', async () => {
    const clip = await seconds('foreman_cif_299f.mp4', [0, 25, 50, 75, 100, 125, 150], 400_000);
    const quick: FrameAnalysis[] = [];
    for (const frame of clip) {
      quick.push(analysed(await engine.analyseFrame('short-range', frame, { cascade })));
    }
    // The first frame goes through the full-range detector (anti-spoofing is due); after that it
    // runs on every `detectorEveryFrames`-th frame and the short-range one on the others.
    expect(quick.map((r) => r.stages.shortRange)).toEqual([false, true, true, false, true, true, false]);
    for (const [index, frame] of clip.entries()) {
      const naive = analysed(await engine.analyseFrame('short-range-naive', frame));
      const mine = quick[index]!;
      expect(mine.faces).toHaveLength(naive.faces.length);
      const [a, b] = [mine.faces[0]!, naive.faces[0]!];
      expect(iou(a.box, b.box)).toBeGreaterThan(0.5);
      expect(Math.abs(a.yaw - b.yaw)).toBeLessThan(15);
    }
  });

  it('measures the eyes on the gaze cadence, and on every frame after a look near the edge', async () => {
    const gazeEveryMs = 3000;
    const clip = await seconds('foreman_cif_299f.mp4', [0, 25, 50, 75, 100, 125, 150, 175, 200], 450_000);
    const results: FrameAnalysis[] = [];
    for (const frame of clip) {
      results.push(
        analysed(await engine.analyseFrame('gaze', frame, { cascade: { ...cascade, gazeEveryMs } })),
      );
    }
    let measuredAt = -Infinity;
    let skipped = 0;
    for (const [index, result] of results.entries()) {
      if (result.stages.iris !== false) {
        measuredAt = result.at;
        continue;
      }
      // A frame skips the eyes only within the cadence of the last measured one, and only after a
      // frame whose head (and eyes, where measured) pointed within 15° of straight ahead; the
      // mesh's pose and eye openness are still there.
      expect(result.at - measuredAt).toBeLessThan(gazeEveryMs);
      const previous = results[index - 1]?.faces[0];
      if (previous) {
        expect(Math.abs(previous.yaw)).toBeLessThanOrEqual(15);
        expect(Math.abs(previous.pitch)).toBeLessThanOrEqual(15);
        expect(Math.abs(previous.yaw + (previous.gaze?.yaw ?? 0))).toBeLessThanOrEqual(15);
      }
      const face = result.faces[0];
      if (!face) continue;
      skipped += 1;
      expect(face.gaze).toBeNull();
      expect(face.eyesOpen).not.toBeNull();
    }
    expect(skipped).toBeGreaterThan(0);
  });

  it('finds a face that walks in within the detector cadence, and a lost face at once', async () => {
    // The two-person call with the second person blacked out, then as it is.
    const [pair] = await seconds('cisco_vt_2people_320x192_9f.mp4', [0], 500_000);
    const boxes = analysed(await engine.analyseFrame('walk-in-naive', pair!)).faces.map((f) => f.box);
    expect(boxes.length).toBeGreaterThanOrEqual(2);
    const alone = blackOut(pair!, boxes[1]!);
    const frames = [alone, alone, alone, alone, pair!, pair!, pair!].map((frame, i) => ({
      ...frame,
      at: 500_000 + i * 1000,
    }));
    const counts: number[] = [];
    const shortRange: boolean[] = [];
    for (const frame of frames) {
      const result = analysed(await engine.analyseFrame('walk-in', frame, { cascade }));
      counts.push(result.faces.length);
      shortRange.push(result.stages.shortRange);
    }
    expect(counts.slice(0, 4)).toEqual([1, 1, 1, 1]);
    expect(shortRange.slice(1, 3)).toEqual([true, true]);
    // The second person is in from frame 4: found by frame 4 + (detectorEveryFrames - 1).
    const found = counts.findIndex((count, i) => i >= 4 && count >= 2);
    expect(found).toBeGreaterThanOrEqual(4);
    expect(found).toBeLessThanOrEqual(4 + cascade.detectorEveryFrames - 1);
    // Gone again: the short-range detector finds fewer faces than the track had, and the
    // full-range one confirms one face on that very frame.
    const back = analysed(await engine.analyseFrame('walk-in', { ...alone, at: 508_000 }, { cascade }));
    const again = analysed(await engine.analyseFrame('walk-in', { ...alone, at: 509_000 }, { cascade }));
    expect([back.faces.length, again.faces.length]).toContain(1);
    expect(again.faces).toHaveLength(1);
  });

  it('runs the object model when the scene changes, not only on its cadence', async () => {
    // The object budget runs on the streams' clock (wall-clock time live), which only refills
    // going forward: each test here starts later than the one before it.
    const t0 = 600_000;
    const [face] = await seconds('foreman_cif_299f.mp4', [0], t0);
    const [room] = await seconds('foreman_cif_299f.mp4', [275], t0 + 1000);
    const [same] = await seconds('foreman_cif_299f.mp4', [275], t0 + 2000);
    const policy = { ...cascade, objectsEveryMs: 60_000 };
    expect(analysed(await engine.analyseFrame('scene', face!, { cascade: policy })).stages.objects).toBe(
      true,
    );
    const changed = analysed(await engine.analyseFrame('scene', room!, { cascade: policy }));
    expect(changed.stages.change).toBeGreaterThanOrEqual(policy.sceneChange);
    expect(changed.stages.objects).toBe(true);
    expect(changed.objects).not.toBeNull();
    const still = analysed(await engine.analyseFrame('scene', same!, { cascade: policy }));
    expect(still.stages.change).toBe(0);
    expect(still.stages.objects).toBe(false);
    // The caller can always switch a model off, and force identity on.
    const forced = analysed(
      await engine.analyseFrame(
        'scene',
        { ...face!, at: t0 + 3000 },
        { cascade: policy, objects: false, forceIdentity: true },
      ),
    );
    expect(forced.stages).toMatchObject({ objects: false, identity: true });
  });

  it('keeps per-stream state apart: a second stream starts with the full set', async () => {
    const [frame] = await seconds('foreman_cif_299f.mp4', [50], 700_000);
    await engine.analyseFrame('stream-a', frame!, { cascade });
    const a = analysed(await engine.analyseFrame('stream-a', { ...frame!, at: 701_000 }, { cascade }));
    const b = analysed(await engine.analyseFrame('stream-b', { ...frame!, at: 701_000 }, { cascade }));
    expect(a.stages).toMatchObject({ objects: false, antispoof: false, trackChanged: false });
    expect(b.stages).toMatchObject({ objects: true, antispoof: true, identity: true, trackChanged: true });
  });

  it('holds the object model to its share of the thread when many streams are due, longest-waiting first', async () => {
    const [frame] = await seconds('foreman_cif_299f.mp4', [50]);
    const streams = ['share-1', 'share-2', 'share-3', 'share-4', 'share-5', 'share-6'];
    // Six streams at 1 fps for 4 s, due every 3 s, would want 12 runs (~2.3 s of a thread);
    // 0.05 of one thread over 4 s is 0.2 s, plus the three runs (~0.6 s) banked at the start.
    const budgeted = await AnalysisEngine.create({
      backend: 'wasm',
      threads: 1,
      objectShare: 0.05,
      logger: createLogger('silent'),
    });
    const runs: string[] = [];
    const runMs: number[] = [];
    try {
      for (let second = 0; second < 4; second++) {
        for (const stream of streams) {
          const at = second * 1000;
          const result = analysed(await budgeted.analyseFrame(stream, { ...frame!, at }, { cascade }));
          if (result.stages.objects) {
            runs.push(stream);
            runMs.push(result.timings.objectsMs);
          }
        }
      }
    } finally {
      await budgeted.close();
    }
    expect(runs.length).toBeGreaterThanOrEqual(1);
    // What the bucket allows: three runs of the initial 200 ms estimate banked, 0.05 of the 3 s
    // of stream clock, and a run may start while the bucket is not yet in debt.
    const allowed = Math.floor((600 + 0.05 * 3000) / Math.min(...runMs)) + 1;
    expect(runs.length).toBeLessThanOrEqual(Math.min(allowed, 6));
    // Longest-waiting first: no stream runs twice while another has not run at all.
    expect(new Set(runs).size).toBe(runs.length);
  });

  it('stretches the smoothing windows to the cadences', () => {
    const tuning = cascadeTuning({ ...cascade, objectsEveryMs: 3000, antispoofEveryMs: 10_000 });
    expect(tuning.phoneWindowMs).toBe(7500);
    expect(tuning.spoofWindowMs).toBe(35_000);
    expect(tuning.identityMaxAgeMs).toBeGreaterThanOrEqual(defaultTuning.identityFrames * 5000);
    expect(createObserverState({ tuning }).tuning.phoneWindowMs).toBe(7500);
  });
});

describe('audio energy gate', () => {
  it('answers silence without the voice model and still hears speech', async () => {
    // The committed fixture (scripts/make-audio-fixtures.sh: espeak-ng, 16 kHz mono).
    const speech = wavSamples(audioFixture('speech-short'));
    const before = engine.stats().audioGated;
    const quiet = await engine.analyseAudio('gate', new Int16Array(16_000), 0, { gateDbfs: -50 });
    if (quiet.dropped) throw new Error('dropped');
    expect(quiet).toMatchObject({ gated: true, frames: 0, speechRatio: 0 });
    expect(engine.stats().audioGated).toBe(before + 1);
    const talk = await engine.analyseAudio('gate', speech, 1000, { gateDbfs: -50 });
    if (talk.dropped) throw new Error('dropped');
    expect(talk.gated).toBe(false);
    expect(talk.frames).toBeGreaterThan(0);
    expect(talk.speechRatio).toBeGreaterThan(0.3);
  });
});
