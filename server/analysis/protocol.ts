/**
 * Messages between the engine (main thread) and its analysis workers. Each request carries an
 * id and gets exactly one reply with that id.
 */
import type {
  AnalysisBackend,
  BackendChoice,
  DetectedObject,
  FaceAnalysis,
  FrameQuality,
  FrameStages,
  RgbImage,
} from './types.js';

/** Tuning the engine passes to every worker at start (`workerData`). */
export interface WorkerSettings {
  backend: BackendChoice;
  manifestPath: string;
  /** Faces the detector may return per frame (Human's default is 1, which hides a second person). */
  maxFaces: number;
  minFaceScore: number;
  minObjectScore: number;
}

export type WorkerRequest =
  | {
      id: number;
      type: 'frame';
      /** The full-range face detector on this cascade frame (else the short-range one). */
      fullDetector: boolean;
      /** Run the iris model (eye gaze) on this cascade frame. */
      iris: boolean;
      image: RgbImage;
      /** `onChange`: only when the picture changed at least `sceneChange` from `thumbnail`. */
      objects: boolean | 'onChange';
      /** `onTrackChange`: only when the face track differs from `track`. */
      identity: boolean | 'onTrackChange';
      antispoof: boolean;
      /** Cascade on: compare with the stream's previous frame and face track. */
      cascade: boolean;
      /** The frame the object model last ran on, as `thumbnail()` made it (cascade only). */
      thumbnail: Uint8Array | null;
      /** The stream's previous analysed frame, as `thumbnail()` made it (cascade only): a cut sends the frame to the full-range detector. */
      previousThumbnail: Uint8Array | null;
      sceneChange: number;
      /** The stream's previous face track (cascade only). */
      track: FaceTrack | null;
    }
  | { id: number; type: 'reference'; image: RgbImage }
  | { id: number; type: 'audio'; streamId: string; samples: Int16Array; discontinuity: boolean }
  | { id: number; type: 'forget'; streamId: string };

/** What the cascade remembers of a stream's faces between frames. */
export interface FaceTrack {
  faces: number;
  /** The largest face's box, `[x, y, width, height]`. */
  box: [number, number, number, number] | null;
}

export interface FrameReply {
  faces: FaceAnalysis[];
  objects: DetectedObject[] | null;
  quality: FrameQuality;
  stages: FrameStages;
  thumbnail: Uint8Array;
  track: FaceTrack;
  prepareMs: number;
  detectMs: number;
  objectsMs: number;
  embedMs: number;
  qualityMs: number;
}

export interface ReferenceReply {
  faces: number;
  embedding: number[] | null;
  embeddingPath: 'face-api' | 'mesh' | null;
  face: Omit<FaceAnalysis, 'embedding'> | null;
  faceScore: number | null;
  quality: FrameQuality;
  detectMs: number;
  embedMs: number;
}

export interface AudioReply {
  speechProbability: number;
  speechRatio: number;
  rms: number;
  frames: number;
  vadMs: number;
}

export interface WorkerReplies {
  frame: FrameReply;
  reference: ReferenceReply;
  audio: AudioReply;
  forget: null;
}

export type WorkerMessage =
  | {
      type: 'ready';
      backend: AnalysisBackend;
      tried: string[];
      versions: Record<string, string>;
      loadMs: number;
    }
  | { type: 'failed'; message: string; tried: string[] }
  | { type: 'reply'; id: number; ok: true; value: WorkerReplies[keyof WorkerReplies] }
  | { type: 'reply'; id: number; ok: false; message: string };
