/**
 * The analysis capability: face, object and voice analysis on worker threads (Human, face-api,
 * Silero VAD; models from npm packages, checked against models/manifest.json), and the pure
 * helpers that turn its results into observations for the rules engine.
 */
export { AnalysisEngine } from './engine.js';
export { ObjectBudget } from './object-budget.js';
export type { AnalysisEngineOptions } from './engine.js';
export {
  cascadeTuning,
  createObserverState,
  defaultTuning,
  frameObservationTypes,
  guidanceCodes,
  guidanceMessages,
  observeAudio,
  observeFrame,
  observeMissing,
  setReference,
  steerIdentity,
} from './observe.js';
export type {
  AnalysisObservation,
  AnalysisPolicy,
  AudioObservationType,
  FrameObservations,
  FrameObservationType,
  GuidanceCode,
  ObserverState,
  ObserverTuning,
} from './observe.js';
export { distanceToSimilarity, faceDistance, similarity } from './similarity.js';
export { decodeImage } from './image.js';
export { measureBatching } from './batching.js';
export { measureNativeSpeedup } from './native-speedup.js';
export type { BatchingReport, BatchingRow } from './batching.js';
export { ModelIntegrityError, readManifest, verifyModels } from './manifest.js';
export type { ModelManifest } from './manifest.js';
export { ffmpegAvailable, readVideoFrames } from './video.js';
export type { VideoFrame } from './video.js';
export { analysisBackends, defaultCascade } from './types.js';
export type * from './types.js';
