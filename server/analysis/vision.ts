/**
 * Worker-thread side: one frame or photo through Human (faces, pose, mesh, anti-spoofing,
 * objects) and face-api's recognition net (identity), plus the capture-quality figures.
 */
import type { Tensor3D, Tensor4D } from '@tensorflow/tfjs-core';
import type { FaceResult, Result } from '@vladmandic/human';
import { alignedCrop, eyeGaze, eyeOpenness, eyeWidth, type Point } from './face-geometry.js';
import type { FaceTrack, FrameReply, ReferenceReply } from './protocol.js';
import { lumaStats, pixelDigest, regionBrightness, regionSharpness } from './quality.js';
import type { Runtime } from './runtime.js';
import type { Box, DetectedObject, FaceAnalysis, FrameQuality, RgbImage } from './types.js';

/** The recognition net's input side (face-api's `FaceRecognitionNet`). */
const recognitionSize = 150;
/** The crop is taken this much larger, rotated level, then its centre kept, so corners stay filled. */
const rotationMargin = 1.5;
/** Mean eyelid gap / eye width below which the eyes count as shut (open eyes measure ~0.25-0.4). */
const eyesShutBelow = 0.16;
/** Iris positions are only trusted on eyes open this wide and at least this many pixels across. */
const gazeMinOpenness = 0.2;
const gazeMinEyePixels = 20;
/** A reference-photo face smaller than this share of the largest one is background, not a second person. */
const backgroundFaceRatio = 0.25;
/** face-api SSD threshold for reference photos. */
const referenceMinScore = 0.5;

const degrees = (radians: number) => Math.round(((radians * 180) / Math.PI) * 10) / 10;
const round = (value: number, digits = 3) => Math.round(value * 10 ** digits) / 10 ** digits;
const area = (box: Box) => box[2] * box[3];

function toFace(face: FaceResult): Omit<FaceAnalysis, 'embedding'> {
  const mesh = face.mesh as unknown as Point[];
  const angle = face.rotation?.angle;
  const openness = mesh.length >= 468 ? eyeOpenness(mesh) : null;
  const meanOpenness = openness ? (openness[0] + openness[1]) / 2 : 0;
  // Shut or tiny eyes give iris positions that are noise (testdata: stock-emotions-b-1, Foreman).
  const gaze = meanOpenness >= gazeMinOpenness && eyeWidth(mesh) >= gazeMinEyePixels ? eyeGaze(mesh) : null;
  return {
    box: face.box.map((value) => Math.round(value)) as Box,
    score: round(face.score),
    yaw: angle ? degrees(angle.yaw) : 0,
    pitch: angle ? degrees(angle.pitch) : 0,
    roll: angle ? degrees(angle.roll) : 0,
    gaze: gaze ? { yaw: Math.round(gaze.yaw * 10) / 10, pitch: Math.round(gaze.pitch * 10) / 10 } : null,
    eyeOpenness: openness ? [round(openness[0]), round(openness[1])] : null,
    eyesOpen: openness ? meanOpenness >= eyesShutBelow : null,
    real: typeof face.real === 'number' ? round(face.real) : null,
    live: typeof face.live === 'number' ? round(face.live) : null,
  };
}

/**
 * The int32 copy of the frame's bytes that tfjs needs (it has no uint8 tensors). One buffer per
 * worker, reused: a fresh 3.7 MB array for every 640x480 frame was garbage that kept V8's
 * collector busy on every thread. Safe to reuse: the backends copy it into their own memory (wasm
 * when the tensor is made, tfjs-node when an op first reads it, both within the request), and a
 * worker handles one request at a time.
 */
let int32Scratch = new Int32Array(0);

function imageTensor(runtime: Runtime, image: RgbImage): Tensor3D {
  const length = image.width * image.height * 3;
  if (int32Scratch.length < length) int32Scratch = new Int32Array(length);
  const values = int32Scratch.subarray(0, length);
  values.set(image.data.subarray(0, length));
  return runtime.tf.tensor3d(values, [image.height, image.width, 3], 'int32');
}

/**
 * The fast identity path: the face-api framing computed from Human's mesh, levelled by the eye
 * line, straight into the recognition net (about 30 ms here instead of ~250 ms for face-api's
 * own SSD + 68-landmark pass). Measured by `vigil bench accuracy`.
 */
