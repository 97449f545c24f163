import { describe, expect, it } from 'vitest';
import {
  createObserverState,
  distanceToSimilarity,
  faceDistance,
  observeAudio,
  observeFrame,
  observeMissing,
  setReference,
  similarity,
  type AnalysisPolicy,
  type AudioAnalysis,
  type FaceAnalysis,
  type FrameAnalysis,
} from '../../server/analysis/index.js';

const policy: AnalysisPolicy = {
  identity: { matchThreshold: 0.5 },
  gaze: { maxYawDegrees: 35, maxPitchDegrees: 25 },
};

/** A unit vector along axis `i`, scaled: distances between them are easy to reason about. */
const vector = (values: Record<number, number>) => Array.from({ length: 128 }, (_, i) => values[i] ?? 0);
const reference = vector({ 0: 1 });
/** Distance 0.3 from the reference: similarity 0.75 (same person). */
const samePerson = vector({ 0: 1, 1: 0.3 });
/** Distance 0.9: similarity 0.25 (someone else). */
const otherPerson = vector({ 0: 1, 1: 0.9 });

function face(overrides: Partial<FaceAnalysis> = {}): FaceAnalysis {
  return {
    box: [200, 120, 240, 240],
    score: 0.99,
    yaw: 0,
    pitch: 0,
    roll: 0,
    gaze: { yaw: 0, pitch: 0 },
    eyeOpenness: [0.3, 0.3],
    eyesOpen: true,
    real: 0.7,
    live: 0.9,
    embedding: samePerson,
    ...overrides,
  };
}

let digest = 0;
function frame(
  at: number,
  faces: FaceAnalysis[],
  overrides: Partial<FrameAnalysis['quality']> = {},
  objects: FrameAnalysis['objects'] = null,
): FrameAnalysis {
  const largest = faces[0];
  return {
    dropped: false,
    streamId: 's',
    at,
    width: 640,
    height: 480,
    faces,
    objects,
    quality: {
      brightness: 0.45,
      contrast: 0.2,
      faceBrightness: largest ? 0.5 : null,
      sharpness: largest ? 300 : null,
      faceSizeRatio: largest ? 0.5 : null,
      faceCenter: largest ? [0.5, 0.5] : null,
      // Live video differs frame to frame.
      digest: `d${digest++}`,
      ...overrides,
    },
    timings: { queueMs: 0, prepareMs: 0, detectMs: 0, objectsMs: 0, embedMs: 0, qualityMs: 0, totalMs: 0 },
    stages: {
      objects: objects !== null,
      identity: true,
      antispoof: true,
      change: null,
      trackChanged: false,
      shortRange: false,
    },
    backend: 'wasm',
  };
}

const find = (result: ReturnType<typeof observeFrame>, type: string) =>
  result.observations.find((observation) => observation.type === type);

describe('similarity', () => {
  it('maps face-api distance 0.6 to 0.5 and is 1 for identical descriptors', () => {
    expect(distanceToSimilarity(0.6)).toBeCloseTo(0.5);
    expect(similarity(reference, reference)).toBe(1);
    expect(faceDistance(reference, samePerson)).toBeCloseTo(0.3);
    expect(similarity(reference, otherPerson)).toBeCloseTo(0.25);
    expect(distanceToSimilarity(5)).toBe(0);
  });

  it('refuses descriptors of different lengths', () => {
    expect(() => similarity([1, 2], [1, 2, 3])).toThrow(/differ in length/);
  });
});

