/**
 * The few ONNX protobuf messages a converted model needs, written by hand: a model, its graph,
 * nodes, attributes, tensors and value infos. Field numbers are onnx.proto's (IR version 8).
 * Only writing is needed; ONNX Runtime parses what this writes.
 */

/** ONNX `TensorProto.DataType` values used here. */
export const onnxType = { float: 1, int32: 6, int64: 7 } as const;
export type OnnxElementType = (typeof onnxType)[keyof typeof onnxType];

export interface OnnxTensor {
  name: string;
  dims: readonly number[];
  type: OnnxElementType;
  /** Little-endian element bytes. */
  raw: Uint8Array;
}

export type OnnxAttribute =
  | { name: string; kind: 'int'; value: number }
  | { name: string; kind: 'float'; value: number }
  | { name: string; kind: 'ints'; value: readonly number[] }
  | { name: string; kind: 'string'; value: string };

export interface OnnxNode {
  op: string;
  name: string;
  inputs: readonly string[];
  outputs: readonly string[];
  attributes?: readonly OnnxAttribute[];
}

export interface OnnxValueInfo {
  name: string;
  type: OnnxElementType;
  /** A string is a symbolic (dynamic) dimension; `null` leaves the shape to inference. */
  shape: readonly (number | string)[] | null;
}

export interface OnnxGraph {
  name: string;
  nodes: readonly OnnxNode[];
  initializers: readonly OnnxTensor[];
  inputs: readonly OnnxValueInfo[];
  outputs: readonly OnnxValueInfo[];
}

/** Growable byte buffer with protobuf's wire encodings. */
class Writer {
  private bytes = new Uint8Array(256);
  private length = 0;

  private reserve(extra: number): void {
    if (this.length + extra <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.length + extra) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }

  /** A varint; negative numbers take ten bytes (two's complement over 64 bits), as int64 wants. */
  varint(value: number): void {
    let v = BigInt.asUintN(64, BigInt(Math.trunc(value)));
    this.reserve(10);
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) byte |= 0x80;
      this.bytes[this.length++] = byte;
    } while (v !== 0n);
  }

  private key(field: number, wireType: number): void {
    this.varint(field * 8 + wireType);
  }

  int(field: number, value: number): void {
    this.key(field, 0);
    this.varint(value);
  }

  float(field: number, value: number): void {
    this.key(field, 5);
    this.reserve(4);
    new DataView(this.bytes.buffer).setFloat32(this.length, value, true);
    this.length += 4;
  }

  bytesField(field: number, value: Uint8Array): void {
    this.key(field, 2);
    this.varint(value.length);
    this.reserve(value.length);
    this.bytes.set(value, this.length);
    this.length += value.length;
  }

  string(field: number, value: string): void {
    this.bytesField(field, new TextEncoder().encode(value));
  }

  message(field: number, write: (writer: Writer) => void): void {
    const inner = new Writer();
    write(inner);
    this.bytesField(field, inner.finish());
  }

  finish(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }
}

function writeTensor(w: Writer, tensor: OnnxTensor): void {
  for (const dim of tensor.dims) w.int(1, dim);
  w.int(2, tensor.type);
  w.string(8, tensor.name);
  w.bytesField(9, tensor.raw);
}

const attributeType = { float: 1, int: 2, string: 3, ints: 7 } as const;

function writeAttribute(w: Writer, attribute: OnnxAttribute): void {
  w.string(1, attribute.name);
  switch (attribute.kind) {
    case 'float':
      w.float(2, attribute.value);
      break;
    case 'int':
      w.int(3, attribute.value);
      break;
    case 'string':
      w.string(4, attribute.value);
      break;
    case 'ints':
      for (const value of attribute.value) w.int(8, value);
      break;
  }
  w.int(20, attributeType[attribute.kind]);
}

function writeNode(w: Writer, node: OnnxNode): void {
  for (const input of node.inputs) w.string(1, input);
  for (const output of node.outputs) w.string(2, output);
  w.string(3, node.name);
  w.string(4, node.op);
  for (const attribute of node.attributes ?? []) w.message(5, (a) => writeAttribute(a, attribute));
}

function writeValueInfo(w: Writer, info: OnnxValueInfo): void {
  w.string(1, info.name);
  w.message(2, (type) =>
    type.message(1, (tensorType) => {
      tensorType.int(1, info.type);
      const dims = info.shape;
      if (dims === null) return;
      tensorType.message(2, (shape) => {
        for (const dim of dims) {
          shape.message(1, (d) => (typeof dim === 'number' ? d.int(1, dim) : d.string(2, dim)));
        }
      });
    }),
  );
}

/** The serialised `ModelProto`: IR version 8, default domain at `opset`. */
export function encodeModel(graph: OnnxGraph, opset = 13): Uint8Array {
  const w = new Writer();
  w.int(1, 8);
  w.string(2, 'vigil');
  w.message(7, (g) => {
    for (const node of graph.nodes) g.message(1, (n) => writeNode(n, node));
    g.string(2, graph.name);
    for (const tensor of graph.initializers) g.message(5, (t) => writeTensor(t, tensor));
    for (const input of graph.inputs) g.message(11, (i) => writeValueInfo(i, input));
    for (const output of graph.outputs) g.message(12, (o) => writeValueInfo(o, output));
  });
  w.message(8, (o) => {
    o.string(1, '');
    o.int(2, opset);
  });
  return w.finish();
}