async function fastEmbedding(
  runtime: Runtime,
  input: Tensor4D,
  mesh: readonly Point[],
): Promise<number[] | null> {
  const crop = alignedCrop(mesh);
  if (!crop) return null;
  const { tf, faceapi } = runtime;
  const [, height = 1, width = 1] = input.shape;
  const outer = crop.size * rotationMargin;
  const cx = crop.x + crop.size / 2;
  const cy = crop.y + crop.size / 2;
  const outerSide = Math.round(recognitionSize * rotationMargin);
  const offset = Math.floor((outerSide - recognitionSize) / 2);
  const face = tf.tidy(() => {
    const region = tf.image.cropAndResize(
      tf.cast(input, 'float32'),
      [
        [
          (cy - outer / 2) / height,
          (cx - outer / 2) / width,
          (cy + outer / 2) / height,
          (cx + outer / 2) / width,
        ],
      ],
      [0],
      [outerSide, outerSide],
      'bilinear',
      0,
    );
    // rotateWithOffset turns counter-clockwise for positive angles; the eye line's angle is
    // measured with y pointing down, so this levels it.
    const level = Math.abs(crop.roll) > 0.02 ? tf.image.rotateWithOffset(region, crop.roll, 0, 0.5) : region;
    return tf.slice(level, [0, offset, offset, 0], [1, recognitionSize, recognitionSize, 3]);
  });
  try {
    const descriptor = runtime.recognizer
      ? runtime.recognizer.run(face.dataSync() as Float32Array, face.shape)[0]?.data
      : await faceapi.computeFaceDescriptor(face);
    return descriptor instanceof Float32Array ? Array.from(descriptor, (value) => round(value, 6)) : null;
  } finally {
    face.dispose();
  }
}

function measureQuality(image: RgbImage, largest: Omit<FaceAnalysis, 'embedding'> | undefined): FrameQuality {
  const luma = lumaStats(image);
  const box = largest?.box;
  return {
    brightness: round(luma.mean),
    contrast: round(luma.std),
    faceBrightness: box ? round(regionBrightness(image, box) ?? luma.mean) : null,
    sharpness: box ? Math.round(regionSharpness(image, box) ?? 0) : null,
    faceSizeRatio: box ? round(box[3] / image.height) : null,
    faceCenter: box
      ? [round((box[0] + box[2] / 2) / image.width), round((box[1] + box[3] / 2) / image.height)]
      : null,
    digest: pixelDigest(image),
  };
}

/** Side lengths of the change-measure thumbnail (luma, one byte a cell). */
const thumbWidth = 32;
const thumbHeight = 24;

/**
 * A 32x24 luma thumbnail, each cell the mean of a sparse grid of its pixels: about 3,000 reads
 * of a 640x480 frame, a few hundredths of a millisecond.
 */
export function thumbnail(image: RgbImage): Uint8Array {
  const out = new Uint8Array(thumbWidth * thumbHeight);
  const cellW = image.width / thumbWidth;
  const cellH = image.height / thumbHeight;
  for (let ty = 0; ty < thumbHeight; ty++) {
    for (let tx = 0; tx < thumbWidth; tx++) {
      let sum = 0;
      let count = 0;
      for (let sy = 0.25; sy < 1; sy += 0.25) {
        for (let sx = 0.25; sx < 1; sx += 0.25) {
          const x = Math.min(image.width - 1, Math.floor((tx + sx) * cellW));
          const y = Math.min(image.height - 1, Math.floor((ty + sy) * cellH));
          const i = (y * image.width + x) * 3;
          sum +=
            0.299 * (image.data[i] ?? 0) +
            0.587 * (image.data[i + 1] ?? 0) +
            0.114 * (image.data[i + 2] ?? 0);
          count += 1;
        }
      }
      out[ty * thumbWidth + tx] = Math.round(sum / count);
    }
  }
  return out;
}

/** Mean absolute difference of two thumbnails, 0..1; `null` without a previous one. */
export function thumbnailChange(previous: Uint8Array | null, next: Uint8Array): number | null {
  if (!previous || previous.length !== next.length) return null;
  let sum = 0;
  for (let i = 0; i < next.length; i++) sum += Math.abs((next[i] ?? 0) - (previous[i] ?? 0));
  return sum / next.length / 255;
}

/**
 * Whether the largest face is a different track from the previous frame's: faces appeared, left
 * or changed in number, or the largest box jumped by more than half its size or changed its
 * size by half. Identity is what can fail a candidate, so any doubt counts as a change.
 */
