/**
 * Pure decision helpers: a stream's recent FrameAnalysis / AudioAnalysis results in, per-frame
 * observations out (`{type, active, confidence, details}`) for the rules engine, which adds its
 * own open/close delays. Conditions are smoothed over a short time window here so that one odd
 * frame neither reports nor clears anything; capture problems become guidance, never violations.
 *
 * The state is a plain object owned by the caller (one per stream); nothing here does I/O.
 */
import { similarity } from './similarity.js';
import type { AudioAnalysis, CascadePolicy, FaceAnalysis, FrameAnalysis } from './types.js';

export const frameObservationTypes = [
  'no_face',
  'multiple_faces',
  'face_mismatch',
  'looking_away',
  'phone_detected',
  'spoof_suspected',
  'camera_off',
] as const;
export type FrameObservationType = (typeof frameObservationTypes)[number];
export type AudioObservationType = 'talking' | 'noise';

export interface AnalysisObservation<T extends string = FrameObservationType> {
  type: T;
  /** Whether the condition holds now (after smoothing). */
  active: boolean;
  /** 0..1: how sure the active/inactive call is. */
  confidence: number;
  details: Record<string, unknown>;
}

export const guidanceCodes = ['too_dark', 'move_closer', 'too_blurry', 'face_not_centered'] as const;
export type GuidanceCode = (typeof guidanceCodes)[number];

/** What the candidate is told (the `guidance` socket event); capture problems, never cheating. */
export const guidanceMessages: Record<GuidanceCode, string> = {
  too_dark: 'Your face is too dark. Add more light in front of you.',
  move_closer: 'Your face is small in the picture. Move closer to the camera.',
  too_blurry: 'The picture is blurry. Hold still and check that the camera lens is clean.',
  face_not_centered: 'Centre your face in the camera view.',
};

/** The parts of an exam policy (server/proctoring/policy.ts) these helpers read. */
export interface AnalysisPolicy {
  identity: { required?: boolean; matchThreshold: number };
  gaze: { maxYawDegrees: number; maxPitchDegrees: number };
}

/** Thresholds and windows; each has a default measured on testdata (see `vigil bench accuracy`). */
export interface ObserverTuning {
  /** Votes over this much recent time decide on/off conditions. */
  windowMs: number;
  /** A condition turns on when this share of the window's frames show it, off at `1 - onShare`. */
  onShare: number;
  /** Identity is the median similarity of the last this-many usable frames... */
  identityFrames: number;
  /** ...decided once there are at least this many... */
  identityMinFrames: number;
  /** ...none older than this. */
  identityMaxAgeMs: number;
  /** Frames whose face is smaller, more turned or blurrier than this do not count for identity. */
  identityMinFaceRatio: number;
  identityMaxYaw: number;
  identityMinSharpness: number;
  /**
   * Where the person looks (head yaw + eye yaw) may be this much less than `gaze.maxYawDegrees`
   * before it counts as looking away: with the default 35°, 25°, about the edge of a screen at
   * arm's length. The eyes alone are noisy (±10° per frame on testdata), hence the window vote.
   */
  gazeYawBelowHeadLimit: number;
  phoneMinScore: number;
  phoneWindowMs: number;
  /** Mean anti-spoofing score below which a spoof is suspected; reported with at most `spoofWeight` confidence. */
  spoofBelow: number;
  spoofWeight: number;
  spoofMinFrames: number;
  /** Anti-spoofing scores older than this are forgotten. */
  spoofWindowMs: number;
  /** Identical frames for this long mean a frozen camera. */
  frozenMs: number;
  /** No frame for this long means the camera is off (see `observeMissing`). */
  missingMs: number;
  blackBrightness: number;
  blackContrast: number;
  darkBrightness: number;
  minFaceSizeRatio: number;
  minSharpness: number;
  /** The face centre must lie within this margin of the frame's edges. */
  centreMargin: number;
  talkingSpeechRatio: number;
  noiseDbfs: number;
}

export const defaultTuning: ObserverTuning = {
  windowMs: 3000,
  onShare: 0.6,
  identityFrames: 7,
  identityMinFrames: 3,
  identityMaxAgeMs: 30_000,
  identityMinFaceRatio: 0.1,
  identityMaxYaw: 30,
  identityMinSharpness: 5,
  gazeYawBelowHeadLimit: 10,
  phoneMinScore: 0.4,
  phoneWindowMs: 4000,
  spoofBelow: 0.3,
  spoofWeight: 0.3,
  spoofMinFrames: 3,
  spoofWindowMs: 6000,
  frozenMs: 4000,
  missingMs: 5000,
  blackBrightness: 0.04,
  blackContrast: 0.02,
  darkBrightness: 0.2,
  minFaceSizeRatio: 0.15,
  minSharpness: 8,
  centreMargin: 0.15,
  talkingSpeechRatio: 0.3,
  noiseDbfs: -35,
};

