/**
 * Whether batching pays on the loaded backend: each per-face model run on N inputs in one call
 * against one call per input, in this thread, with time per input and the largest difference
 * between an input's batched and single outputs (batching must not change the result).
 * `vigil bench batch` prints it; the engine does not batch (yet): Human's `detect()` takes one
 * image per call.
 */
import type { Tensor, Tensor4D } from '@tensorflow/tfjs-core';
import { defaultManifestPath } from './manifest.js';
import { loadRuntime, type Runtime } from './runtime.js';
import type { AnalysisBackend, RgbImage } from './types.js';

export interface BatchingOptions {
  /** Real pictures to feed the models (resized to each model's input). */
  images: readonly RgbImage[];
  /** Batch sizes to measure; 1 is the baseline and always measured. */
  sizes: readonly number[];
  /** Inputs per measurement, rounded up to whole batches. */
  inputsPerSize: number;
  backend?: 'wasm' | 'tfjs-node' | 'tfjs-node-gpu' | 'auto';
}

export interface BatchingRow {
  model: string;
  /** The model's input side in pixels. */
  side: number;
  batch: number;
  /** Wall and CPU time per input. */
  msPerInput: number;
  cpuMsPerInput: number;
  /** CPU time per input against batch 1 (below 1: batching pays). */
  ratio: number;
  /** Largest absolute difference of any output value between batched and single runs. */
  maxDifference: number;
}

export interface BatchingReport {
  backend: AnalysisBackend;
  rows: BatchingRow[];
  /** Models whose graph fixes the batch at 1 (the face detectors), with that shape. */
  fixedBatch: { model: string; inputShape: number[] }[];
}

interface Subject {
  model: string;
  side: number;
  /** Pixel values as the model takes them: Human's graphs 0..1, face-api's net 0..255. */
  scale: number;
  /** Runs the model on a batch and returns its outputs as one flat array per input. */
  run(input: Tensor4D): Promise<Float32Array[]>;
}

