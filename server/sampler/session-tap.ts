import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import { backoffMs, type Logger } from '../shared/index.js';
import { audioOutputArgs, audioSampleRate, videoOutputArgs, type FrameSyncOption } from './ffmpeg.js';
import { DecoderPipeline, type PipelineExit } from './pipeline.js';
import type { FrameSize, TapEvents, TapKind, TapRef } from './types.js';

export interface SessionTapOptions {
  router: types.Router;
  producerId: string;
  sessionId: string;
  kind: TapKind;
  logger: Logger;
  ffmpegPath: string;
  /** Video: samples per second to start with (changed later with `setRate`). */
  fps: number;
  /** Video: every frame is exactly this size (scaled to fit, padded black). */
  frameSize: FrameSize;
  /** Audio: length of each `audio` chunk. */
  audioChunkMs: number;
  /** No output for this long is a stall (video: at least 2.5 sampling periods). */
  stallAfterMs: number;
  /** Restart delay after a failure: doubles from `min` up to `max`. */
  restartBackoffMs: { min: number; max: number };
  /** The frame-sync option of this ffmpeg build (`-fps_mode`, or `-vsync` before 5.1). */
  frameSync: FrameSyncOption;
}

/** A decoder that ran at least this long was healthy: the next failure starts the back-off over. */
const healthyAfterMs = 10_000;
const watchEveryMs = 500;
/** Keyframe requests are cheap but each one costs the candidate bandwidth: at most this often. */
const keyFrameEveryMs = 1000;

/**
 * The server-side tap of one candidate producer: a camera becomes RGB frames at the sampling
 * rate, a microphone becomes 16 kHz PCM. It owns a decoder pipeline (mediasoup consumer →
 * ffmpeg) and keeps one running for as long as the tap is open: a pipeline that dies is
 * replaced with back-off, a rate change starts a second one and switches over at its first
 * frame (no gap), and a stream that stops is reported as `stalled`, never as a crash.
 */
export class SessionTap extends EventEmitter<TapEvents> {
  readonly ref: TapRef;
  readonly #options: SessionTapOptions;
  readonly #log: Logger;
  /** The pipeline whose output is emitted. */
  #live: DecoderPipeline | undefined;
  /** A starting pipeline (restart or new rate); it replaces `#live` at its first output. */
  #next: DecoderPipeline | undefined;
  /** A pipeline start in progress (`#next` once it resolves). */
  #starting: Promise<void> | undefined;
  #fps: number;
  #seq = 0;
  #failures = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  readonly #watchTimer: NodeJS.Timeout;
  #lastOutputAt = Date.now();
  #stalled = false;
  /** A fresh decoder was started for media that returned after the current stall. */
  #freshAfterStall = false;
  #lastBytes: number | undefined;
  #lastKeyFrameAt = 0;
  #stuckSince: number | undefined;
  #closed = false;

  private constructor(options: SessionTapOptions) {
    super();
    this.#options = options;
    this.#fps = options.fps;
    this.ref = { sessionId: options.sessionId, kind: options.kind, producerId: options.producerId };
    this.#log = options.logger.child({ sessionId: options.sessionId, tap: options.kind });
    this.#watchTimer = setInterval(() => void this.#watch(), watchEveryMs);
    this.#watchTimer.unref();
  }