export function trackChanged(previous: FaceTrack | null, next: FaceTrack): boolean {
  if (!previous) return next.faces > 0;
  if (previous.faces !== next.faces) return next.faces > 0;
  if (!previous.box || !next.box) return false;
  const [px, py, pw, ph] = previous.box;
  const [nx, ny, nw, nh] = next.box;
  const jump = Math.hypot(nx + nw / 2 - (px + pw / 2), ny + nh / 2 - (py + ph / 2));
  const ratio = nh / Math.max(1, ph);
  return jump > 0.5 * Math.max(pw, ph) || ratio > 1.5 || ratio < 1 / 1.5;
}

/**
 * Faces with the shared Human: the full-range detector, then mesh and iris on each face
 * (anti-spoofing if asked).
 */
function detectFaces(runtime: Runtime, input: Tensor4D, antispoof: boolean, iris = true): Promise<Result> {
  // Human merges the config given to detect() into its own for good: every switch spelled out.
  return runtime.human.detect(input, {
    object: { enabled: false },
    face: {
      enabled: true,
      iris: { enabled: iris },
      antispoof: { enabled: antispoof },
      liveness: { enabled: antispoof },
    },
  });
}

/**
 * A change from the stream's previous frame this large is a cut (another picture, e.g. someone
 * else in the chair), not motion: the full-range detector looks afresh. Mean luma difference of
 * the 32x24 thumbnails: Foreman's handheld camera measures 0.04-0.15 between seconds (0.2-0.27
 * while it pans away), a cut from him to another man 0.25.
 */
const cutChange = 0.2;

/**
 * Faces on a cascade frame: the short-range detector (the quick Human) unless the full-range one
 * is due, the picture was cut, or the short-range one finds fewer faces than the stream had (a
 * face far from the camera, or one it lost), in which case the full-range one looks again.
 */
async function cascadeFaces(
  runtime: Runtime,
  input: Tensor4D,
  options: FrameWorkOptions,
  cut: boolean,
  iris: boolean,
): Promise<{ result: Result; shortRange: boolean }> {
  if (!options.fullDetector && !cut) {
    // Human keeps what detect() is given: the iris switch is spelled out on every call.
    const result = await runtime.quick.detect(input, { face: { iris: { enabled: iris } } });
    const found = result.face.filter((face) => face.score >= runtime.settings.minFaceScore).length;
    if (found >= (options.track?.faces ?? 0)) return { result, shortRange: true };
  }
  return { result: await detectFaces(runtime, input, false, iris), shortRange: false };
}

export interface FrameWorkOptions {
  /**
   * Cascade frames only: the full-range face detector on this frame (otherwise the short-range
   * one, see `cascadeFaces`). Frames without a cascade, or with anti-spoofing, always get it.
   */
  fullDetector?: boolean;
  /** The iris model (eye gaze) on a cascade frame (default true). */
  iris?: boolean;
  objects: boolean | 'onChange';
  identity: boolean | 'onTrackChange';
  antispoof: boolean;
  /** Without a cascade there is no previous frame to compare with: no scene or track changes. */
  cascade?: boolean;
  thumbnail?: Uint8Array | null;
  previousThumbnail?: Uint8Array | null;
  sceneChange?: number;
  track?: FaceTrack | null;
}