interface Vote {
  samples: { at: number; on: boolean }[];
  active: boolean;
}

interface Sample {
  at: number;
  value: number;
}

export interface ObserverState {
  tuning: ObserverTuning;
  reference: number[] | null;
  votes: Record<string, Vote>;
  identity: Sample[];
  spoof: Sample[];
  lastFrameAt: number | null;
  digest: string | null;
  digestSince: number;
  lastSimilarity: number | null;
}

export interface FrameObservations {
  observations: AnalysisObservation[];
  /** Capture problems in effect now (smoothed), for the candidate. */
  guidance: GuidanceCode[];
  identity: {
    /** Median similarity over the identity window; `null` until enough usable frames. */
    similarity: number | null;
    /** This frame's similarity, when it was usable. */
    frame: number | null;
    samples: number;
  };
  faces: number;
}

export function createObserverState(
  options: { reference?: readonly number[] | null; tuning?: Partial<ObserverTuning> } = {},
): ObserverState {
  return {
    tuning: { ...defaultTuning, ...options.tuning },
    reference: options.reference ? [...options.reference] : null,
    votes: {},
    identity: [],
    spoof: [],
    lastFrameAt: null,
    digest: null,
    digestSince: 0,
    lastSimilarity: null,
  };
}

/**
 * Windows stretched to the cascade's cadences, so each vote still sees enough samples: phones
 * over 2.5 object runs, anti-spoofing over its minimum count of scores, identity over its
 * median's worth of embeddings.
 */
export function cascadeTuning(
  cascade: CascadePolicy,
  base: ObserverTuning = defaultTuning,
): Partial<ObserverTuning> {
  return {
    phoneWindowMs: Math.max(base.phoneWindowMs, cascade.objectsEveryMs * 2.5),
    spoofWindowMs: Math.max(base.spoofWindowMs, cascade.antispoofEveryMs * (base.spoofMinFrames + 0.5)),
    identityMaxAgeMs: Math.max(base.identityMaxAgeMs, cascade.identityEveryMs * (base.identityFrames + 1)),
  };
}

/**
 * Under the cascade identity is embedded on a cadence. While the verdict is still missing, or
 * a frame's similarity falls on the other side of the threshold from the verdict, the next
 * `burstFrames` frames are embedded whatever the cadence, so a swapped person is judged about
 * as fast as with every frame embedded. Returns the frames still to force.
 */
export function steerIdentity(
  boost: number,
  analysis: FrameAnalysis,
  identity: FrameObservations['identity'],
  options: { threshold: number; burstFrames: number },
): number {
  const undecided = analysis.faces.length === 1 && identity.similarity === null;
  const disagrees =
    identity.frame !== null &&
    identity.similarity !== null &&
    identity.frame < options.threshold !== identity.similarity < options.threshold;
  if (undecided || disagrees) return options.burstFrames;
  return analysis.stages.identity && boost > 0 ? boost - 1 : boost;
}

/** Sets (or clears) the reference embedding, e.g. after the candidate's photo changed. */
export function setReference(state: ObserverState, reference: readonly number[] | null): void {
  state.reference = reference ? [...reference] : null;
  state.identity = [];
}

/** Adds a sample to a time window and returns the smoothed state with its share of `on` samples. */
function vote(state: ObserverState, name: string, at: number, on: boolean, windowMs = state.tuning.windowMs) {
  const v = (state.votes[name] ??= { samples: [], active: false });
  v.samples.push({ at, on });
  while (v.samples.length > 1 && (v.samples[0]?.at ?? at) <= at - windowMs) v.samples.shift();
  const share = v.samples.filter((sample) => sample.on).length / v.samples.length;
  if (!v.active && share >= state.tuning.onShare) v.active = true;
  else if (v.active && share <= 1 - state.tuning.onShare) v.active = false;
  return { active: v.active, share };
}

