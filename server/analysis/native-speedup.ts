/**
 * What the `onnx` backend gains model by model: each model Vigil runs, on real pictures, first on
 * TensorFlow.js (wasm) and then moved onto ONNX Runtime's native build, in this thread and in the
 * same run, with CPU time per call and the largest difference between the two runtimes' outputs.
 * `vigil bench models` prints it.
 */
import type { Tensor, Tensor4D } from '@tensorflow/tfjs-core';
import { defaultManifestPath } from './manifest.js';
import { loadNativeRecognizer, type RecognitionNet } from './onnx/face-recognition.js';
import { moveToOnnxRuntime, type ConvertibleModel } from './onnx/graph-model.js';
import { loadNativeRuntime } from './onnx/native.js';
import { loadRuntime, type Runtime } from './runtime.js';
import type { RgbImage } from './types.js';

export interface ModelSpeedRow {
  model: string;
  /** Input side in pixels. */
  side: number;
  /** CPU time per call of the whole process (V8's helper threads included). */
  wasmCpuMs: number;
  onnxCpuMs: number;
  /** onnx / wasm (below 1: the native build is cheaper). */
  ratio: number;
  /** Largest absolute difference of any output value between the two runtimes. */
  maxDifference: number;
}

export interface ModelSpeedReport {
  onnxruntime: string;
  rows: ModelSpeedRow[];
}

interface Subject {
  model: string;
  side: number;
  /** Pixel scale the model takes: Human's graphs 0..1, face-api's net 0..255. */
  scale: number;
  run(input: Tensor4D): Promise<Float32Array[]>;
  move(): Promise<void>;
}

const round = (value: number) => Math.round(value * 100) / 100;

function flatten(runtime: Runtime, result: Tensor | Tensor[]): Float32Array[] {
  const list = Array.isArray(result) ? result : [result];
  const values = list.map((tensor) => tensor.dataSync() as Float32Array);
  runtime.tf.dispose(list);
  return values;
}

function graphSubject(runtime: Runtime, owner: 'human' | 'quick', name: string): Subject {
  const model = runtime[owner].models.models[name] as unknown as ConvertibleModel | null;
  const side = model?.inputs[0]?.shape?.[1];
  if (!model || !side) throw new Error(`Human has no ${name} model loaded`);
  // The object model moves up to its heads; compare there (its decoding stays on tfjs).
  const heads = name === 'centernet' ? ['tower_0/keypoints', 'tower_0/wh'] : undefined;
  return {
    model: `${owner === 'quick' ? 'human/short-range ' : 'human/'}${name}`,
    side,
    scale: 1 / 255,
    run: (input) => Promise.resolve(flatten(runtime, model.execute(input, heads))),
    move: async () => {
      const result = await moveToOnnxRuntime(runtime.tf, native(), model, heads);
      if (!result.moved) throw new Error(`${name} did not move: ${result.reason}`);
    },
  };
}

function recognitionSubject(runtime: Runtime): Subject {
  const net = runtime.faceapi.nets.faceRecognitionNet as unknown as RecognitionNet;
  let session: Awaited<ReturnType<typeof loadNativeRecognizer>>['session'] = null;
  return {
    model: 'face-api/recognition',
    side: 150,
    scale: 1,
    run: async (input) => {
      if (session)
        return [session.run(input.dataSync() as Float32Array, input.shape)[0]?.data ?? new Float32Array()];
      const descriptor = await net.computeFaceDescriptor(input);
      return [Array.isArray(descriptor) ? (descriptor[0] ?? new Float32Array()) : descriptor];
    },
    move: async () => {
      const loaded = await loadNativeRecognizer(runtime.tf, native(), net);
      if (!loaded.session) throw new Error(`the recognition net did not move: ${loaded.reason}`);
      session = loaded.session;
    },
  };
}

let nativeRuntime: ReturnType<typeof loadNativeRuntime> | undefined;
const native = () => (nativeRuntime ??= loadNativeRuntime());

/** One input per image, resized to the model's side and scaled as it takes it. */
function inputsFor(runtime: Runtime, images: readonly RgbImage[], subject: Subject): Tensor4D[] {
  const { tf } = runtime;
  return images.map((image) =>
    tf.tidy(() => {
      const pixels = tf.cast(tf.tensor4d(image.data, [1, image.height, image.width, 3], 'int32'), 'float32');
      return tf.mul(tf.image.resizeBilinear(pixels, [subject.side, subject.side]), subject.scale);
    }),
  );
}

async function cpuPerCall(subject: Subject, inputs: readonly Tensor4D[], calls: number): Promise<number> {
  const from = process.cpuUsage();
  for (let call = 0; call < calls; call++) await subject.run(inputs[call % inputs.length]!);
  const used = process.cpuUsage(from);
  return (used.user + used.system) / 1000 / calls;
}

/** Loads the wasm runtime in this thread, then measures each model before and after its move. */
export async function measureNativeSpeedup(
  images: readonly RgbImage[],
  calls: number,
): Promise<ModelSpeedReport> {
  if (images.length === 0) throw new Error('measureNativeSpeedup needs at least one image');
  const runtime = await loadRuntime({
    backend: 'wasm',
    manifestPath: defaultManifestPath(),
    maxFaces: 5,
    minFaceScore: 0.5,
    minObjectScore: 0.3,
  });
  const subjects = [
    graphSubject(runtime, 'quick', 'blazeface'),
    graphSubject(runtime, 'human', 'blazeface'),
    graphSubject(runtime, 'human', 'facemesh'),
    graphSubject(runtime, 'human', 'iris'),
    graphSubject(runtime, 'human', 'antispoof'),
    graphSubject(runtime, 'human', 'liveness'),
    graphSubject(runtime, 'human', 'centernet'),
    recognitionSubject(runtime),
  ];
  const rows: ModelSpeedRow[] = [];
  for (const subject of subjects) {
    const inputs = inputsFor(runtime, images, subject);
    try {
      // One warm-up pass per runtime (kernels, arenas), which also gives the outputs to compare.
      const before = await Promise.all(inputs.map((input) => subject.run(input)));
      const wasmCpuMs = await cpuPerCall(subject, inputs, calls);
      await subject.move();
      const after = await Promise.all(inputs.map((input) => subject.run(input)));
      const onnxCpuMs = await cpuPerCall(subject, inputs, calls);
      let maxDifference = 0;
      before.forEach((outputs, i) =>
        outputs.forEach((values, j) => {
          const other = after[i]?.[j];
          if (!other || other.length !== values.length)
            throw new Error(`${subject.model}: outputs differ in size`);
          for (let k = 0; k < values.length; k++) {
            maxDifference = Math.max(maxDifference, Math.abs((values[k] ?? 0) - (other[k] ?? 0)));
          }
        }),
      );
      rows.push({
        model: subject.model,
        side: subject.side,
        wasmCpuMs: round(wasmCpuMs),
        onnxCpuMs: round(onnxCpuMs),
        ratio: round(onnxCpuMs / wasmCpuMs),
        maxDifference: Number(maxDifference.toPrecision(2)),
      });
    } finally {
      runtime.tf.dispose(inputs);
    }
  }
  return { onnxruntime: runtime.versions.onnxruntimeNode ?? native().version, rows };
}
