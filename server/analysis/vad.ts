/**
 * Voice activity detection with Silero VAD v5 (the ONNX model shipped in @ricky0123/vad-web), run
 * by onnxruntime-web's WebAssembly build, or by onnxruntime-node's native one with the `onnx`
 * backend (the same API; its package carries the CPU libraries, and the project's .npmrc skips
 * the install step that would fetch CUDA ones).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as Ort from 'onnxruntime-web';
import { packageDir } from './manifest.js';

const require = createRequire(import.meta.url);

/** Silero v5 at 16 kHz takes 512 new samples plus the previous 64 as context (its Python wrapper does the same). */
const frameSamples = 512;
const contextSamples = 64;
const stateSize = 2 * 1 * 128;
/** Per-stream states kept by one worker; the least recently used go first beyond this. */
const maxStreams = 2000;

interface StreamState {
  state: Float32Array;
  context: Float32Array;
  /** Samples left over from the previous chunk (fewer than `frameSamples`). */
  carry: Float32Array;
}

export interface VadResult {
  speechProbability: number;
  speechRatio: number;
  rms: number;
  frames: number;
}

export class SileroVad {
  readonly #ort: typeof Ort;
  readonly #session: Ort.InferenceSession;
  readonly #sampleRate: Ort.Tensor;
  /** Insertion order doubles as recency: a used stream is re-inserted. */
  readonly #streams = new Map<string, StreamState>();

  private constructor(ort: typeof Ort, session: Ort.InferenceSession) {
    this.#ort = ort;
    this.#session = session;
    this.#sampleRate = new ort.Tensor('int64', BigInt64Array.from([16000n]), [1]);
  }

  static async create(model: Uint8Array, runtime: 'web' | 'native' = 'web'): Promise<SileroVad> {
    if (runtime === 'native') {
      // onnxruntime-common's API, as onnxruntime-web's (another copy of the same declarations).
      const ort = require(path.join(packageDir('onnxruntime-node'), 'dist', 'index.js')) as typeof Ort;
      // One thread: the engine already runs one worker per core.
      const session = await ort.InferenceSession.create(model, {
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
      });
      return new SileroVad(ort, session);
    }
    const ort = await import('onnxruntime-web');
    ort.env.wasm.numThreads = 1;
    const session = await ort.InferenceSession.create(model);
    return new SileroVad(ort, session);
  }

  forget(streamId: string): void {
    this.#streams.delete(streamId);
  }

  /** Speech probability of a chunk of 16 kHz mono PCM; state carries over between chunks of a stream. */
  async process(streamId: string, samples: Int16Array, discontinuity: boolean): Promise<VadResult> {
    let stream = this.#streams.get(streamId);
    this.#streams.delete(streamId);
    if (!stream || discontinuity) {
      stream = {
        state: stream?.state ?? new Float32Array(stateSize),
        context: new Float32Array(contextSamples),
        carry: new Float32Array(0),
      };
    }
    this.#streams.set(streamId, stream);
    if (this.#streams.size > maxStreams) {
      const oldest = this.#streams.keys().next().value;
      if (oldest !== undefined) this.#streams.delete(oldest);
    }

    let sumSquares = 0;
    const input = new Float32Array(stream.carry.length + samples.length);
    input.set(stream.carry, 0);
    for (let i = 0; i < samples.length; i++) {
      const value = (samples[i] ?? 0) / 32768;
      input[stream.carry.length + i] = value;
      sumSquares += value * value;
    }

    let frames = 0;
    let speechFrames = 0;
    let maxProbability = 0;
    let offset = 0;
    for (; offset + frameSamples <= input.length; offset += frameSamples) {
      const window = new Float32Array(contextSamples + frameSamples);
      window.set(stream.context, 0);
      window.set(input.subarray(offset, offset + frameSamples), contextSamples);
      const output = await this.#session.run({
        input: new this.#ort.Tensor('float32', window, [1, window.length]),
        state: new this.#ort.Tensor('float32', stream.state, [2, 1, 128]),
        sr: this.#sampleRate,
      });
      const probability = output.output?.data[0];
      const next = output.stateN?.data;
      if (typeof probability !== 'number' || !(next instanceof Float32Array)) {
        throw new Error('the VAD model returned an unexpected output');
      }
      stream.state = next;
      stream.context = window.slice(window.length - contextSamples);
      frames += 1;
      if (probability >= 0.5) speechFrames += 1;
      maxProbability = Math.max(maxProbability, probability);
    }
    stream.carry = input.slice(offset);
    return {
      speechProbability: maxProbability,
      speechRatio: frames ? speechFrames / frames : 0,
      rms: samples.length ? Math.sqrt(sumSquares / samples.length) : 0,
      frames,
    };
  }
}
