/**
 * Building an ONNX graph node by node: fresh value names, initializers added once by name, and
 * the layout shuffles weights need on their way from TensorFlow.js (HWIO, NHWC) to ONNX.
 */
import {
  onnxType,
  type OnnxAttribute,
  type OnnxElementType,
  type OnnxNode,
  type OnnxTensor,
} from './proto.js';

function bytesOf(data: Float32Array | Int32Array | BigInt64Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Copies `data` (row-major, `shape`) with its axes permuted. */
export function permute(data: Float32Array, shape: readonly number[], perm: readonly number[]): Float32Array {
  const outShape = perm.map((axis) => shape[axis] ?? 1);
  const inStrides = shape.map((_, axis) => shape.slice(axis + 1).reduce((a, b) => a * b, 1));
  const out = new Float32Array(data.length);
  const index = new Array<number>(outShape.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let source = 0;
    for (let axis = 0; axis < perm.length; axis++)
      source += (index[axis] ?? 0) * (inStrides[perm[axis] ?? 0] ?? 0);
    out[o] = data[source] ?? 0;
    for (let axis = outShape.length - 1; axis >= 0; axis--) {
      index[axis] = (index[axis] ?? 0) + 1;
      if ((index[axis] ?? 0) < (outShape[axis] ?? 1)) break;
      index[axis] = 0;
    }
  }
  return out;
}

export class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  private readonly initializerNames = new Set<string>();
  private counter = 0;

  fresh(base: string): string {
    return `${base}__${this.counter++}`;
  }

  node(op: string, inputs: string[], output: string, attributes?: OnnxAttribute[]): string {
    this.nodes.push({ op, name: output, inputs, outputs: [output], attributes });
    return output;
  }

  constant(name: string, dims: readonly number[], type: OnnxElementType, raw: Uint8Array): string {
    if (!this.initializerNames.has(name)) {
      this.initializerNames.add(name);
      this.initializers.push({ name, dims, type, raw });
    }
    return name;
  }

  floats(name: string, dims: readonly number[], data: Float32Array): string {
    return this.constant(name, dims, onnxType.float, bytesOf(data));
  }

  int64s(name: string, values: readonly number[]): string {
    return this.constant(
      name,
      [values.length],
      onnxType.int64,
      bytesOf(BigInt64Array.from(values.map(BigInt))),
    );
  }
}
