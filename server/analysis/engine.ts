import { EventEmitter } from 'node:events';
import os from 'node:os';
import type { Registry } from 'prom-client';
import { AppError, backoffMs, type Logger } from '../shared/index.js';
import { decodeImage, type DecodeOptions } from './image.js';
import { defaultManifestPath, readManifest, verifyModels } from './manifest.js';
import { AnalysisMetrics } from './metrics.js';
import { ObjectBudget } from './object-budget.js';
import type { FaceTrack, FrameReply, WorkerSettings } from './protocol.js';
import { similarity } from './similarity.js';
import type {
  AnalysisBackend,
  AudioResult,
  BackendChoice,
  CascadePolicy,
  DropReason,
  FaceAnalysis,
  EngineStats,
  FrameOptions,
  FrameResult,
  ReferenceAnalysis,
  RgbFrame,
  VerifyResult,
} from './types.js';
import { AnalysisWorker } from './worker-handle.js';

export interface AnalysisEngineOptions {
  /** `ANALYSIS_BACKEND`; default `auto`. */
  backend?: BackendChoice;
  /** Worker threads, each with its own models. Default (wasm, onnx): 2 on 2 cores, else the cores less one; tfjs-node: 1. */
  threads?: number;
  logger: Logger;
  /** Faces reported per frame (Human's own default of 1 would hide a second person). Default 5. */
  maxFaces?: number;
  /** Faces scoring below this are ignored. Default 0.5. */
  minFaceScore?: number;
  /** Objects scoring below this are ignored. Default 0.3. */
  minObjectScore?: number;
  /** Run the object model (phones, ~150 ms on wasm) on every n-th frame of a stream. Default 2. */
  objectInterval?: number;
  /**
   * Cascade: the share of the threads' time the object model may take, spread over the streams
   * (see object-budget.ts). Default 0.2.
   */
  objectShare?: number;
  /** Reference / verify images waiting for a worker before new ones are refused (503). Default 8. */
  maxPendingImages?: number;
  /** Audio a stream may have waiting, in samples at 16 kHz, before older audio is dropped. Default 10 s. */
  maxPendingAudioSamples?: number;
  image?: DecodeOptions;
  /** Another manifest (tests of the checksum check). */
  manifestPath?: string;
  /** Starts one worker thread (default: `AnalysisWorker.start`); tests wrap it to reach the threads. */
  startWorker?: (settings: WorkerSettings) => Promise<AnalysisWorker>;
}

type Kind = 'frame' | 'audio';

interface FrameWork {
  kind: 'frame';
  frame: RgbFrame;
  options: FrameOptions;
  submittedAt: number;
  resolve: (result: FrameResult) => void;
  reject: (error: Error) => void;
}

interface AudioWork {
  kind: 'audio';
  samples: Int16Array;
  at: number;
  submittedAt: number;
  resolve: (result: AudioResult) => void;
  reject: (error: Error) => void;
}

/** One stream's frames or audio: at most one item in a worker and one waiting (the newest). */
interface Lane {
  key: string;
  streamId: string;
  kind: Kind;
  busy: boolean;
  pending: FrameWork | AudioWork | null;
  /** The worker of the stream's last request: an audio stream stays there (its VAD state); a video stream goes to any idle one. */
  slot: number | null;
  frames: number;
  /** Audio was dropped since the last chunk sent: the VAD must not splice across the gap. */
  gap: boolean;
  released: boolean;
  /** The cascade's memory of this stream (one Human serves many streams, so it lives here). */
  cascade: CascadeState;
}

