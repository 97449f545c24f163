/**
 * The frame sampler: the server-side tap of candidate media for analysis. Build one
 * `SamplerService` next to the MediaService; it taps every camera (RGB frames at
 * MONITOR_FPS, CHALLENGE_FPS during a liveness challenge) and microphone (16 kHz PCM):
 *
 *   const sampler = await SamplerService.create({ media, logger,
 *     monitorFps: config.analysis.monitorFps, challengeFps: config.analysis.challengeFps });
 *   sampler.on('frame', (frame) => engine.analyseFrame(frame.sessionId, frame));
 *   sampler.on('audio', (chunk) => engine.analyseAudio(chunk.sessionId, chunk.pcm, chunk.at));
 *   sampler.challenge(sessionId, true); // … false when the challenge ends
 *   await sampler.close();
 *
 * Needs an ffmpeg (4.0 or newer: the system's, or the one `npm install` brings in
 * `@ffmpeg-installer/ffmpeg`) that decodes VP8 and Opus; `create` fails clearly without one.
 */
export { SamplerService } from './sampler-service.js';
export type { SamplerEvents, SamplerOptions, TapInfo } from './sampler-service.js';
export { SessionTap } from './session-tap.js';
export type { SessionTapOptions } from './session-tap.js';
export { audioSampleRate, checkFfmpeg } from './ffmpeg.js';
export {
  describeRejections,
  ffmpegCandidates,
  ffmpegFix,
  findOnPath,
  packagedFfmpegName,
  probeFfmpeg,
  resolveFfmpeg,
  resolveFfmpegOnce,
  toolFfmpeg,
} from './ffmpeg-binary.js';
export type { FfmpegChoice, FfmpegRejection, FfmpegResolution, FfmpegSource } from './ffmpeg-binary.js';
export type {
  AudioChunk,
  FrameSize,
  SampledFrame,
  TapEvents,
  TapFault,
  TapKind,
  TapRef,
  TapStall,
} from './types.js';