describe('observeFrame', () => {
  it('reports no_face only once most of the window shows no face, and clears the same way', () => {
    const state = createObserverState();
    expect(find(observeFrame(state, frame(0, [face()]), policy), 'no_face')?.active).toBe(false);
    // One empty frame among faces is a detector miss, not an absence.
    expect(find(observeFrame(state, frame(1000, []), policy), 'no_face')?.active).toBe(false);
    expect(find(observeFrame(state, frame(2000, []), policy), 'no_face')?.active).toBe(true);
    expect(find(observeFrame(state, frame(3000, []), policy), 'no_face')?.active).toBe(true);
    expect(find(observeFrame(state, frame(4000, [face()]), policy), 'no_face')?.active).toBe(true);
    expect(find(observeFrame(state, frame(5000, [face()]), policy), 'no_face')?.active).toBe(false);
  });

  it('reports multiple_faces with the second face in the details', () => {
    const state = createObserverState();
    const result = observeFrame(
      state,
      frame(0, [face(), face({ box: [10, 10, 80, 80], score: 0.8 })]),
      policy,
    );
    const observation = find(result, 'multiple_faces');
    expect(observation?.active).toBe(true);
    expect(observation?.confidence).toBeCloseTo(0.8);
    expect(observation?.details).toMatchObject({ faces: 2 });
    expect(result.faces).toBe(2);
  });

  it('decides face_mismatch on the median of several frames, not on one', () => {
    const state = createObserverState({ reference });
    // Two frames are not enough to judge identity.
    observeFrame(state, frame(0, [face({ embedding: otherPerson })]), policy);
    expect(
      find(observeFrame(state, frame(1000, [face({ embedding: otherPerson })]), policy), 'face_mismatch'),
    ).toBeUndefined();
    const third = observeFrame(state, frame(2000, [face({ embedding: otherPerson })]), policy);
    expect(find(third, 'face_mismatch')?.active).toBe(true);
    expect(third.identity.similarity).toBeCloseTo(0.25);
    // One good frame among bad ones does not clear it; a majority does.
    for (let i = 3; i < 6; i++)
      observeFrame(state, frame(i * 1000, [face({ embedding: otherPerson })]), policy);
    expect(find(observeFrame(state, frame(6000, [face()]), policy), 'face_mismatch')?.active).toBe(true);
    let last = observeFrame(state, frame(7000, [face()]), policy);
    for (let i = 8; i < 12; i++) last = observeFrame(state, frame(i * 1000, [face()]), policy);
    expect(find(last, 'face_mismatch')?.active).toBe(false);
    expect(last.identity.similarity).toBeCloseTo(0.75);
  });

  it('does not judge identity on two faces, a turned head or a tiny face', () => {
    const state = createObserverState({ reference });
    const two = [face({ embedding: otherPerson }), face({ box: [0, 0, 50, 50] })];
    for (let i = 0; i < 5; i++) {
      const result = observeFrame(state, frame(i * 1000, two), policy);
      expect(find(result, 'face_mismatch')).toBeUndefined();
    }
    for (let i = 5; i < 10; i++)
      observeFrame(state, frame(i * 1000, [face({ embedding: otherPerson, yaw: 40 })]), policy);
    for (let i = 10; i < 15; i++) {
      observeFrame(
        state,
        frame(i * 1000, [face({ embedding: otherPerson })], { faceSizeRatio: 0.05 }),
        policy,
      );
    }
    expect(state.identity).toHaveLength(0);
  });

  it('uses the policy threshold and skips identity when the policy does not require it', () => {
    const strict = { ...policy, identity: { matchThreshold: 0.8 } };
    const state = createObserverState({ reference });
    let result = observeFrame(state, frame(0, [face()]), strict);
    for (let i = 1; i < 3; i++) result = observeFrame(state, frame(i * 1000, [face()]), strict);
    expect(find(result, 'face_mismatch')?.active).toBe(true);
    const off = createObserverState({ reference });
    for (let i = 0; i < 3; i++)
      result = observeFrame(off, frame(i * 1000, [face()]), {
        ...policy,
        identity: { required: false, matchThreshold: 0.5 },
      });
    expect(find(result, 'face_mismatch')).toBeUndefined();
    setReference(off, null);
    expect(off.reference).toBeNull();
  });

  it('flags looking away by head yaw, head pitch, or head plus eyes', () => {
    const away = (f: FaceAnalysis) =>
      find(observeFrame(createObserverState(), frame(0, [f]), policy), 'looking_away')?.active;
    expect(away(face({ yaw: 10 }))).toBe(false);
    expect(away(face({ yaw: -40 }))).toBe(true);
    expect(away(face({ pitch: 30 }))).toBe(true);
    // Eyes 20° further the same way: 15 + 20 = 35° of gaze, past the 25° head+eyes limit.
    expect(away(face({ yaw: 15, gaze: { yaw: 20, pitch: 0 } }))).toBe(true);
    // Head turned one way, eyes back at the screen.
    expect(away(face({ yaw: 20, gaze: { yaw: -15, pitch: 0 } }))).toBe(false);
    expect(away(face({ yaw: 20, gaze: null }))).toBe(false);
    const loose = { ...policy, gaze: { maxYawDegrees: 60, maxPitchDegrees: 25 } };
    expect(
      find(observeFrame(createObserverState(), frame(0, [face({ yaw: -40 })]), loose), 'looking_away')
        ?.active,
    ).toBe(false);
  });

  it('holds the looking_away vote on frames whose eyes were not measured (the gaze cadence)', () => {
    const state = createObserverState();
    const unmeasured = (at: number, f: FaceAnalysis) => {
      const analysis = frame(at, [f]);
      return { ...analysis, stages: { ...analysis.stages, shortRange: true, iris: false } };
    };
    const away = (analysis: FrameAnalysis) =>
      find(observeFrame(state, analysis, policy), 'looking_away')?.active;
    const eyesAway = face({ yaw: 15, gaze: { yaw: 20, pitch: 0 } });
    const atScreen = face({ yaw: 0, gaze: { yaw: 0, pitch: 0 } });
    const eyesUnmeasured = face({ yaw: 15, gaze: null });
    expect(away(frame(0, [atScreen]))).toBe(false);
    expect(away(frame(1000, [atScreen]))).toBe(false);
    // Eyes measured away every other second; the frames between (head forward, eyes not
    // measured) count neither way, so the vote turns on and stays on. Counted as "at the
    // screen", they would switch it off again at 5 s.
    expect(away(frame(2000, [eyesAway]))).toBe(false);
    expect(away(unmeasured(3000, eyesUnmeasured))).toBe(false);
    expect(away(frame(4000, [eyesAway]))).toBe(true);
    expect(away(unmeasured(5000, eyesUnmeasured))).toBe(true);
    expect(away(frame(6000, [eyesAway]))).toBe(true);
    // A head turned past the limit needs no eyes: it votes on an unmeasured frame too.
    const fresh = createObserverState();
    const turned = unmeasured(0, face({ yaw: -40, gaze: null }));
    expect(find(observeFrame(fresh, turned, policy), 'looking_away')?.active).toBe(true);
  });

  it('reports phone_detected only on frames the object model ran on', () => {
    const state = createObserverState();
    expect(find(observeFrame(state, frame(0, [face()]), policy), 'phone_detected')).toBeUndefined();
    const phone = [
      { label: 'cell phone', score: 0.7, box: [1, 2, 3, 4] as [number, number, number, number] },
    ];
    const seen = find(observeFrame(state, frame(1000, [face()], {}, phone), policy), 'phone_detected');
    expect(seen?.active).toBe(true);
    expect(seen?.confidence).toBeCloseTo(0.7);
    const weak = [{ label: 'cell phone', score: 0.2, box: [1, 2, 3, 4] as [number, number, number, number] }];
    expect(
      find(observeFrame(createObserverState(), frame(0, [face()], {}, weak), policy), 'phone_detected')
        ?.active,
    ).toBe(false);
    expect(
      find(
        observeFrame(
          createObserverState(),
          frame(0, [face()], {}, [{ ...phone[0]!, label: 'book' }]),
          policy,
        ),
        'phone_detected',
      )?.active,
    ).toBe(false);
  });

  it('suspects a spoof only on a sustained very low anti-spoofing score, with low confidence', () => {
    const state = createObserverState();
    let result = observeFrame(state, frame(0, [face({ real: 0.1 })]), policy);
    expect(find(result, 'spoof_suspected')).toBeUndefined();
    for (let i = 1; i < 3; i++) result = observeFrame(state, frame(i * 1000, [face({ real: 0.1 })]), policy);
    const spoof = find(result, 'spoof_suspected');
    expect(spoof?.active).toBe(true);
    expect(spoof?.confidence).toBeLessThanOrEqual(0.3);
    const fine = createObserverState();
    for (let i = 0; i < 3; i++) result = observeFrame(fine, frame(i * 1000, [face({ real: 0.55 })]), policy);
    expect(find(result, 'spoof_suspected')?.active).toBe(false);
  });

  it('reports camera_off for black and for frozen frames, and nothing else meanwhile', () => {
    const black = observeFrame(
      createObserverState(),
      frame(0, [], { brightness: 0.01, contrast: 0.005 }),
      policy,
    );
    expect(find(black, 'camera_off')).toMatchObject({ active: true, details: { reason: 'black' } });
    expect(find(black, 'no_face')).toBeUndefined();

    const state = createObserverState();
    let result = observeFrame(state, frame(0, [face()], { digest: 'same' }), policy);
    for (let at = 1000; at <= 3000; at += 1000)
      result = observeFrame(state, frame(at, [face()], { digest: 'same' }), policy);
    expect(find(result, 'camera_off')?.active).toBe(false);
    result = observeFrame(state, frame(4000, [face()], { digest: 'same' }), policy);
    expect(find(result, 'camera_off')).toMatchObject({ active: true, details: { reason: 'frozen' } });
    result = observeFrame(state, frame(5000, [face()]), policy);
    expect(find(result, 'camera_off')?.active).toBe(false);
  });

  it('reports camera_off when frames stop arriving', () => {
    const state = createObserverState();
    expect(observeMissing(state, 10_000)).toBeNull();
    observeFrame(state, frame(1000, [face()]), policy);
    expect(observeMissing(state, 3000)).toBeNull();
    expect(observeMissing(state, 7000)).toMatchObject({
      type: 'camera_off',
      active: true,
      details: { reason: 'missing' },
    });
  });

  it('turns bad capture conditions into guidance, not violations', () => {
    const dark = observeFrame(
      createObserverState(),
      frame(0, [face()], { faceBrightness: 0.1, brightness: 0.12 }),
      policy,
    );
    expect(dark.guidance).toEqual(['too_dark']);
    expect(dark.observations.every((observation) => !observation.active)).toBe(true);
    const small = observeFrame(
      createObserverState(),
      frame(0, [face({ box: [300, 200, 40, 40] })], { faceSizeRatio: 0.08 }),
      policy,
    );
    expect(small.guidance).toEqual(['move_closer']);
    const blurry = observeFrame(createObserverState(), frame(0, [face()], { sharpness: 2 }), policy);
    expect(blurry.guidance).toEqual(['too_blurry']);
    const edge = observeFrame(createObserverState(), frame(0, [face()], { faceCenter: [0.95, 0.5] }), policy);
    expect(edge.guidance).toEqual(['face_not_centered']);
    // In the dark, a missing face is reported with its likely cause and less confidence.
    const state = createObserverState();
    let result = observeFrame(state, frame(0, [], { brightness: 0.1 }), policy);
    result = observeFrame(state, frame(1000, [], { brightness: 0.1 }), policy);
    expect(find(result, 'no_face')).toMatchObject({
      active: true,
      confidence: 0.5,
      details: { likelyCause: 'too_dark' },
    });
  });
});

describe('observeAudio', () => {
  const audio = (at: number, speechRatio: number, dbfs: number): AudioAnalysis => ({
    dropped: false,
    streamId: 'a',
    at,
    speechProbability: speechRatio > 0 ? 0.9 : 0.05,
    speechRatio,
    rms: 10 ** (dbfs / 20),
    gated: false,
    dbfs,
    frames: 31,
    timings: { queueMs: 0, vadMs: 0, totalMs: 0 },
  });

  it('reports sustained speech as talking and loud non-speech as noise', () => {
    const state = createObserverState();
    let result = observeAudio(state, audio(0, 0.8, -20));
    expect(result.find((o) => o.type === 'talking')?.active).toBe(true);
    expect(result.find((o) => o.type === 'noise')?.active).toBe(false);
    const quiet = createObserverState();
    result = observeAudio(quiet, audio(0, 0, -60));
    expect(result.every((o) => !o.active)).toBe(true);
    const loud = createObserverState();
    result = observeAudio(loud, audio(0, 0.05, -15));
    expect(result.find((o) => o.type === 'noise')?.active).toBe(true);
    expect(result.find((o) => o.type === 'talking')?.active).toBe(false);
  });
});