interface CascadeState {
  /** The frame the object model last looked at: a scene change is measured against it. */
  thumbnail: Uint8Array | null;
  /** The stream's previous analysed frame: a cut from it sends the frame to the full-range detector. */
  previousThumbnail: Uint8Array | null;
  /** Frames analysed since the full-range face detector last ran on this stream. */
  sinceFullDetector: number;
  track: FaceTrack | null;
  /** Stream-clock times (`RgbFrame.at`) each model last ran. */
  identityAt: number;
  antispoofAt: number;
  irisAt: number;
  /** The last look pointed towards the edge of the screen: measure the eyes on every frame. */
  gazeNearEdge: boolean;
  objectsAt: number;
  /** Frames still to embed after a track change. */
  burst: number;
  /** The track changed on the last frame: score anti-spoofing on this one. */
  antispoofNext: boolean;
  /** The object model is due by its cadence and waits for the budget. */
  objectsWanted: boolean;
  /** When a frame of the stream was last planned (engine clock): idle streams wait for nothing. */
  plannedAt: number;
}

/**
 * Head or eyes this far off straight ahead (degrees) is towards the edge of a screen: the next
 * frames measure the eyes too, so a look away is judged as fast as with gaze on every frame.
 */
const gazeEdgeDegrees = 15;

function nearScreenEdge(face: FaceAnalysis | undefined): boolean {
  if (!face) return false;
  const look = Math.abs(face.yaw + (face.gaze?.yaw ?? 0));
  return (
    look > gazeEdgeDegrees || Math.abs(face.yaw) > gazeEdgeDegrees || Math.abs(face.pitch) > gazeEdgeDegrees
  );
}

const freshCascade = (): CascadeState => ({
  thumbnail: null,
  previousThumbnail: null,
  sinceFullDetector: Infinity,
  track: null,
  identityAt: -Infinity,
  antispoofAt: -Infinity,
  irisAt: -Infinity,
  gazeNearEdge: false,
  objectsAt: -Infinity,
  burst: 0,
  antispoofNext: false,
  objectsWanted: false,
  plannedAt: -Infinity,
});

/** A stream with no frame planned for this long no longer holds its place in the object queue. */
const idleStreamMs = 5000;

interface ImageJob {
  run: (worker: AnalysisWorker) => Promise<void>;
  reject: (error: Error) => void;
}

interface Slot {
  worker: AnalysisWorker | null;
  busy: boolean;
  failures: number;
  /** Streams whose last request went to this worker (an audio stream's VAD state lives there). */
  lanes: number;
}

/**
 * wasm: on 2 cores, one thread per core; above that, every core but one (left to the ffmpeg
 * decoders, mediasoup and the main thread). Measured with `vigil bench load` on the 2-core
 * machine (2026-12-02, cascade with face tracking): 1 thread held 8 candidates, 2 threads held
 * 10; each thread costs ~400 MB of models. Larger machines were not measured. onnx: the same
 * (its ONNX Runtime sessions compute on the calling thread only). tfjs-node parallelises inside
 * each call: 1.
 */
const defaultThreads = (backend: AnalysisBackend) => {
  const cores = os.availableParallelism();
  return backend === 'wasm' || backend === 'onnx' ? Math.max(1, cores <= 2 ? cores : cores - 1) : 1;
};

/**
 * Face, object and voice analysis on a pool of worker threads. Frames of one stream are analysed
 * in order and never pile up: while one is being analysed, a newer frame replaces the waiting
 * one and the replaced frame resolves as `dropped` (counted in the metrics).
 */