function pushSample(samples: Sample[], sample: Sample, maxCount: number, maxAgeMs: number): void {
  samples.push(sample);
  while (samples.length > maxCount || (samples[0] && samples[0].at < sample.at - maxAgeMs)) samples.shift();
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

const round = (value: number) => Math.round(value * 1000) / 1000;
const clamp01 = (value: number) => Math.min(1, Math.max(0, value));

/**
 * Head turned or tilted too far, or head plus eyes (signed alike, so they add) pointing
 * off-screen. `undefined` when it cannot be told: the head faces the screen and the eyes were
 * not measured on this frame (the cascade's gaze cadence).
 */
function lookingAway(
  face: FaceAnalysis,
  policy: AnalysisPolicy,
  tuning: ObserverTuning,
  gazeMeasured: boolean,
): boolean | undefined {
  if (Math.abs(face.yaw) > policy.gaze.maxYawDegrees) return true;
  if (Math.abs(face.pitch) > policy.gaze.maxPitchDegrees) return true;
  if (!gazeMeasured) return undefined;
  const limit = policy.gaze.maxYawDegrees - tuning.gazeYawBelowHeadLimit;
  return !!face.gaze && Math.abs(face.yaw + face.gaze.yaw) > limit;
}

/** A vote's standing without a new sample (a frame that cannot tell). */
function standing(state: ObserverState, name: string): { active: boolean; share: number } {
  const v = state.votes[name];
  if (!v || v.samples.length === 0) return { active: false, share: 0 };
  return { active: v.active, share: v.samples.filter((sample) => sample.on).length / v.samples.length };
}

function cameraOff(state: ObserverState, analysis: FrameAnalysis): AnalysisObservation {
  const { quality, at } = analysis;
  const t = state.tuning;
  if (quality.digest !== state.digest) {
    state.digest = quality.digest;
    state.digestSince = at;
  }
  const frozenForMs = at - state.digestSince;
  const black = quality.brightness < t.blackBrightness && quality.contrast < t.blackContrast;
  const frozen = frozenForMs >= t.frozenMs;
  return {
    type: 'camera_off',
    active: black || frozen,
    confidence: black ? 0.95 : 0.9,
    details: {
      reason: black ? 'black' : frozen ? 'frozen' : null,
      brightness: quality.brightness,
      frozenForMs,
    },
  };
}

function identity(
  state: ObserverState,
  analysis: FrameAnalysis,
  policy: AnalysisPolicy,
): { observation: AnalysisObservation | null; frame: number | null } {
  const t = state.tuning;
  const face = analysis.faces[0];
  if (!state.reference || policy.identity.required === false) return { observation: null, frame: null };
  let frame: number | null = null;
  const usable =
    analysis.faces.length === 1 &&
    face?.embedding &&
    (analysis.quality.faceSizeRatio ?? 0) >= t.identityMinFaceRatio &&
    Math.abs(face.yaw) <= t.identityMaxYaw &&
    Math.abs(face.pitch) <= policy.gaze.maxPitchDegrees &&
    (analysis.quality.sharpness ?? 0) >= t.identityMinSharpness;
  if (usable && face.embedding) {
    frame = round(similarity(face.embedding, state.reference));
    pushSample(state.identity, { at: analysis.at, value: frame }, t.identityFrames, t.identityMaxAgeMs);
  }
  // Samples age out even while no usable face is seen.
  while (state.identity[0] && state.identity[0].at < analysis.at - t.identityMaxAgeMs) state.identity.shift();
  if (state.identity.length < t.identityMinFrames) return { observation: null, frame };
  const value = median(state.identity.map((sample) => sample.value));
  state.lastSimilarity = round(value);
  const threshold = policy.identity.matchThreshold;
  const active = value < threshold;
  return {
    frame,
    observation: {
      type: 'face_mismatch',
      active,
      // Far from the threshold is surer than near it; 0.25 similarity away is certain.
      confidence: round(clamp01(0.5 + Math.abs(value - threshold) * 2)),
      details: { similarity: round(value), threshold, samples: state.identity.length },
    },
  };
}

/**
 * One frame's observations. Types that cannot be judged on this frame are left out (e.g. no
 * `face_mismatch` while two faces are visible), so the rules engine keeps their previous state.
 */
export function observeFrame(
  state: ObserverState,
  analysis: FrameAnalysis,
  policy: AnalysisPolicy,
): FrameObservations {
  const t = state.tuning;
  const at = analysis.at;
  state.lastFrameAt = at;
  const observations: AnalysisObservation[] = [];
  const guidance: GuidanceCode[] = [];
  const camera = cameraOff(state, analysis);
  observations.push(camera);
  const faces = analysis.faces;
  if (camera.active) {
    return {
      observations,
      guidance,
      identity: { similarity: state.lastSimilarity, frame: null, samples: 0 },
      faces: 0,
    };
  }
  const face = faces[0];
  const quality = analysis.quality;

  // Capture guidance first: it also qualifies the face observations below.
  const brightness = (face ? quality.faceBrightness : null) ?? quality.brightness;
  const dark = vote(state, 'too_dark', at, brightness < t.darkBrightness);
  if (dark.active) guidance.push('too_dark');
  if (face) {
    const small = vote(state, 'move_closer', at, (quality.faceSizeRatio ?? 1) < t.minFaceSizeRatio);
    if (small.active) guidance.push('move_closer');
    const blurry = vote(
      state,
      'too_blurry',
      at,
      !small.active && quality.sharpness !== null && quality.sharpness < t.minSharpness,
    );
    if (blurry.active) guidance.push('too_blurry');
    const [cx, cy] = quality.faceCenter ?? [0.5, 0.5];
    const m = t.centreMargin;
    const offCentre = vote(state, 'face_not_centered', at, cx < m || cx > 1 - m || cy < m || cy > 1 - m);
    if (offCentre.active) guidance.push('face_not_centered');
  }

  const none = vote(state, 'no_face', at, faces.length === 0);
  observations.push({
    type: 'no_face',
    active: none.active,
    // In the dark the detector may simply fail: say so rather than be sure of an absence.
    confidence: round(dark.active && none.active ? 0.5 : Math.max(none.share, 1 - none.share)),
    details: { faces: faces.length, ...(dark.active ? { likelyCause: 'too_dark' } : {}) },
  });
  const several = vote(state, 'multiple_faces', at, faces.length >= 2);
  observations.push({
    type: 'multiple_faces',
    active: several.active,
    confidence: round(several.active ? several.share * (faces[1]?.score ?? 1) : 1 - several.share),
    details: { faces: faces.length, scores: faces.map((f) => f.score) },
  });

  const id = identity(state, analysis, policy);
  if (id.observation) observations.push(id.observation);

  if (face) {
    const looking = lookingAway(face, policy, t, analysis.stages?.iris !== false);
    const away =
      looking === undefined ? standing(state, 'looking_away') : vote(state, 'looking_away', at, looking);
    observations.push({
      type: 'looking_away',
      active: away.active,
      confidence: round(Math.max(away.share, 1 - away.share)),
      details: { yaw: face.yaw, pitch: face.pitch, gazeYaw: face.gaze?.yaw ?? null },
    });

    if (face.real !== null) {
      pushSample(state.spoof, { at, value: face.real }, 1000, t.spoofWindowMs);
      if (state.spoof.length >= t.spoofMinFrames) {
        const real = state.spoof.reduce((sum, sample) => sum + sample.value, 0) / state.spoof.length;
        const active = real < t.spoofBelow;
        observations.push({
          type: 'spoof_suspected',
          active,
          // Human's anti-spoofing scores did not separate testdata/spoof: never a strong signal.
          confidence: round(
            Math.min(t.spoofWeight, active ? (t.spoofBelow - real) / t.spoofBelow + 0.1 : 0.2),
          ),
          details: { real: round(real), live: face.live, samples: state.spoof.length },
        });
      }
    }
  }

  if (analysis.objects) {
    const phones = analysis.objects.filter((object) => object.label === 'cell phone');
    const best = Math.max(0, ...phones.map((phone) => phone.score));
    const phone = vote(state, 'phone_detected', at, best >= t.phoneMinScore, t.phoneWindowMs);
    observations.push({
      type: 'phone_detected',
      active: phone.active,
      confidence: round(
        phone.active ? Math.max(best, t.phoneMinScore) : Math.max(phone.share, 1 - phone.share),
      ),
      details: { score: round(best), boxes: phones.map((p) => p.box) },
    });
  }

  return {
    observations,
    guidance,
    identity: { similarity: state.lastSimilarity, frame: id.frame, samples: state.identity.length },
    faces: faces.length,
  };
}

/** `camera_off` when no frame has been analysed for `missingMs` (call it on a timer). */
export function observeMissing(state: ObserverState, now: number): AnalysisObservation | null {
  if (state.lastFrameAt === null) return null;
  const silentForMs = now - state.lastFrameAt;
  if (silentForMs < state.tuning.missingMs) return null;
  return { type: 'camera_off', active: true, confidence: 0.9, details: { reason: 'missing', silentForMs } };
}

/** `talking` (sustained speech, Silero VAD) and `noise` (loud without speech) from one audio chunk. */
export function observeAudio(
  state: ObserverState,
  audio: AudioAnalysis,
): AnalysisObservation<AudioObservationType>[] {
  const t = state.tuning;
  const speech = audio.speechRatio >= t.talkingSpeechRatio;
  const talking = vote(state, 'talking', audio.at, speech);
  const noise = vote(state, 'noise', audio.at, !speech && audio.dbfs > t.noiseDbfs);
  return [
    {
      type: 'talking',
      active: talking.active,
      confidence: round(
        talking.active ? Math.max(talking.share, audio.speechProbability) : 1 - talking.share,
      ),
      details: { speechRatio: audio.speechRatio, speechProbability: audio.speechProbability },
    },
    {
      type: 'noise',
      active: noise.active,
      confidence: round(Math.max(noise.share, 1 - noise.share)),
      details: { dbfs: audio.dbfs },
    },
  ];
}
