import { EventEmitter } from 'node:events';
import type { MediaService, ProducerRef, ProducerState } from '../media/index.js';
import type { Logger } from '../shared/index.js';
import { checkFfmpeg, frameSyncOption, type FrameSyncOption } from './ffmpeg.js';
import { requireSamplerFfmpeg } from './ffmpeg-binary.js';
import { SessionTap, type SessionTapOptions } from './session-tap.js';
import type { AudioChunk, FrameSize, TapFault, TapKind, TapRef, TapStall, SampledFrame } from './types.js';

export interface SamplerOptions {
  media: MediaService;
  logger: Logger;
  /** MONITOR_FPS: camera samples per second normally. */
  monitorFps: number;
  /** CHALLENGE_FPS: camera samples per second during a liveness challenge (`challenge()`). */
  challengeFps: number;
  /** At most this many taps (one per camera or microphone) run at once; more wait in line. */
  maxTaps?: number;
  /** Size of every frame (default 640x480, what the candidate page asks its camera for). */
  frameSize?: FrameSize;
  /** Decode microphones too (default true). */
  audio?: boolean;
  /** Length of each `audio` chunk (default 100 ms = 1600 samples). */
  audioChunkMs?: number;
  /** Default: chosen by capability (ffmpeg-binary.ts: FFMPEG_PATH, system, packaged). */
  ffmpegPath?: string;
  /** No output for this long is `stalled` (default 3000 ms; video: at least 2.5 periods). */
  stallAfterMs?: number;
  /** Restart back-off for a failed decoder (default 250 ms doubling to 10 s). */
  restartBackoffMs?: { min: number; max: number };
}

export interface TapInfo extends TapRef {
  examId: string;
  /** Video samples per second now (undefined for audio). */
  fps: number | undefined;
  /** The ffmpeg processes of this tap (two during a rate switch). */
  pids: number[];
  stalled: boolean;
}

export interface SamplerEvents {
  frame: [SampledFrame];
  audio: [AudioChunk];
  stalled: [TapStall];
  flowing: [TapRef];
  /** Decoder failures (each is retried); emitted only when someone listens, always logged. */
  error: [TapFault];
  /** A tap opened; `pids`: its decoder (none yet when the first start is being retried). */
  'tap:opened': [TapRef & { examId: string; pids: number[] }];
  /** A tap's ffmpeg started again: restart after a failure, or a rate switch. */
  'decoder:started': [TapRef & { pid: number; fps: number | undefined }];
  'tap:closed': [TapRef & { examId: string }];
  closed: [];
}

interface Entry {
  ref: ProducerRef;
  kind: TapKind;
  tap: SessionTap | undefined;
  /** Producer closed (or sampler closing) before its tap finished opening. */
  cancelled: boolean;
}

const defaults = {
  maxTaps: 64,
  frameSize: { width: 640, height: 480 },
  audioChunkMs: 100,
  ffmpegPath: 'ffmpeg',
  stallAfterMs: 3000,
  restartBackoffMs: { min: 250, max: 10_000 },
};

/**
 * Taps every candidate camera and microphone the SFU carries, for server-side analysis:
 * listens to the MediaService's producer events, opens a `SessionTap` per producer (camera →
 * RGB frames at the session's sampling rate, microphone → 16 kHz PCM), closes it when the
 * producer goes, and re-emits what the taps deliver. The analysis pipeline only subscribes:
 * `on('frame')`, `on('audio')`, and moves a session between rates with `challenge()` /
 * `setRate()`.
 */
export class SamplerService extends EventEmitter<SamplerEvents> {
  readonly #media: MediaService;
  readonly #log: Logger;
  readonly #options: Required<Omit<SamplerOptions, 'media' | 'logger'>>;
  /** How this ffmpeg build spells frame-timestamp passthrough. */
  readonly #frameSync: FrameSyncOption;
  /** Open or opening taps by producer id. */
  readonly #entries = new Map<string, Entry>();
  /** Producers waiting for a free tap slot, oldest first. */
  readonly #waiting = new Map<string, ProducerRef>();
  /** Sampling rates that differ from monitorFps, by session. */
  readonly #rates = new Map<string, number>();
  readonly #unsubscribe: () => void;
  #closing: Promise<void> | undefined;