/** One input's slice of every output tensor, flattened. */
async function perInput(
  runtime: Runtime,
  outputs: Tensor | Tensor[],
  batch: number,
): Promise<Float32Array[]> {
  const list = Array.isArray(outputs) ? outputs : [outputs];
  const data = await Promise.all(list.map((tensor) => tensor.data()));
  runtime.tf.dispose(list);
  return Array.from({ length: batch }, (_, index) => {
    const parts = data.map((values) => {
      const size = values.length / batch;
      return Float32Array.from(values.subarray(index * size, (index + 1) * size));
    });
    const out = new Float32Array(parts.reduce((sum, part) => sum + part.length, 0));
    let offset = 0;
    for (const part of parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  });
}

function graphSubject(runtime: Runtime, name: string): Subject | null {
  const model = runtime.human.models.models[name];
  const side = model?.inputs[0]?.shape?.[1];
  if (!model || !side) return null;
  return {
    model: `human/${name}`,
    side,
    scale: 1 / 255,
    run: (input) => perInput(runtime, model.execute(input), input.shape[0]),
  };
}

function recognitionSubject(runtime: Runtime): Subject {
  return {
    model: 'face-api/recognition',
    side: 150,
    scale: 1,
    run: async (input) => {
      // face-api batches a list of pictures (a 4-D tensor of more than one it refuses), and
      // bundles its own tfjs typings: the same tensors, other declarations.
      const net = runtime.faceapi.nets.faceRecognitionNet;
      const pictures = runtime.tf.unstack(input);
      try {
        const output = await net.forward(pictures);
        return await perInput(runtime, output as unknown as Tensor, input.shape[0]);
      } finally {
        runtime.tf.dispose(pictures);
      }
    },
  };
}

/** `count` inputs for a model: the images resized to its side, scaled as it wants them. */
function inputsFor(runtime: Runtime, images: readonly RgbImage[], subject: Subject, count: number): Tensor4D {
  const { side, scale } = subject;
  const { tf } = runtime;
  return tf.tidy(() => {
    const resized = Array.from({ length: count }, (_, index) => {
      const image = images[index % images.length]!;
      const pixels = tf.tensor3d(image.data, [image.height, image.width, 3], 'int32');
      return tf.mul(tf.image.resizeBilinear(tf.cast(pixels, 'float32'), [side, side]), scale);
    });
    return tf.stack(resized) as Tensor4D;
  });
}

async function measure(
  runtime: Runtime,
  subject: Subject,
  images: readonly RgbImage[],
  sizes: readonly number[],
  inputsPerSize: number,
): Promise<BatchingRow[]> {
  const { tf } = runtime;
  const largest = Math.max(...sizes);
  const pool = inputsFor(runtime, images, subject, largest);
  const single: Float32Array[] = [];
  const rows: BatchingRow[] = [];
  try {
    for (let index = 0; index < largest; index++) {
      const one = tf.slice(pool, [index, 0, 0, 0], [1, -1, -1, -1]);
      single.push(...(await subject.run(one)));
      one.dispose();
    }
    let baselineCpu = 0;
    for (const batch of sizes) {
      const input = tf.slice(pool, [0, 0, 0, 0], [batch, -1, -1, -1]);
      try {
        // Compare with the single runs (and warm this shape's kernels) before timing.
        const outputs = await subject.run(input);
        let maxDifference = 0;
        outputs.forEach((values, index) => {
          const reference = single[index]!;
          for (let i = 0; i < values.length; i++) {
            maxDifference = Math.max(maxDifference, Math.abs(values[i]! - reference[i]!));
          }
        });
        const calls = Math.max(1, Math.ceil(inputsPerSize / batch));
        const wallFrom = performance.now();
        const cpuFrom = process.cpuUsage();
        for (let call = 0; call < calls; call++) await subject.run(input);
        const cpu = process.cpuUsage(cpuFrom);
        const inputs = calls * batch;
        const cpuMsPerInput = (cpu.user + cpu.system) / 1000 / inputs;
        if (batch === 1) baselineCpu = cpuMsPerInput;
        rows.push({
          model: subject.model,
          side: subject.side,
          batch,
          msPerInput: round((performance.now() - wallFrom) / inputs),
          cpuMsPerInput: round(cpuMsPerInput),
          ratio: round(baselineCpu > 0 ? cpuMsPerInput / baselineCpu : 1),
          maxDifference: Number(maxDifference.toPrecision(2)),
        });
      } finally {
        input.dispose();
      }
    }
  } finally {
    pool.dispose();
  }
  return rows;
}

const round = (value: number) => Math.round(value * 100) / 100;

/** Loads the analysis runtime in this thread and measures each per-face model at each batch size. */
export async function measureBatching(options: BatchingOptions): Promise<BatchingReport> {
  if (options.images.length === 0) throw new Error('measureBatching needs at least one image');
  const sizes = [...new Set([1, ...options.sizes])].filter((size) => Number.isInteger(size) && size >= 1);
  sizes.sort((a, b) => a - b);
  const runtime = await loadRuntime({
    backend: options.backend ?? 'wasm',
    manifestPath: defaultManifestPath(),
    maxFaces: 5,
    minFaceScore: 0.5,
    minObjectScore: 0.3,
  });
  const subjects = [
    graphSubject(runtime, 'facemesh'),
    graphSubject(runtime, 'iris'),
    recognitionSubject(runtime),
  ];
  const rows: BatchingRow[] = [];
  for (const subject of subjects) {
    if (subject)
      rows.push(...(await measure(runtime, subject, options.images, sizes, options.inputsPerSize)));
  }
  const detectors = [
    ['human/blazeface (full range)', runtime.human],
    ['blazeface-front (short range)', runtime.quick],
  ] as const;
  const fixedBatch = detectors.flatMap(([model, human]) => {
    const shape = human.models.models.blazeface?.inputs[0]?.shape;
    return shape && shape[0] === 1 ? [{ model, inputShape: shape }] : [];
  });
  return { backend: runtime.backend, rows, fixedBatch };
}