export class AnalysisEngine extends EventEmitter<{ closed: [] }> {
  readonly #logger: Logger;
  readonly #settings: WorkerSettings;
  readonly #startWorker: (settings: WorkerSettings) => Promise<AnalysisWorker>;
  readonly #slots: Slot[];
  readonly #lanes = new Map<string, Lane>();
  /** Lanes with waiting work and no work in a worker, oldest first (round-robin over streams). */
  readonly #ready: Lane[] = [];
  readonly #images: ImageJob[] = [];
  readonly #options: Required<
    Pick<AnalysisEngineOptions, 'objectInterval' | 'maxPendingImages' | 'maxPendingAudioSamples'>
  > & { image: DecodeOptions };
  readonly #stats: EngineStats = {
    framesAnalysed: 0,
    framesDropped: 0,
    audioAnalysed: 0,
    audioDropped: 0,
    audioGated: 0,
    referencesAnalysed: 0,
    workerRestarts: 0,
  };
  readonly #metrics = new AnalysisMetrics(
    () => this.#stats,
    () => this.readyWorkers,
  );
  readonly backend: AnalysisBackend;
  readonly #objectBudget: ObjectBudget;
  #closed = false;

  private constructor(options: AnalysisEngineOptions, settings: WorkerSettings, workers: AnalysisWorker[]) {
    super();
    this.#logger = options.logger;
    this.#settings = settings;
    this.#startWorker = options.startWorker ?? startRealWorker;
    this.#options = {
      objectInterval: Math.max(1, Math.round(options.objectInterval ?? 2)),
      maxPendingImages: options.maxPendingImages ?? 8,
      maxPendingAudioSamples: options.maxPendingAudioSamples ?? 16_000 * 10,
      image: options.image ?? {},
    };
    this.backend = workers[0]?.info.backend ?? 'wasm';
    this.#slots = workers.map((worker) => ({ worker, busy: false, failures: 0, lanes: 0 }));
    this.#objectBudget = new ObjectBudget({ share: options.objectShare ?? 0.2, threads: this.#slots.length });
    this.#slots.forEach((slot, index) => {
      if (slot.worker) this.#watch(slot.worker, index);
    });
  }

  /**
   * Starts the workers. With `auto`, the first worker tries tfjs-node-gpu, tfjs-node, onnx and
   * wasm in that order; the rest use what it found. Rejects with a clear message when a model file does
   * not match models/manifest.json or no backend loads.
   */
  static async create(options: AnalysisEngineOptions): Promise<AnalysisEngine> {
    const manifestPath = options.manifestPath ?? defaultManifestPath();
    // Checked here too, so a bad install fails in the caller's stack with the full list.
    verifyModels(readManifest(manifestPath)).clear();
    const settings: WorkerSettings = {
      backend: options.backend ?? 'auto',
      manifestPath,
      maxFaces: options.maxFaces ?? 5,
      minFaceScore: options.minFaceScore ?? 0.5,
      minObjectScore: options.minObjectScore ?? 0.3,
    };
    const startWorker = options.startWorker ?? startRealWorker;
    const first = await startWorker(settings);
    const resolved: WorkerSettings = { ...settings, backend: first.info.backend };
    const threads = Math.max(1, Math.round(options.threads ?? defaultThreads(first.info.backend)));
    const started = await Promise.allSettled(
      Array.from({ length: threads - 1 }, () => startWorker(resolved)),
    );
    const failed = started.find((result) => result.status === 'rejected');
    const rest = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    if (failed) {
      await Promise.all([first, ...rest].map((worker) => worker.terminate()));
      throw failed.reason;
    }
    options.logger.info(
      {
        backend: first.info.backend,
        threads,
        notLoaded: first.info.tried,
        versions: first.info.versions,
        loadMs: first.info.loadMs,
      },
      `analysis engine ready on ${first.info.backend}`,
    );
    return new AnalysisEngine(options, resolved, [first, ...rest]);
  }

  get threads(): number {
    return this.#slots.length;
  }

  get readyWorkers(): number {
    return this.#slots.filter((slot) => slot.worker?.alive).length;
  }

  stats(): EngineStats {
    return { ...this.#stats };
  }

  /** Registers Prometheus metrics (counters, latency histogram, ready workers) in `registry`. */
  metrics(registry: Registry): void {
    this.#metrics.register(registry);
  }

  /** Analyses one frame; resolves `dropped` when a newer frame of the stream replaced it. */
  analyseFrame(streamId: string, frame: RgbFrame, options: FrameOptions = {}): Promise<FrameResult> {
    if (frame.width <= 0 || frame.height <= 0 || frame.data.length !== frame.width * frame.height * 3) {
      return Promise.reject(
        new AppError(
          'invalid_input',
          `a ${frame.width}x${frame.height} RGB frame needs ${frame.width * frame.height * 3} bytes`,
        ),
      );
    }
    if (this.#closed) return Promise.resolve(dropped(streamId, frame.at, 'closed'));
    return new Promise((resolve, reject) => {
      this.#submit(this.#lane(streamId, 'frame'), {
        kind: 'frame',
        frame,
        options,
        submittedAt: performance.now(),
        resolve,
        reject,
      });
    });
  }

  /**
   * Voice activity of a chunk of 16 kHz mono PCM; chunks of a stream must come in order. With
   * `gateDbfs`, a chunk quieter than that skips the voice model (it answers "no speech" at once)
   * and the model is told of the gap before the next chunk.
   */
  analyseAudio(
    streamId: string,
    pcm16k: Int16Array,
    at: number = Date.now(),
    options: { gateDbfs?: number | null } = {},
  ): Promise<AudioResult> {
    if (this.#closed) return Promise.resolve(dropped(streamId, at, 'closed'));
    const gate = options.gateDbfs;
    if (gate !== undefined && gate !== null) {
      const rms = rootMeanSquare(pcm16k);
      const dbfs = rms > 0 ? 20 * Math.log10(rms) : -100;
      const lane = this.#lane(streamId, 'audio');
      if (dbfs < gate && !lane.busy && !lane.pending) {
        lane.gap = true;
        this.#stats.audioGated += 1;
        return Promise.resolve({
          dropped: false,
          streamId,
          at,
          speechProbability: 0,
          speechRatio: 0,
          rms: round(rms, 5),
          dbfs: round(dbfs, 1),
          frames: 0,
          gated: true,
          timings: { queueMs: 0, vadMs: 0, totalMs: 0 },
        });
      }
    }
    return new Promise((resolve, reject) => {
      this.#submit(this.#lane(streamId, 'audio'), {
        kind: 'audio',
        samples: pcm16k,
        at,
        submittedAt: performance.now(),
        resolve,
        reject,
      });
    });
  }

  /**
   * Face count, strong-path embedding (face-api SSD + 68 landmarks + recognition net) and quality
   * of a JPEG or PNG photo. Throws `AppError` 415 / 413 for unusable input and 503 when busy.
   */
  async embedReference(imageBytes: Uint8Array): Promise<ReferenceAnalysis> {
    const started = performance.now();
    const image = await decodeImage(imageBytes, this.#options.image);
    const decodeMs = performance.now() - started;
    const reply = await this.#image((worker) => {
      // A copy of exactly the pixels, transferred (sharp's buffer may share memory with others).
      const data = new Uint8Array(image.data);
      return worker.request('reference', { image: { ...image, data } }, [data.buffer]);
    });
    this.#stats.referencesAnalysed += 1;
    const totalMs = performance.now() - started;
    this.#metrics.observe('reference', totalMs);
    const face = reply.face;
    const quality: ReferenceAnalysis['quality'] = {
      width: image.width,
      height: image.height,
      brightness: reply.quality.brightness,
    };
    if (face) {
      quality.faceScore = reply.faceScore ?? face.score;
      quality.yaw = face.yaw;
      quality.pitch = face.pitch;
    }
    if (reply.quality.faceSizeRatio !== null) quality.faceSizeRatio = reply.quality.faceSizeRatio;
    if (reply.quality.sharpness !== null) quality.sharpness = reply.quality.sharpness;
    return {
      faces: reply.faces,
      embedding: reply.embedding,
      embeddingPath: reply.embeddingPath,
      face,
      quality,
      timings: { decodeMs, detectMs: reply.detectMs, embedMs: reply.embedMs, totalMs },
    };
  }

  /** One-shot check of a photo against a stored reference embedding (`POST /verify`). */
  async verify(
    imageBytes: Uint8Array,
    reference: readonly number[],
    options: { matchThreshold: number },
  ): Promise<VerifyResult> {
    const result = await this.embedReference(imageBytes);
    const score = result.embedding ? similarity(result.embedding, reference) : null;
    return {
      faceMatch: score !== null && score >= options.matchThreshold,
      similarity: score === null ? null : Math.round(score * 1000) / 1000,
      faces: result.faces,
      real: result.face?.real ?? null,
      live: result.face?.live ?? null,
    };
  }

  /** 0..1 similarity of two embeddings (0.5 = face-api's same-person boundary). */
  similarity(a: readonly number[], b: readonly number[]): number {
    return similarity(a, b);
  }

  /** Forgets a stream (it ended): waiting work resolves as dropped, VAD state is released. */
  releaseStream(streamId: string): void {
    for (const kind of ['frame', 'audio'] as const) {
      const lane = this.#lanes.get(`${kind}:${streamId}`);
      if (!lane) continue;
      lane.released = true;
      this.#drop(lane, 'stream_released');
      this.#unready(lane);
      if (!lane.busy) this.#removeLane(lane);
    }
  }

  /** Stops the workers. Waiting work resolves as dropped; safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const lane of this.#lanes.values()) this.#drop(lane, 'closed');
    this.#ready.length = 0;
    for (const job of this.#images.splice(0))
      job.reject(new AppError('unavailable', 'the analysis engine stopped'));
    await Promise.all(
      this.#slots.map(async (slot) => {
        const worker = slot.worker;
        slot.worker = null;
        await worker?.terminate();
      }),
    );
    this.emit('closed');
  }

  #lane(streamId: string, kind: Kind): Lane {
    const key = `${kind}:${streamId}`;
    let lane = this.#lanes.get(key);
    if (!lane || lane.released) {
      lane = {
        key,
        streamId,
        kind,
        busy: false,
        pending: null,
        slot: null,
        frames: 0,
        gap: false,
        released: false,
        cascade: freshCascade(),
      };
      // Spread the streams over the workers (an audio stream's VAD state stays on its worker).
      let best = 0;
      this.#slots.forEach((slot, index) => {
        if (slot.lanes < (this.#slots[best]?.lanes ?? Infinity)) best = index;
      });
      lane.slot = best;
      const slot = this.#slots[best];
      if (slot) slot.lanes += 1;
      this.#lanes.set(key, lane);
    }
    return lane;
  }

  #submit(lane: Lane, work: FrameWork | AudioWork): void {
    const waiting = lane.pending;
    if (waiting?.kind === 'audio' && work.kind === 'audio') {
      // Audio is cheap and continuous: join the chunks rather than lose speech, up to a bound.
      const joined = new Int16Array(waiting.samples.length + work.samples.length);
      joined.set(waiting.samples, 0);
      joined.set(work.samples, waiting.samples.length);
      const overflow = joined.length - this.#options.maxPendingAudioSamples;
      work.samples = overflow > 0 ? joined.slice(overflow) : joined;
      if (overflow > 0) lane.gap = true;
      work.submittedAt = waiting.submittedAt;
      if (overflow > 0) this.#countDrop('audio');
      // Its samples travel on in this chunk; its caller learns that from the reason.
      waiting.resolve(dropped(lane.streamId, waiting.at, 'merged'));
    } else if (waiting) {
      this.#drop(lane, 'superseded');
    }
    lane.pending = work;
    if (!lane.busy && !this.#ready.includes(lane)) this.#ready.push(lane);
    this.#pump();
  }

  #drop(lane: Lane, reason: DropReason): void {
    const waiting = lane.pending;
    if (!waiting) return;
    lane.pending = null;
    this.#countDrop(waiting.kind);
    if (waiting.kind === 'frame') waiting.resolve(dropped(lane.streamId, waiting.frame.at, reason));
    else {
      lane.gap = true;
      waiting.resolve(dropped(lane.streamId, waiting.at, reason));
    }
  }

  #countDrop(kind: Kind): void {
    if (kind === 'frame') this.#stats.framesDropped += 1;
    else this.#stats.audioDropped += 1;
  }

  #unready(lane: Lane): void {
    const index = this.#ready.indexOf(lane);
    if (index >= 0) this.#ready.splice(index, 1);
  }

  #removeLane(lane: Lane): void {
    // A released stream may already have a new lane under the same key: leave that one alone.
    if (this.#lanes.get(lane.key) === lane) this.#lanes.delete(lane.key);
    if (lane.slot === null) return;
    const slot = this.#slots[lane.slot];
    if (!slot) return;
    slot.lanes = Math.max(0, slot.lanes - 1);
    const worker = slot.worker;
    if (worker?.alive) {
      worker.request('forget', { streamId: lane.streamId }).catch((error: unknown) => {
        this.#logger.debug({ err: error, streamId: lane.streamId }, 'forgetting a stream failed');
      });
    }
  }

  #image<T>(run: (worker: AnalysisWorker) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new AppError('unavailable', 'the analysis engine stopped'));
    if (this.#images.length >= this.#options.maxPendingImages) {
      return Promise.reject(
        new AppError('unavailable', 'face analysis is busy; try again in a few seconds', {
          'Retry-After': '2',
        }),
      );
    }
    return new Promise<T>((resolve, reject) => {
      this.#images.push({
        run: (worker) => run(worker).then(resolve, reject),
        reject,
      });
      this.#pump();
    });
  }

  /** Gives every idle worker its next job: photos first (someone waits on an HTTP answer), then streams. */
  #pump(): void {
    if (this.#closed) return;
    this.#slots.forEach((slot, index) => {
      const worker = slot.worker;
      if (slot.busy || !worker?.alive) return;
      const image = this.#images.shift();
      if (image) {
        slot.busy = true;
        void image
          .run(worker)
          .catch((error: unknown) => this.#logger.error({ err: error }, 'reference analysis failed'))
          .finally(() => this.#release(slot));
        return;
      }
      // A video stream keeps nothing on a worker: any idle one takes its next frame (one frame
      // in flight per stream keeps them in order). Audio stays where its VAD state is.
      const laneIndex = this.#ready.findIndex(
        (lane) => lane.kind === 'frame' || lane.slot === index || !this.#slots[lane.slot ?? -1]?.worker,
      );
      if (laneIndex < 0) return;
      const [lane] = this.#ready.splice(laneIndex, 1);
      const work = lane?.pending;
      if (!lane || !work) return;
      if (lane.slot !== index) {
        const previous = this.#slots[lane.slot ?? -1];
        if (previous) previous.lanes = Math.max(0, previous.lanes - 1);
        slot.lanes += 1;
      }
      lane.slot = index;
      lane.pending = null;
      lane.busy = true;
      slot.busy = true;
      const done =
        work.kind === 'frame' ? this.#runFrame(worker, lane, work) : this.#runAudio(worker, lane, work);
      void done.finally(() => {
        lane.busy = false;
        if (lane.released) this.#removeLane(lane);
        else if (lane.pending && !this.#ready.includes(lane)) this.#ready.push(lane);
        this.#release(slot);
      });
    });
  }

  #release(slot: Slot): void {
    slot.busy = false;
    this.#pump();
  }

  async #runFrame(worker: AnalysisWorker, lane: Lane, work: FrameWork): Promise<void> {
    const dispatchedAt = performance.now();
    const plan = this.#plan(lane, work);
    lane.frames += 1;
    // An exact copy, transferred: the caller keeps its buffer and only the frame's bytes move.
    const data = new Uint8Array(work.frame.data);
    let reply: FrameReply;
    try {
      reply = await worker.request(
        'frame',
        { image: { width: work.frame.width, height: work.frame.height, data }, ...plan },
        [data.buffer],
      );
    } catch (error) {
      work.reject(workerError(error));
      return;
    }
    if (work.options.cascade) {
      this.#remember(lane, work.options.cascade, work.frame.at, reply);
      if (reply.stages.objects) this.#objectBudget.charge(reply.objectsMs, work.frame.at);
    }
    const totalMs = performance.now() - work.submittedAt;
    this.#stats.framesAnalysed += 1;
    this.#metrics.observe('frame', totalMs);
    work.resolve({
      dropped: false,
      streamId: lane.streamId,
      at: work.frame.at,
      width: work.frame.width,
      height: work.frame.height,
      faces: reply.faces,
      objects: reply.objects,
      quality: reply.quality,
      timings: {
        queueMs: round(dispatchedAt - work.submittedAt),
        prepareMs: round(reply.prepareMs),
        detectMs: round(reply.detectMs),
        objectsMs: round(reply.objectsMs),
        embedMs: round(reply.embedMs),
        qualityMs: round(reply.qualityMs),
        totalMs: round(totalMs),
      },
      stages: reply.stages,
      backend: this.backend,
    });
  }

  /**
   * What the worker runs on this frame. Naive (no cascade): everything asked for, the object
   * model on every `objectInterval`-th frame unless the caller says. Cascade: what is due by
   * the stream's cadences, the rest left to the worker's change tests on this very frame.
   */
  #plan(
    lane: Lane,
    work: FrameWork,
  ): {
    fullDetector: boolean;
    iris: boolean;
    objects: boolean | 'onChange';
    identity: boolean | 'onTrackChange';
    antispoof: boolean;
    cascade: boolean;
    thumbnail: Uint8Array | null;
    previousThumbnail: Uint8Array | null;
    sceneChange: number;
    track: FaceTrack | null;
  } {
    const { options } = work;
    const cascade = options.cascade;
    if (!cascade) {
      return {
        fullDetector: true,
        iris: true,
        objects: options.objects ?? lane.frames % this.#options.objectInterval === 0,
        identity: options.identity ?? true,
        antispoof: true,
        cascade: false,
        thumbnail: null,
        previousThumbnail: null,
        sceneChange: 0,
        track: null,
      };
    }
    const state = lane.cascade;
    const at = work.frame.at;
    state.plannedAt = performance.now();
    state.objectsWanted = options.objects !== false && at - state.objectsAt >= cascade.objectsEveryMs;
    const identityDue =
      options.forceIdentity === true || state.burst > 0 || at - state.identityAt >= cascade.identityEveryMs;
    return {
      fullDetector: state.sinceFullDetector + 1 >= cascade.detectorEveryFrames,
      iris: state.gazeNearEdge || at - state.irisAt >= cascade.gazeEveryMs,
      objects: options.objects === false ? false : this.#objectsPlan(lane, at),
      identity: options.identity === false ? false : identityDue || 'onTrackChange',
      antispoof:
        options.forceAntispoof === true ||
        state.antispoofNext ||
        at - state.antispoofAt >= cascade.antispoofEveryMs,
      cascade: true,
      thumbnail: state.thumbnail,
      previousThumbnail: state.previousThumbnail,
      sceneChange: cascade.sceneChange,
      track: state.track,
    };
  }

  /**
   * The object model within its budget: a stream whose cadence is due runs it when the budget
   * allows and no other stream has waited longer; a scene change only when there is spare.
   */
  #objectsPlan(lane: Lane, at: number): boolean | 'onChange' {
    const budget = this.#objectBudget;
    if (lane.cascade.objectsWanted && budget.canRun(at) && this.#waitedLongest(lane)) return true;
    return budget.hasSpare(at) ? 'onChange' : false;
  }

  #waitedLongest(lane: Lane): boolean {
    const idleBefore = performance.now() - idleStreamMs;
    for (const other of this.#lanes.values()) {
      const state = other.cascade;
      if (other === lane || other.kind !== 'frame' || other.released || !state.objectsWanted) continue;
      if (state.plannedAt < idleBefore) continue;
      if (state.objectsAt < lane.cascade.objectsAt) return false;
    }
    return true;
  }

  #remember(lane: Lane, cascade: CascadePolicy, at: number, reply: FrameReply): void {
    const state = lane.cascade;
    const { stages } = reply;
    state.track = reply.track;
    state.previousThumbnail = reply.thumbnail;
    state.sinceFullDetector = stages.shortRange ? state.sinceFullDetector + 1 : 0;
    if (stages.iris !== false) state.irisAt = at;
    // The head pose comes with every frame, the eyes only with measured ones.
    state.gazeNearEdge = nearScreenEdge(reply.faces[0]);
    if (stages.objects) {
      state.objectsAt = at;
      state.objectsWanted = false;
      // Change since the objects were last looked for, so a camera that drifts a little each
      // second does not count as a new scene every second.
      state.thumbnail = reply.thumbnail;
    }
    if (stages.identity) {
      state.identityAt = at;
      state.burst = Math.max(0, state.burst - 1);
    }
    if (stages.antispoof) {
      state.antispoofAt = at;
      state.antispoofNext = false;
    }
    if (stages.trackChanged) {
      // This frame was embedded already (the worker saw the change): the rest of the burst follows.
      state.burst = Math.max(0, cascade.identityBurstFrames - (stages.identity ? 1 : 0));
      if (!stages.antispoof) state.antispoofNext = true;
    }
  }

  async #runAudio(worker: AnalysisWorker, lane: Lane, work: AudioWork): Promise<void> {
    const dispatchedAt = performance.now();
    const samples = new Int16Array(work.samples);
    const discontinuity = lane.gap;
    lane.gap = false;
    try {
      const reply = await worker.request('audio', { streamId: lane.streamId, samples, discontinuity }, [
        samples.buffer,
      ]);
      const totalMs = performance.now() - work.submittedAt;
      this.#stats.audioAnalysed += 1;
      this.#metrics.observe('audio', totalMs);
      work.resolve({
        dropped: false,
        streamId: lane.streamId,
        at: work.at,
        speechProbability: round(reply.speechProbability, 3),
        speechRatio: round(reply.speechRatio, 3),
        rms: round(reply.rms, 5),
        dbfs: reply.rms > 0 ? round(20 * Math.log10(reply.rms), 1) : -100,
        frames: reply.frames,
        gated: false,
        timings: {
          queueMs: round(dispatchedAt - work.submittedAt),
          vadMs: round(reply.vadMs),
          totalMs: round(totalMs),
        },
      });
    } catch (error) {
      lane.gap = true;
      work.reject(workerError(error));
    }
  }

  #watch(worker: AnalysisWorker, index: number): void {
    worker.once('exit', (error) => {
      const slot = this.#slots[index];
      if (!slot || slot.worker !== worker) return;
      slot.worker = null;
      slot.busy = false;
      if (this.#closed) return;
      this.#logger.error({ err: error, worker: index }, 'analysis worker died; restarting it');
      this.#restart(index);
    });
  }

  #restart(index: number): void {
    const slot = this.#slots[index];
    if (!slot || this.#closed) return;
    const delay = backoffMs(slot.failures, { minMs: 500, maxMs: 30_000 });
    setTimeout(() => {
      if (this.#closed) return;
      this.#startWorker(this.#settings).then(
        async (worker) => {
          if (this.#closed) return worker.terminate();
          slot.worker = worker;
          slot.failures = 0;
          this.#stats.workerRestarts += 1;
          this.#watch(worker, index);
          this.#pump();
        },
        (error: unknown) => {
          slot.failures += 1;
          this.#logger.error({ err: error, worker: index }, 'restarting an analysis worker failed');
          this.#restart(index);
        },
      );
    }, delay).unref();
  }
}

const startRealWorker = (settings: WorkerSettings) => AnalysisWorker.start(settings);

function dropped(streamId: string, at: number, reason: DropReason) {
  return { dropped: true as const, streamId, at, reason };
}

function rootMeanSquare(samples: Int16Array): number {
  let sum = 0;
  for (const sample of samples) sum += sample * sample;
  return samples.length ? Math.sqrt(sum / samples.length) / 32768 : 0;
}

function round(value: number, digits = 1): number {
  return Math.round(value * 10 ** digits) / 10 ** digits;
}

function workerError(error: unknown): AppError {
  return new AppError(
    'unavailable',
    `face analysis failed: ${error instanceof Error ? error.message : String(error)}`,
  );
}
