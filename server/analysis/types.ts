/**
 * The analysis capability's data shapes: what a caller hands in (frames, audio, images) and
 * what comes back. Plain data only, so the same objects cross the worker-thread boundary.
 */

/**
 * Backends Vigil can run Human and face-api on, best first. `onnx` is TensorFlow.js on wasm with
 * the face models converted to ONNX and run by ONNX Runtime's native CPU kernels.
 */
export const analysisBackends = ['tfjs-node-gpu', 'tfjs-node', 'onnx', 'wasm'] as const;
export type AnalysisBackend = (typeof analysisBackends)[number];
/** `auto` takes the first of `analysisBackends` that loads (the `ANALYSIS_BACKEND` variable). */
export type BackendChoice = 'auto' | AnalysisBackend;

/** One decoded video frame: packed 8-bit RGB, row-major, no padding. */
export interface RgbFrame {
  width: number;
  height: number;
  data: Uint8Array;
  /** Capture time, ms since the epoch (or any monotonic clock the caller keeps consistent). */
  at: number;
}

/** A decoded still image (reference photo, `/verify`), EXIF orientation already applied. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** `[x, y, width, height]` in pixels of the analysed frame. */
export type Box = [x: number, y: number, width: number, height: number];

export interface FaceAnalysis {
  box: Box;
  /** Detector and mesh confidence combined, 0..1. */
  score: number;
  /** Head pose in degrees, Human's sign convention (yaw < 0: the head is turned to the image's left). */
  yaw: number;
  pitch: number;
  roll: number;
  /** Eyes-in-head direction in degrees, from the irises against the eye corners; same signs as `yaw`. */
  gaze: { yaw: number; pitch: number } | null;
  /** Eyelid gap over eye width for the `[left, right]` eye (about 0.3 open, below 0.15 shut). */
  eyeOpenness: [left: number, right: number] | null;
  eyesOpen: boolean | null;
  /** Human's anti-spoofing score, 0..1 (1 = real). Weak: it did not separate testdata/spoof. */
  real: number | null;
  /** Human's liveness score, 0..1. Weak for the same reason. */
  live: number | null;
  /** 128-d face descriptor from the fast aligned path; only for the largest face, when asked. */
  embedding: number[] | null;
}

export interface DetectedObject {
  /** COCO class name, e.g. `cell phone`, `person`, `book`. */
  label: string;
  score: number;
  box: Box;
}

export interface FrameQuality {
  /** Mean luma of the whole frame, 0..1. */
  brightness: number;
  /** Standard deviation of luma, 0..1 (near 0 for a black or flat frame). */
  contrast: number;
  /** Mean luma inside the largest face's box, 0..1. */
  faceBrightness: number | null;
  /** Variance of the Laplacian on the largest face, resampled to a fixed size (higher is sharper). */
  sharpness: number | null;
  /** The largest face's box height over the frame height. */
  faceSizeRatio: number | null;
  /** Centre of the largest face, normalised to 0..1 of the frame. */
  faceCenter: [x: number, y: number] | null;
  /** Hash of the pixels: equal digests over several seconds mean a frozen camera. */
  digest: string;
}

export interface FrameTimings {
  /** Waiting for a free worker. */
  queueMs: number;
  /** The frame's bytes into a tensor, and the change measure. */
  prepareMs: number;
  detectMs: number;
  /** The object model's share of `detectMs` (a separate pass; 0 when it did not run). */
  objectsMs: number;
  embedMs: number;
  qualityMs: number;
  /** From submission to result. */
  totalMs: number;
}

export interface FrameAnalysis {
  dropped: false;
  streamId: string;
  at: number;
  width: number;
  height: number;
  /** Largest face first. */
  faces: FaceAnalysis[];
  /** `null` when the object model was not run on this frame (it runs every few frames). */
  objects: DetectedObject[] | null;
  quality: FrameQuality;
  timings: FrameTimings;
  stages: FrameStages;
  backend: AnalysisBackend;
}

/**
 * `superseded`: a newer frame of the stream replaced it while it waited. `merged` (audio): its
 * samples were joined to the next chunk's and are analysed with it.
 */
export type DropReason = 'superseded' | 'merged' | 'stream_released' | 'closed';

/** A frame the engine did not analyse because a newer one of the same stream arrived first. */
export interface DroppedFrame {
  dropped: true;
  streamId: string;
  at: number;
  reason: DropReason;
}

export type FrameResult = FrameAnalysis | DroppedFrame;

export interface FrameOptions {
  /**
   * Run the object model (phones). Default: every `objectInterval`-th frame of the stream; with
   * a cascade, `true` means "when the cascade says so" and `false` never.
   */
  objects?: boolean;
  /** Compute the largest face's embedding (fast path). Default true; with a cascade, as for `objects`. */
  identity?: boolean;
  /**
   * Spend the models where they matter (see `CascadePolicy`); absent or `null`: every model on
   * every frame (the naive pipeline, which the benchmarks keep as their baseline).
   */
  cascade?: CascadePolicy | null;
  /** Embed this frame's face whatever the cadence (the session is being verified, or the verdict wavers). */
  forceIdentity?: boolean;
  /** Score anti-spoofing on this frame whatever the cadence (a liveness challenge runs). */
  forceAntispoof?: boolean;
}

