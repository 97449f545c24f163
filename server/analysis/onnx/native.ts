/**
 * ONNX Runtime's native CPU build (the `onnxruntime-node` package, whose npm tarball carries the
 * Linux, macOS and Windows libraries), called synchronously. Human calls its models'
 * `execute()` synchronously, so the converted models must answer the same way; the package's
 * public `run()` only wraps the binding's synchronous `run` in a promise, so this module calls
 * the binding it documents (`dist/binding.d.ts`) directly.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { packageDir } from '../manifest.js';

const require = createRequire(import.meta.url);

interface OrtTensor {
  readonly data: unknown;
  readonly dims: readonly number[];
  readonly type: string;
}

interface OrtTensorConstructor {
  new (type: 'float32', data: Float32Array, dims: readonly number[]): OrtTensor;
}

interface BindingSession {
  loadModel(buffer: ArrayBuffer, byteOffset: number, byteLength: number, options: object): Promise<void>;
  run(
    feeds: Record<string, OrtTensor>,
    fetches: Record<string, null>,
    options: object,
  ): Record<string, OrtTensor>;
  dispose(): void;
}

interface BindingModule {
  binding: { InferenceSession: new () => BindingSession };
  initOrt: () => void;
}

export interface NativeOutput {
  data: Float32Array;
  dims: number[];
}

/** One loaded model; `run` blocks the calling thread for the inference, as TensorFlow.js does. */
export interface NativeSession {
  run(input: Float32Array, dims: readonly number[]): NativeOutput[];
  dispose(): void;
}

export interface NativeRuntime {
  version: string;
  load(model: Uint8Array, input: string, outputs: readonly string[]): Promise<NativeSession>;
}

/**
 * Each analysis worker is one thread of the machine's budget (see `ANALYSIS_THREADS`), so every
 * session runs its kernels on the calling thread only.
 */
const sessionOptions = {
  executionProviders: ['cpu'],
  graphOptimizationLevel: 'all',
  executionMode: 'sequential',
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  enableCpuMemArena: true,
  enableMemPattern: true,
};

/** Loads the native runtime; throws when the package or its library for this platform is missing. */
export function loadNativeRuntime(): NativeRuntime {
  const dir = packageDir('onnxruntime-node');
  const { binding, initOrt } = require(path.join(dir, 'dist', 'binding.js')) as BindingModule;
  // The tensor class the binding was initialised with (onnxruntime-node's own onnxruntime-common).
  const { Tensor } = require(path.join(dir, 'dist', 'index.js')) as { Tensor: OrtTensorConstructor };
  const { version } = require(path.join(dir, 'package.json')) as { version: string };
  initOrt();
  return {
    version,
    async load(model, input, outputs) {
      const session = new binding.InferenceSession();
      await session.loadModel(
        model.buffer as ArrayBuffer,
        model.byteOffset,
        model.byteLength,
        sessionOptions,
      );
      const fetches = Object.fromEntries(outputs.map((name) => [name, null]));
      return {
        run(data, dims) {
          const results = session.run({ [input]: new Tensor('float32', data, dims) }, fetches, {});
          return outputs.map((name) => {
            const result = results[name];
            if (!result || !(result.data instanceof Float32Array))
              throw new Error(`ONNX Runtime gave no ${name}`);
            return { data: result.data, dims: [...result.dims] };
          });
        },
        dispose() {
          session.dispose();
        },
      };
    },
  };
}
