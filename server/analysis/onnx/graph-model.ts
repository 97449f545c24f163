/**
 * Moves a loaded TensorFlow.js graph model's inference onto ONNX Runtime, in place: its
 * `execute()` is replaced by one that converts the input tensor's values, runs the converted
 * graph natively and hands back TensorFlow.js tensors, so Human's pre- and post-processing (crops,
 * anchors, mesh geometry) stays as it is. Before the swap, the converted model and the original
 * run the same input and must agree; a model that does not convert or does not agree stays on
 * TensorFlow.js.
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import type { NamedTensorMap, Tensor } from '@tensorflow/tfjs-core';
import { convertGraphModel, UnsupportedGraphError, type TfjsNode, type Weight } from './convert.js';
import type { NativeRuntime, NativeSession } from './native.js';

type Tf = typeof TfCore;

/** The parts of `GraphModel` used here (`artifacts` is private in its typings, public in fact). */
export interface ConvertibleModel {
  readonly inputs: readonly { shape?: number[]; dtype: string }[];
  readonly outputs: readonly { name: string }[];
  readonly outputNodes: readonly string[];
  readonly weights: Record<string, Tensor[]>;
  execute(inputs: Tensor | Tensor[] | NamedTensorMap, outputs?: string | string[]): Tensor | Tensor[];
}

export type MoveResult = { moved: true; maxDifference: number } | { moved: false; reason: string };

/** Largest difference allowed between the two runtimes, relative to the output's magnitude. */
const tolerance = 1e-3;

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}

function topologyOf(model: ConvertibleModel): TfjsNode[] | null {
  const artifacts = (model as unknown as { artifacts?: { modelTopology?: { node?: unknown } } }).artifacts;
  const nodes = artifacts?.modelTopology?.node;
  return Array.isArray(nodes) ? (nodes as TfjsNode[]) : null;
}

function weightsOf(model: ConvertibleModel): Map<string, Weight> {
  const weights = new Map<string, Weight>();
  for (const [name, tensors] of Object.entries(model.weights)) {
    const tensor = tensors[0];
    if (!tensor) continue;
    const data = tensor.dataSync();
    if (data instanceof Float32Array || data instanceof Int32Array)
      weights.set(name, { shape: tensor.shape, data });
  }
  return weights;
}

/** A deterministic input in 0..1 (what Human feeds its face models), batch 1 where it is open. */
function probeInput(shape: readonly number[]): { data: Float32Array; dims: number[] } {
  const dims = shape.map((size) => (size > 0 ? size : 1));
  const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
  let seed = 12345;
  for (let i = 0; i < data.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    data[i] = seed / 0x7fffffff;
  }
  return { data, dims };
}

/**
 * Converts `model`, checks it against TensorFlow.js on a probe input and, when they agree,
 * replaces `model.execute`. Safe to call on any model: what it cannot take it leaves alone.
 * With `boundary` (node names), only the graph up to those nodes moves: ONNX Runtime computes
 * them and TensorFlow.js runs the rest from there (the object model's top-k and gathers).
 */