  private constructor(options: SamplerOptions, frameSync: FrameSyncOption) {
    super();
    this.#frameSync = frameSync;
    this.#media = options.media;
    this.#log = options.logger.child({ component: 'sampler' });
    this.#options = {
      monitorFps: options.monitorFps,
      challengeFps: options.challengeFps,
      maxTaps: options.maxTaps ?? defaults.maxTaps,
      frameSize: options.frameSize ?? defaults.frameSize,
      audio: options.audio ?? true,
      audioChunkMs: options.audioChunkMs ?? defaults.audioChunkMs,
      ffmpegPath: options.ffmpegPath ?? defaults.ffmpegPath,
      stallAfterMs: options.stallAfterMs ?? defaults.stallAfterMs,
      restartBackoffMs: options.restartBackoffMs ?? defaults.restartBackoffMs,
    };
    const onNew = (ref: ProducerRef) => this.#onProducer(ref);
    const onClosed = (ref: ProducerRef) => this.#onProducerClosed(ref);
    const onState = (ref: ProducerRef & { state: ProducerState }) => this.#onProducerState(ref);
    this.#media.on('producer:new', onNew);
    this.#media.on('producer:closed', onClosed);
    this.#media.on('producer:state', onState);
    this.#unsubscribe = () => {
      this.#media.off('producer:new', onNew);
      this.#media.off('producer:closed', onClosed);
      this.#media.off('producer:state', onState);
    };
  }

  /** Checks ffmpeg (a clear start-up error if it is missing or too old), then starts listening. */
  static async create(options: SamplerOptions): Promise<SamplerService> {
    for (const [name, fps] of [
      ['monitorFps', options.monitorFps],
      ['challengeFps', options.challengeFps],
    ] as const) {
      if (!(fps > 0) || !Number.isFinite(fps)) throw new Error(`sampler: ${name} must be > 0, got ${fps}`);
    }
    if (options.maxTaps !== undefined && !(Number.isInteger(options.maxTaps) && options.maxTaps >= 1)) {
      throw new Error(`sampler: maxTaps must be a whole number >= 1, got ${options.maxTaps}`);
    }
    // The ffmpeg chosen by capability (ffmpeg-binary.ts) unless the caller names one.
    const chosen = options.ffmpegPath === undefined ? await requireSamplerFfmpeg() : undefined;
    const ffmpegPath = options.ffmpegPath ?? chosen?.path ?? defaults.ffmpegPath;
    const version = await checkFfmpeg(ffmpegPath);
    const service = new SamplerService({ ...options, ffmpegPath }, await frameSyncOption(ffmpegPath));
    service.#log.info(
      {
        ffmpeg: version,
        ffmpegPath,
        ffmpegSource: chosen?.source ?? 'caller',
        maxTaps: service.#options.maxTaps,
      },
      'frame sampler ready',
    );
    return service;
  }

  get monitorFps(): number {
    return this.#options.monitorFps;
  }

  get challengeFps(): number {
    return this.#options.challengeFps;
  }

  /**
   * Sets a session's camera sampling rate; it sticks for that session's later camera
   * producers too, until set back to monitorFps or the camera producer closes.
   */
  setRate(sessionId: string, fps: number): void {
    if (!(fps > 0) || !Number.isFinite(fps)) throw new Error(`sampler: bad rate ${fps}`);
    if (fps === this.#options.monitorFps) this.#rates.delete(sessionId);
    else this.#rates.set(sessionId, fps);
    for (const entry of this.#entries.values()) {
      if (entry.ref.sessionId === sessionId && entry.kind === 'video') entry.tap?.setRate(fps);
    }
  }

  /** A liveness challenge starts (CHALLENGE_FPS) or ends (back to MONITOR_FPS). */
  challenge(sessionId: string, active: boolean): void {
    this.setRate(sessionId, active ? this.#options.challengeFps : this.#options.monitorFps);
  }

  /** The taps open now (for metrics, health and tests). */
  taps(): TapInfo[] {
    const list: TapInfo[] = [];
    for (const entry of this.#entries.values()) {
      if (!entry.tap) continue;
      list.push({
        ...entry.tap.ref,
        examId: entry.ref.examId,
        fps: entry.kind === 'video' ? entry.tap.fps : undefined,
        pids: entry.tap.pids,
        stalled: entry.tap.stalled,
      });
    }
    return list;
  }

  /** Producers waiting for a free tap slot. */
  get waiting(): number {
    return this.#waiting.size;
  }

  /** Stops listening and closes every tap (and its ffmpeg). Safe to call twice; emits `closed`. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#unsubscribe();
      this.#waiting.clear();
      const entries = [...this.#entries.values()];
      for (const entry of entries) entry.cancelled = true;
      await Promise.all(entries.map((entry) => entry.tap?.close() ?? Promise.resolve()));
      this.#entries.clear();
      this.emit('closed');
    })();
    return this.#closing;
  }

  #onProducer(ref: ProducerRef): void {
    if (this.#closing) return;
    const kind: TapKind = ref.producer.source === 'camera' ? 'video' : 'audio';
    if (kind === 'audio' && !this.#options.audio) return;
    if (this.#entries.size >= this.#options.maxTaps) {
      this.#log.warn(
        { sessionId: ref.sessionId, source: ref.producer.source, maxTaps: this.#options.maxTaps },
        'all sampler taps busy; this stream waits for a free one',
      );
      this.#waiting.set(ref.producer.id, ref);
      return;
    }
    const entry: Entry = { ref, kind, tap: undefined, cancelled: false };
    this.#entries.set(ref.producer.id, entry);
    void this.#open(entry);
  }

  async #open(entry: Entry): Promise<void> {
    const { ref, kind } = entry;
    const tapRef = { sessionId: ref.sessionId, kind, producerId: ref.producer.id };
    let tap: SessionTap;
    try {
      // Taps consume on the exam's first router; a producer that lives on another router of a
      // spread-out exam is piped there once (the room caches the pipe).
      const room = await this.#media.room(ref.examId);
      await room.bringProducerTo(ref.producer.id, room.router);
      tap = await SessionTap.create({ ...this.#tapOptions(ref, kind), router: room.router });
    } catch (error) {
      this.#log.warn({ err: error, sessionId: ref.sessionId, kind }, 'could not open a sampler tap');
      this.#forget(entry);
      return;
    }
    if (entry.cancelled) {
      await tap.close();
      return;
    }
    entry.tap = tap;
    // The rate may have changed while the tap was opening.
    if (kind === 'video') tap.setRate(this.#rates.get(ref.sessionId) ?? this.#options.monitorFps);
    tap.on('frame', (frame) => this.emit('frame', frame));
    tap.on('audio', (chunk) => this.emit('audio', chunk));
    tap.on('stalled', (stall) => this.emit('stalled', stall));
    tap.on('flowing', (flow) => this.emit('flowing', flow));
    tap.on('started', (started) => this.emit('decoder:started', started));
    tap.on('error', (fault) => {
      if (this.listenerCount('error') > 0) this.emit('error', fault);
    });
    tap.once('closed', () => {
      this.#forget(entry);
      this.emit('tap:closed', { ...tapRef, examId: ref.examId });
    });
    this.emit('tap:opened', { ...tapRef, examId: ref.examId, pids: tap.pids });
  }

  #tapOptions(ref: ProducerRef, kind: TapKind): Omit<SessionTapOptions, 'router'> {
    const options = this.#options;
    return {
      producerId: ref.producer.id,
      sessionId: ref.sessionId,
      kind,
      logger: this.#log.child({ examId: ref.examId }),
      ffmpegPath: options.ffmpegPath,
      fps: this.#rates.get(ref.sessionId) ?? options.monitorFps,
      frameSize: options.frameSize,
      audioChunkMs: options.audioChunkMs,
      stallAfterMs: options.stallAfterMs,
      restartBackoffMs: options.restartBackoffMs,
      frameSync: this.#frameSync,
    };
  }

  #onProducerClosed(ref: ProducerRef): void {
    this.#waiting.delete(ref.producer.id);
    if (ref.producer.source === 'camera') this.#rates.delete(ref.sessionId);
    const entry = this.#entries.get(ref.producer.id);
    if (!entry) return;
    entry.cancelled = true;
    void entry.tap?.close();
  }

  #onProducerState(ref: ProducerRef & { state: ProducerState }): void {
    // A camera that comes back needs a keyframe before its decoder shows anything.
    if (ref.state !== 'resumed' && ref.state !== 'flowing') return;
    void this.#entries.get(ref.producer.id)?.tap?.requestKeyFrame();
  }

  /** Drops a closed (or failed) tap and gives its slot to the longest-waiting stream. */
  #forget(entry: Entry): void {
    if (this.#entries.get(entry.ref.producer.id) === entry) this.#entries.delete(entry.ref.producer.id);
    if (this.#closing) return;
    for (const [producerId, ref] of this.#waiting) {
      if (this.#entries.size >= this.#options.maxTaps) break;
      this.#waiting.delete(producerId);
      this.#onProducer(ref);
    }
  }
}
