export type TapKind = 'video' | 'audio';

/** One sampled camera picture: packed RGB24, always `width * height * 3` bytes. */
export interface SampledFrame {
  sessionId: string;
  width: number;
  height: number;
  data: Buffer;
  /** ms since the epoch when the decoded frame reached the server process (arrival + decode). */
  at: number;
  /** Per tap, +1 per emitted frame, across decoder restarts: a gap means frames were lost. */
  seq: number;
}

/** A chunk of microphone audio: 16 kHz, mono, signed 16-bit (host byte order, i.e. LE). */
export interface AudioChunk {
  sessionId: string;
  pcm: Int16Array;
  /** ms since the epoch when the chunk's last sample reached the server process. */
  at: number;
  seq: number;
}

export interface TapRef {
  sessionId: string;
  kind: TapKind;
  producerId: string;
}

/**
 * No output for a while. `no_media`: nothing reaches the tap (camera stopped, network gone);
 * `paused`: the candidate paused the producer. Not an error: the tap keeps waiting and says
 * `flowing` when output returns. Whether that is `camera_off` is the rules' decision.
 */
export interface TapStall extends TapRef {
  reason: 'no_media' | 'paused';
  /** ms epoch of the last output (or of the tap's start). */
  since: number;
}

/** The decoder failed or exited; the tap restarts it after `restartInMs`. Informational. */
export interface TapFault extends TapRef {
  message: string;
  restartInMs: number;
}

export interface TapEvents {
  frame: [SampledFrame];
  audio: [AudioChunk];
  stalled: [TapStall];
  flowing: [TapRef];
  /** Emitted only when someone listens (an unheard 'error' would throw); always logged. */
  error: [TapFault];
  /** A decoder process started (first start, restart, or rate switch). */
  started: [TapRef & { pid: number; fps: number | undefined }];
  closed: [];
}

export interface FrameSize {
  width: number;
  height: number;
}