  /**
   * Opens the tap and starts its first decoder. Rejects (closed) when the producer or router
   * is gone; any other start failure is retried with back-off like a decoder that died.
   */
  static async create(options: SessionTapOptions): Promise<SessionTap> {
    const tap = new SessionTap(options);
    try {
      await tap.#start();
    } catch (error) {
      if (options.router.closed || /not found/i.test(errorMessage(error))) {
        await tap.close();
        throw error;
      }
      tap.#failed(undefined, errorMessage(error));
    }
    return tap;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Video samples per second now asked for. */
  get fps(): number {
    return this.#fps;
  }

  /** The decoder processes this tap runs now (one; two during a rate switch). */
  get pids(): number[] {
    return [this.#live, this.#next].flatMap((pipeline) => (pipeline ? [pipeline.pid] : []));
  }

  get stalled(): boolean {
    return this.#stalled;
  }

  /**
   * Changes the video sampling rate (e.g. MONITOR_FPS ⇄ CHALLENGE_FPS). The current decoder
   * keeps delivering until the new one's first frame, so a liveness challenge loses nothing.
   */
  setRate(fps: number): void {
    if (!(fps > 0) || !Number.isFinite(fps)) throw new Error(`bad sampling rate ${fps}`);
    if (this.#options.kind !== 'video' || this.#closed || fps === this.#fps) return;
    this.#fps = fps;
    this.#log.debug({ fps }, 'tap rate changed');
    this.#reconcile();
  }

  /** Asks for a keyframe now (e.g. the candidate resumed the camera); throttled. */
  async requestKeyFrame(): Promise<void> {
    const pipeline = this.#next ?? this.#live;
    if (pipeline) await this.#keyFrame(pipeline, 'asked');
  }

  /** Stops the decoders and frees everything. Safe to call twice; emits `closed` once. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#watchTimer);
    clearTimeout(this.#restartTimer);
    const pipelines = [this.#live, this.#next];
    this.#live = undefined;
    this.#next = undefined;
    await Promise.all(pipelines.map((pipeline) => pipeline?.close() ?? Promise.resolve()));
    // A start in flight sees #closed when it resolves and closes what it built.
    await this.#starting?.catch(() => undefined);
    this.emit('closed');
  }

  /** Starts a decoder if none runs (or is starting) at the wanted rate. */
  #reconcile(): void {
    if (this.#closed || this.#starting || this.#restartTimer) return;
    const wanted = this.#wantedFps();
    if (this.#next) {
      if (this.#next.fps === wanted) return;
      void this.#discard(this.#next);
      this.#next = undefined;
    }
    if (this.#live && this.#live.fps === wanted) return;
    void this.#start().catch((error: unknown) => this.#failed(undefined, errorMessage(error)));
  }

  #wantedFps(): number | undefined {
    return this.#options.kind === 'video' ? this.#fps : undefined;
  }

  async #start(): Promise<void> {
    const run = (async () => {
      const { kind, frameSize } = this.#options;
      const fps = this.#wantedFps();
      const pipeline = await DecoderPipeline.start({
        router: this.#options.router,
        producerId: this.#options.producerId,
        kind,
        ffmpegPath: this.#options.ffmpegPath,
        outputArgs:
          fps === undefined ? audioOutputArgs() : videoOutputArgs(fps, frameSize, this.#options.frameSync),
        chunkBytes:
          fps === undefined
            ? Math.round((audioSampleRate * this.#options.audioChunkMs) / 1000) * 2
            : frameSize.width * frameSize.height * 3,
        logger: this.#log,
        fps,
      });
      // Superseded while starting (closed, or another rate asked for): #reconcile follows up.
      if (this.#closed || fps !== this.#wantedFps()) {
        await pipeline.close();
        return;
      }
      this.#next = pipeline;
      pipeline.on('chunk', (chunk) => this.#output(pipeline, chunk));
      if (kind === 'video') {
        pipeline.on('decodeError', (line) => void this.#keyFrame(pipeline, `decoder: ${line}`));
      }
      pipeline.on('exit', (exit) => this.#exited(pipeline, exit));
      pipeline.on('gone', () => {
        this.#log.info('tapped producer or its router closed; closing the tap');
        void this.close();
      });
      this.#stuckSince = undefined;
      this.#lastBytes = undefined;
      this.#log.debug({ pid: pipeline.pid, fps }, 'tap decoder started');
      this.emit('started', { ...this.ref, pid: pipeline.pid, fps });
    })();
    this.#starting = run;
    try {
      await run;
    } finally {
      if (this.#starting === run) this.#starting = undefined;
    }
    this.#reconcile();
  }

  #output(pipeline: DecoderPipeline, chunk: Buffer): void {
    if (this.#closed) return;
    if (pipeline === this.#next) {
      // The new decoder delivers: it takes over, the old one goes.
      const old = this.#live;
      this.#live = pipeline;
      this.#next = undefined;
      if (old) void this.#discard(old);
    }
    if (pipeline !== this.#live) return;
    const at = Date.now();
    this.#lastOutputAt = at;
    this.#stuckSince = undefined;
    if (this.#stalled) {
      this.#stalled = false;
      this.emit('flowing', this.ref);
    }
    if (at - pipeline.startedAt >= healthyAfterMs) this.#failures = 0;
    this.#seq += 1;
    const { sessionId } = this.#options;
    if (this.#options.kind === 'video') {
      const { width, height } = this.#options.frameSize;
      this.emit('frame', { sessionId, width, height, data: chunk, at, seq: this.#seq });
    } else {
      const pcm = new Int16Array(chunk.buffer, chunk.byteOffset, chunk.byteLength / 2);
      this.emit('audio', { sessionId, pcm, at, seq: this.#seq });
    }
  }

  #exited(pipeline: DecoderPipeline, exit: PipelineExit): void {
    if (exit.requested || this.#closed) return;
    if (pipeline === this.#live) this.#live = undefined;
    else if (pipeline === this.#next) this.#next = undefined;
    else return;
    void pipeline.close();
    const how = exit.signal ? `signal ${exit.signal}` : `code ${String(exit.code)}`;
    this.#failed(pipeline, `ffmpeg exited (${how}): ${exit.stderrTail.slice(-2).join(' | ')}`);
  }

  /** A pipeline failed to start or died: report it and start another after the back-off. */
  #failed(pipeline: DecoderPipeline | undefined, message: string): void {
    if (this.#closed) return;
    if (pipeline && Date.now() - pipeline.startedAt >= healthyAfterMs) this.#failures = 0;
    const { min, max } = this.#options.restartBackoffMs;
    const restartInMs = backoffMs(this.#failures, { minMs: min, maxMs: max });
    this.#failures += 1;
    // Quiet while stalled: a decoder that gave up waiting for media is expected then.
    const level = this.#stalled ? 'debug' : 'warn';
    this.#log[level]({ restartInMs, failures: this.#failures }, `sampler tap failed: ${message}`);
    if (!this.#stalled && this.listenerCount('error') > 0) {
      this.emit('error', { ...this.ref, message, restartInMs });
    }
    this.#scheduleRestart(restartInMs);
  }

  #scheduleRestart(delayMs: number): void {
    if (this.#closed || this.#restartTimer) return;
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      this.#reconcile();
    }, delayMs);
  }

  async #discard(pipeline: DecoderPipeline): Promise<void> {
    try {
      await pipeline.close();
    } catch (error) {
      this.#log.warn({ err: error }, 'closing a tap decoder failed');
    }
  }

  async #keyFrame(pipeline: DecoderPipeline, why: string): Promise<void> {
    const now = Date.now();
    if (now - this.#lastKeyFrameAt < keyFrameEveryMs) return;
    this.#lastKeyFrameAt = now;
    this.#log.debug({ why }, 'requesting a keyframe');
    try {
      await pipeline.requestKeyFrame();
    } catch (error) {
      this.#log.debug({ err: error }, 'keyframe request failed (consumer closed)');
    }
  }

  /**
   * Every half second: no output for `stallAfterMs` is either no media (stalled) or media the
   * decoder cannot use (ask for a keyframe; restart the decoder if that does not help).
   */
  async #watch(): Promise<void> {
    if (this.#closed) return;
    const pipeline = this.#next ?? this.#live;
    const now = Date.now();
    const quietFor = now - this.#lastOutputAt;
    if (!pipeline || quietFor < this.#stallAfterMs()) return;
    const bytes = await pipeline.sentBytes();
    if (this.#closed || bytes === undefined) return;
    const previous = this.#lastBytes;
    this.#lastBytes = bytes;
    if (previous === undefined) return; // one more look tells whether media moves
    const arriving = bytes > previous;
    if (arriving && this.#stalled && !this.#freshAfterStall && !this.#starting) {
      this.#freshAfterStall = true;
      // Media is back after a stall: a fresh decoder, without the old jitter-buffer and
      // timestamp state (a sender that restarted its RTP numbering otherwise reads as "late").
      this.#log.info('media returned to a stalled tap; starting a fresh decoder');
      this.#replace(pipeline);
      return;
    }
    if (arriving) {
      this.#stuckSince ??= now;
      await this.#keyFrame(pipeline, 'media arrives but no output');
      if (now - this.#stuckSince >= 2 * this.#stallAfterMs() && !this.#starting) {
        this.#stuckSince = undefined;
        this.#log.warn('tap decoder receives media but delivers nothing; restarting it');
        this.#replace(pipeline);
      }
      return;
    }
    this.#stuckSince = undefined;
    if (this.#stalled) return;
    this.#stalled = true;
    this.#freshAfterStall = false;
    const reason = pipeline.producerPaused ? 'paused' : 'no_media';
    this.#log.info({ reason, quietForMs: quietFor }, 'tap stalled');
    this.emit('stalled', { ...this.ref, reason, since: this.#lastOutputAt });
  }

  /** Drops a pipeline that works but is of no use, and starts another at once. */
  #replace(pipeline: DecoderPipeline): void {
    if (pipeline === this.#live) this.#live = undefined;
    else if (pipeline === this.#next) this.#next = undefined;
    this.#stuckSince = undefined;
    void this.#discard(pipeline);
    this.#reconcile();
  }

  #stallAfterMs(): number {
    const period = this.#options.kind === 'video' ? 1000 / this.#fps : 0;
    return Math.max(this.#options.stallAfterMs, 2.5 * period);
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