export async function analyseFrame(
  runtime: Runtime,
  image: RgbImage,
  options: FrameWorkOptions,
): Promise<FrameReply> {
  const { tf, human } = runtime;
  let started = performance.now();
  const small = thumbnail(image);
  const change = options.cascade ? thumbnailChange(options.thumbnail ?? null, small) : null;
  const objects =
    options.objects === 'onChange'
      ? change === null || change >= (options.sceneChange ?? 0)
      : options.objects;
  const pixels = imageTensor(runtime, image);
  const input = tf.expandDims<Tensor4D>(pixels, 0);
  const prepareMs = performance.now() - started;
  try {
    started = performance.now();
    const cut = (thumbnailChange(options.previousThumbnail ?? null, small) ?? 0) >= cutChange;
    // Eye gaze on every frame without a cascade; with one, as the engine's gaze cadence says.
    const iris = options.cascade !== true || options.iris !== false;
    const { result, shortRange } =
      options.cascade === true && !options.antispoof
        ? await cascadeFaces(runtime, input, options, cut, iris)
        : { result: await detectFaces(runtime, input, options.antispoof, iris), shortRange: false };
    const detectMs = performance.now() - started;
    started = performance.now();
    // Human merges the config given to detect() into its own for good: every switch spelled out.
    const objectResult = objects
      ? await human.detect(input, { face: { enabled: false }, object: { enabled: true } })
      : null;
    const objectsMs = objects ? performance.now() - started : 0;
    const found = result.face
      .filter((face) => face.score >= runtime.settings.minFaceScore)
      .sort((a, b) => area(b.box) - area(a.box));
    const faces: FaceAnalysis[] = found.map((face) => ({ ...toFace(face), embedding: null }));
    const track: FaceTrack = { faces: faces.length, box: faces[0]?.box ?? null };
    // A cut with a face in it is a new track whatever the boxes say: someone else can sit where
    // the last person sat (the bench's face swap), and identity is the verdict that can fail them.
    const changedTrack =
      options.cascade === true && (trackChanged(options.track ?? null, track) || (cut && faces.length > 0));
    const identity = options.identity === 'onTrackChange' ? changedTrack : options.identity;

    started = performance.now();
    const first = found[0];
    const firstFace = faces[0];
    if (identity && first && firstFace) {
      firstFace.embedding = await fastEmbedding(runtime, input, first.mesh);
    }
    const embedMs = performance.now() - started;

    started = performance.now();
    const quality = measureQuality(image, faces[0]);
    const qualityMs = performance.now() - started;

    const detected: DetectedObject[] | null = objectResult
      ? objectResult.object.map((object) => ({
          label: object.label,
          score: round(object.score),
          box: object.box.map((value) => Math.round(value)) as Box,
        }))
      : null;
    return {
      faces,
      objects: detected,
      quality,
      stages: {
        objects,
        identity: firstFace?.embedding != null,
        antispoof: options.antispoof && faces.length > 0,
        change: change === null ? null : round(change, 4),
        trackChanged: changedTrack,
        shortRange,
        iris,
      },
      thumbnail: small,
      track,
      prepareMs,
      detectMs,
      objectsMs,
      embedMs,
      qualityMs,
    };
  } finally {
    tf.dispose([pixels, input]);
  }
}

/**
 * The strong identity path for reference photos and one-shot checks: face-api's own SSD face
 * detector and 68-landmark alignment before the recognition net (TPR 1.00 at FPR 1% on the
 * test pairs), with Human alongside for pose, anti-spoofing and quality.
 */
export async function analyseReference(runtime: Runtime, image: RgbImage): Promise<ReferenceReply> {
  const { tf, faceapi } = runtime;
  const pixels = imageTensor(runtime, image);
  const input = tf.expandDims<Tensor4D>(pixels, 0);
  try {
    let started = performance.now();
    const result = await detectFaces(runtime, input, true);
    const found = result.face
      .filter((face) => face.score >= runtime.settings.minFaceScore)
      .sort((a, b) => area(b.box) - area(a.box));
    const humanFaces = found.map(toFace);
    const humanMesh = found[0]?.mesh as unknown as Point[] | undefined;
    const detectMs = performance.now() - started;

    started = performance.now();
    const detections = await faceapi
      .detectAllFaces(
        pixels,
        new faceapi.SsdMobilenetv1Options({ minConfidence: referenceMinScore, maxResults: 20 }),
      )
      .withFaceLandmarks()
      .withFaceDescriptors();
    const sorted = [...detections].sort((a, b) => b.detection.box.area - a.detection.box.area);
    const largestHeight = sorted[0]?.detection.box.height ?? 0;
    const counted = sorted.filter((face) => face.detection.box.height >= largestHeight * backgroundFaceRatio);
    const humanLargest = humanFaces[0]?.box[3] ?? 0;
    const humanCounted = humanFaces.filter((face) => face.box[3] >= humanLargest * backgroundFaceRatio);
    const faces = Math.max(counted.length, humanCounted.length);
    const best = counted[0];
    let embedding: number[] | null = null;
    let embeddingPath: ReferenceReply['embeddingPath'] = null;
    if (faces === 1 && best) {
      embedding = Array.from(best.descriptor, (value) => round(value, 6));
      embeddingPath = 'face-api';
    } else if (faces === 1 && humanMesh) {
      // face-api's SSD misses some faces Human finds (one filling and overflowing a webcam frame,
      // in testdata/video/cisco_men_whisper): fall back to the aligned mesh crop, which matched
      // the strong path on every test pair (see `vigil bench accuracy`).
      embedding = await fastEmbedding(runtime, input, humanMesh);
      embeddingPath = embedding ? 'mesh' : null;
    }
    const embedMs = performance.now() - started;

    return {
      faces,
      embedding,
      embeddingPath,
      face: humanFaces[0] ?? null,
      faceScore: best ? round(best.detection.score) : (humanFaces[0]?.score ?? null),
      quality: measureQuality(image, humanFaces[0]),
      detectMs,
      embedMs,
    };
  } finally {
    tf.dispose([pixels, input]);
  }
}