export async function moveToOnnxRuntime(
  tf: Tf,
  ort: NativeRuntime,
  model: ConvertibleModel,
  boundary?: readonly string[],
): Promise<MoveResult> {
  const topology = topologyOf(model);
  const inputShape = model.inputs[0]?.shape;
  if (!topology || !inputShape || model.inputs.length !== 1 || model.inputs[0]?.dtype !== 'float32') {
    return { moved: false, reason: 'not a single-input float graph' };
  }
  const outputNames = model.outputs.map((output) => output.name.split(':')[0] ?? output.name);
  const nodeNames = boundary ? [...boundary] : outputNames;
  let session: NativeSession;
  try {
    const converted = convertGraphModel(topology, weightsOf(model), nodeNames);
    session = await ort.load(converted.bytes, converted.input, converted.outputs);
  } catch (error) {
    const reason = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
    return {
      moved: false,
      reason: error instanceof UnsupportedGraphError ? `unsupported: ${reason}` : reason,
    };
  }

  const probe = probeInput(inputShape);
  let expected: Float32Array[];
  let actual: ReturnType<NativeSession['run']>;
  try {
    expected = tf.tidy(() => {
      const result = model.execute(tf.tensor(probe.data, probe.dims), boundary ? [...nodeNames] : undefined);
      return (Array.isArray(result) ? result : [result]).map((tensor) => tensor.dataSync() as Float32Array);
    });
    actual = session.run(probe.data, probe.dims);
  } catch (error) {
    // Whatever fails in the check keeps the model where it was: analysis must still load.
    session.dispose();
    return { moved: false, reason: `the check failed: ${firstLine(error)}` };
  }
  let maxDifference = 0;
  for (const [index, values] of expected.entries()) {
    const got = actual[index]?.data;
    if (!got || got.length !== values.length) {
      session.dispose();
      return { moved: false, reason: `output ${index} has another size` };
    }
    let scale = 1;
    for (const value of values) scale = Math.max(scale, Math.abs(value));
    for (let i = 0; i < values.length; i++) {
      maxDifference = Math.max(maxDifference, Math.abs((values[i] ?? 0) - (got[i] ?? 0)) / scale);
    }
  }
  if (!(maxDifference <= tolerance)) {
    session.dispose();
    return { moved: false, reason: `outputs differ by ${maxDifference.toPrecision(2)} of their scale` };
  }

  const original = model.execute.bind(model);
  if (boundary) {
    model.execute = (inputs, outputs) => {
      if (!(inputs instanceof tf.Tensor) || inputs.dtype !== 'float32') return original(inputs, outputs);
      const results = session.run(inputs.dataSync() as Float32Array, inputs.shape);
      const feed: NamedTensorMap = {};
      nodeNames.forEach((name, index) => {
        const result = results[index];
        if (!result) throw new Error(`ONNX Runtime gave no ${name}`);
        feed[name] = tf.tensor(result.data, result.dims, 'float32');
      });
      const out = original(feed, outputs);
      // The fed tensors are this call's own, except one handed back as an output.
      const kept = new Set((Array.isArray(out) ? out : [out]).map((tensor) => tensor.id));
      for (const tensor of Object.values(feed)) if (!kept.has(tensor.id)) tensor.dispose();
      return out;
    };
    try {
      tf.dispose(model.execute(tf.tensor(probe.data, probe.dims)));
    } catch (error) {
      model.execute = original;
      session.dispose();
      return {
        moved: false,
        reason: `the rest of the graph does not run from the boundary: ${String(error)}`,
      };
    }
    return { moved: true, maxDifference: Number(maxDifference.toPrecision(2)) };
  }

  // Human asks for outputs by signature key or node name, or for all of them in model order.
  const indexOf = new Map<string, number>();
  model.outputNodes.forEach((name, index) => indexOf.set(name, index));
  nodeNames.forEach((name, index) => indexOf.set(name, index));
  model.execute = (inputs, outputs) => {
    if (!(inputs instanceof tf.Tensor) || inputs.dtype !== 'float32') return original(inputs, outputs);
    const results = session.run(inputs.dataSync() as Float32Array, inputs.shape);
    const wanted =
      outputs === undefined
        ? nodeNames.map((_, index) => index)
        : [outputs].flat().map((name) => {
            const index = indexOf.get(name.split(':')[0] ?? name);
            if (index === undefined) throw new Error(`the converted model has no output ${name}`);
            return index;
          });
    const tensors = wanted.map((index) => {
      const result = results[index];
      if (!result) throw new Error(`ONNX Runtime gave no output ${index}`);
      return tf.tensor(result.data, result.dims, 'float32');
    });
    return tensors.length === 1 && !Array.isArray(outputs) ? (tensors[0] as Tensor) : tensors;
  };
  return { moved: true, maxDifference: Number(maxDifference.toPrecision(2)) };
}