/**
 * Per-stream cadences of the expensive models. Mesh and iris on each face and a cheap change
 * measure run on every frame, the face detector every few frames; the rest run on these
 * cadences of the stream's own clock (`RgbFrame.at`), and at once when the picture says they
 * should.
 */
export interface CascadePolicy {
  /**
   * The full-range face detector (256 px: small faces far from the camera too) on every n-th
   * frame; in between the short-range one (128 px: faces near the camera), which is ten times
   * cheaper (1: the full-range detector on every frame). A face far behind the candidate is
   * found within n frames, one near the camera at once.
   */
  detectorEveryFrames: number;
  /**
   * The iris model (eye gaze) at least this often, and on every frame while
   * the last look pointed towards the edge of the screen; the mesh (head pose, eyes open) runs
   * on every frame regardless.
   */
  gazeEveryMs: number;
  /** Identity embedding at least this often while a face is visible... */
  identityEveryMs: number;
  /** ...and on this many frames in a row when the face track changes (new face, jump, second face, return). */
  identityBurstFrames: number;
  /** Anti-spoofing and liveness scores this often (and on the frame after a track change). */
  antispoofEveryMs: number;
  /** Object model (phones) this often... */
  objectsEveryMs: number;
  /** ...and when the picture changed this much since it last ran (mean luma difference, 0..1). */
  sceneChange: number;
}

export const defaultCascade: CascadePolicy = {
  detectorEveryFrames: 3,
  gazeEveryMs: 2000,
  identityEveryMs: 5000,
  identityBurstFrames: 3,
  antispoofEveryMs: 10_000,
  objectsEveryMs: 3000,
  sceneChange: 0.15,
};

/** Which models ran on a frame, and the change measure that decided some of it. */
export interface FrameStages {
  objects: boolean;
  identity: boolean;
  antispoof: boolean;
  /** Mean luma difference (0..1) from the frame the object model last ran on; `null` on the first. */
  change: number | null;
  /** The face track changed on this frame (drives identity and anti-spoofing at once). */
  trackChanged: boolean;
  /**
   * The faces came from the short-range detector alone (cascade frames between full-range runs);
   * false when the full-range detector ran on this frame.
   */
  shortRange: boolean;
  /** Eye gaze was measured (the iris model ran); absent means it was. */
  iris?: boolean;
}

/** Quality figures of a reference photo: numbers only, stored as `candidates.referenceQuality`. */
export interface ReferenceQuality {
  width: number;
  height: number;
  brightness: number;
  faceScore?: number;
  faceSizeRatio?: number;
  sharpness?: number;
  yaw?: number;
  pitch?: number;
}

export interface ReferenceAnalysis {
  /** Faces found by the reference detector (tiny background faces are not counted). */
  faces: number;
  /** 128-d descriptor of the face, when exactly one face was found. */
  embedding: number[] | null;
  /**
   * `face-api`: its SSD detector + 68 landmarks (the strong path); `mesh`: Human's mesh crop, used
   * when face-api's detector misses a face Human found.
   */
  embeddingPath: 'face-api' | 'mesh' | null;
  /** Human's view of the largest face: pose, anti-spoofing and liveness scores. */
  face: Omit<FaceAnalysis, 'embedding'> | null;
  quality: ReferenceQuality;
  timings: { decodeMs: number; detectMs: number; embedMs: number; totalMs: number };
}

export interface VerifyResult {
  faceMatch: boolean;
  /** 0..1; `null` when the image did not hold exactly one face. */
  similarity: number | null;
  faces: number;
  real: number | null;
  live: number | null;
}

export interface AudioAnalysis {
  dropped: false;
  streamId: string;
  at: number;
  /** Highest per-32-ms speech probability in the chunk (Silero VAD). */
  speechProbability: number;
  /** Share of the chunk's 32 ms frames whose speech probability is at least 0.5. */
  speechRatio: number;
  /** Root mean square of the samples, 0..1 of full scale. */
  rms: number;
  /** `rms` in dBFS (-100 for digital silence). */
  dbfs: number;
  /** VAD frames evaluated (512 samples each; leftovers carry over to the next chunk). */
  frames: number;
  /** Quieter than the energy gate: the voice model did not run. */
  gated: boolean;
  timings: { queueMs: number; vadMs: number; totalMs: number };
}

export interface DroppedAudio {
  dropped: true;
  streamId: string;
  at: number;
  reason: DropReason;
}

export type AudioResult = AudioAnalysis | DroppedAudio;

/** Counters since start; also exported to Prometheus through `AnalysisEngine.metrics()`. */
export interface EngineStats {
  framesAnalysed: number;
  framesDropped: number;
  audioAnalysed: number;
  audioDropped: number;
  /** Audio chunks below the energy gate, answered without the voice model. */
  audioGated: number;
  referencesAnalysed: number;
  workerRestarts: number;
}
