/**
 * TensorFlow.js graph model → ONNX, for the small convolutional nets Human runs per face (face
 * detectors, mesh, iris, anti-spoofing, liveness), so ONNX Runtime's native CPU kernels can run
 * them. TensorFlow.js keeps images NHWC; ONNX convolutions want NCHW. The graph transposes its
 * input once, keeps every 4-d activation NCHW, and transposes back only where the layout shows
 * (a reshape, a graph output). Ops outside the list throw `UnsupportedGraphError`: the caller
 * keeps that model on TensorFlow.js.
 */
import { GraphBuilder, permute } from './graph-builder.js';
import { encodeModel, onnxType, type OnnxAttribute, type OnnxValueInfo } from './proto.js';

/** One node of a TensorFlow.js `model.json` topology (the fields read here). */
export interface TfjsNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfjsAttr>;
}

interface TfjsAttr {
  s?: string;
  i?: string | number;
  f?: number;
  b?: boolean;
  type?: string;
  list?: { i?: (string | number)[]; s?: string[] };
  shape?: { dim?: { size: string | number }[] };
}

/** A constant's values, already dequantised (what `GraphModel.weights` holds). */
export interface Weight {
  shape: readonly number[];
  data: Float32Array | Int32Array;
}

export class UnsupportedGraphError extends Error {}

/** Where a TensorFlow.js tensor lives in the ONNX graph, and in which layout. */
interface Value {
  name: string;
  /** `nchw`: a 4-d activation kept channels-first; `plain`: same layout as in TensorFlow.js. */
  layout: 'nchw' | 'plain';
}

const toNchw = [0, 3, 1, 2];
const toNhwc = [0, 2, 3, 1];
/** Where an NHWC axis sits in NCHW. */
const nhwcAxisInNchw = [0, 2, 3, 1];

function decode(base64: string | undefined): string {
  return base64 === undefined ? '' : Buffer.from(base64, 'base64').toString('utf8');
}

function ints(attr: TfjsAttr | undefined): number[] {
  return (attr?.list?.i ?? []).map(Number);
}

export interface ConvertedModel {
  /** The serialised ONNX model. */
  bytes: Uint8Array;
  /** ONNX input name (the TensorFlow.js placeholder's), fed NHWC as TensorFlow.js would be. */
  input: string;
  /** ONNX output names, one per requested TensorFlow.js output, in that order. */
  outputs: string[];
}

/**
 * Converts the graph from its placeholder to `outputNames` (TensorFlow.js node names, `:0`
 * optional). Throws `UnsupportedGraphError` for an op, attribute or shape it does not handle.
 */
export function convertGraphModel(
  nodes: readonly TfjsNode[],
  weights: ReadonlyMap<string, Weight>,
  outputNames: readonly string[],
): ConvertedModel {
  const byName = new Map(nodes.map((node) => [node.name, node]));
  const placeholders = nodes.filter((node) => node.op === 'Placeholder');
  const placeholder = placeholders[0];
  if (!placeholder || placeholders.length !== 1) {
    throw new UnsupportedGraphError(`expected one input, found ${placeholders.length}`);
  }
  const inputShape = (placeholder.attr?.shape?.shape?.dim ?? []).map((d) => Number(d.size));
  if (inputShape.length !== 4) throw new UnsupportedGraphError(`input of rank ${inputShape.length}`);

  const g = new GraphBuilder();
  const values = new Map<string, Value>();
  values.set(placeholder.name, {
    name: g.node('Transpose', [placeholder.name], g.fresh('input_nchw'), [
      { name: 'perm', kind: 'ints', value: toNchw },
    ]),
    layout: 'nchw',
  });

  const weightOf = (name: string): Weight => {
    const weight = weights.get(name);
    if (!weight) throw new UnsupportedGraphError(`constant ${name} has no value`);
    return weight;
  };
  const floatWeight = (name: string): { shape: readonly number[]; data: Float32Array } => {
    const weight = weightOf(name);
    if (!(weight.data instanceof Float32Array))
      throw new UnsupportedGraphError(`constant ${name} is not float32`);
    return { shape: weight.shape, data: weight.data };
  };
  const isConst = (name: string): boolean => byName.get(name)?.op === 'Const';

  /** A constant operand of an elementwise op, shaped to broadcast against `layout`. */
  const elementwiseConstant = (name: string, layout: Value['layout']): string => {
    const { shape, data } = floatWeight(name);
    if (layout === 'plain' || data.length === 1) return g.floats(`${name}__plain`, shape, data);
    if (shape.length > 4) throw new UnsupportedGraphError(`constant ${name} of rank ${shape.length}`);
    const nhwc = [...new Array<number>(4 - shape.length).fill(1), ...shape];
    return g.floats(
      `${name}__nchw`,
      toNchw.map((axis) => nhwc[axis] ?? 1),
      permute(data, nhwc, toNchw),
    );
  };

  const valueOf = (reference: string): Value => {
    const [name = '', port = '0'] = reference.split(':');
    if (port !== '0') throw new UnsupportedGraphError(`output ${port} of ${name}`);
    const existing = values.get(name);
    if (existing) return existing;
    const node = byName.get(name);
    if (!node) throw new UnsupportedGraphError(`unknown tensor ${reference}`);
    const value = convertNode(node);
    values.set(name, value);
    return value;
  };

  const activation = (op: string, input: string, node: TfjsNode, args: readonly string[]): string => {
    const out = g.fresh(node.name);
    switch (op) {
      case 'Relu':
        return g.node('Relu', [input], out);
      case 'Relu6':
        return g.node(
          'Clip',
          [input, g.floats('__zero', [], Float32Array.of(0)), g.floats('__six', [], Float32Array.of(6))],
          out,
        );
      case 'Sigmoid':
        return g.node('Sigmoid', [input], out);
      case 'Prelu': {
        const alpha = args[0];
        if (alpha === undefined) throw new UnsupportedGraphError(`${node.name}: Prelu without alpha`);
        return g.node('PRelu', [input, elementwiseConstant(alpha, 'nchw')], out);
      }
      default:
        throw new UnsupportedGraphError(`${node.name}: fused ${op}`);
    }
  };

  const padAttributes = (node: TfjsNode): OnnxAttribute[] => {
    const padding = decode(node.attr?.padding?.s);
    if (padding === 'SAME') return [{ name: 'auto_pad', kind: 'string', value: 'SAME_UPPER' }];
    if (padding === 'VALID') return [{ name: 'auto_pad', kind: 'string', value: 'VALID' }];
    throw new UnsupportedGraphError(`${node.name}: padding ${padding}`);
  };

  const checkNhwc = (node: TfjsNode): void => {
    const format = decode(node.attr?.data_format?.s) || 'NHWC';
    if (format !== 'NHWC') throw new UnsupportedGraphError(`${node.name}: data format ${format}`);
  };

  const convolution = (node: TfjsNode, depthwise: boolean): Value => {
    checkNhwc(node);
    const [xName = '', filterName = '', ...args] = (node.input ?? []).filter((i) => !i.startsWith('^'));
    const x = valueOf(xName);
    if (x.layout !== 'nchw') throw new UnsupportedGraphError(`${node.name}: input not an image`);
    const filter = floatWeight(filterName);
    const [kh = 1, kw = 1, inC = 1, outC = 1] = filter.shape;
    const weights = depthwise
      ? g.floats(
          `${filterName}__dw`,
          [inC * outC, 1, kh, kw],
          permute(filter.data, [kh, kw, inC * outC], [2, 0, 1]),
        )
      : g.floats(
          `${filterName}__oihw`,
          [outC, inC, kh, kw],
          permute(filter.data, filter.shape, [3, 2, 0, 1]),
        );
    const fused = (node.attr?.fused_ops?.list?.s ?? []).map(decode);
    const inputs = [x.name, weights];
    let rest = args;
    if (fused[0] === 'BiasAdd') {
      const bias = floatWeight(args[0] ?? '');
      inputs.push(g.floats(`${args[0] ?? ''}__bias`, [bias.data.length], bias.data));
      rest = args.slice(1);
      fused.shift();
    }
    const strides = ints(node.attr?.strides);
    const dilations = ints(node.attr?.dilations);
    let out = g.node('Conv', inputs, g.fresh(node.name), [
      { name: 'kernel_shape', kind: 'ints', value: [kh, kw] },
      { name: 'strides', kind: 'ints', value: [strides[1] ?? 1, strides[2] ?? 1] },
      { name: 'dilations', kind: 'ints', value: [dilations[1] ?? 1, dilations[2] ?? 1] },
      { name: 'group', kind: 'int', value: depthwise ? inC : 1 },
      ...padAttributes(node),
    ]);
    for (const op of fused) out = activation(op, out, node, rest);
    return { name: out, layout: 'nchw' };
  };

  const toPlain = (value: Value, node: TfjsNode): string =>
    value.layout === 'plain'
      ? value.name
      : g.node('Transpose', [value.name], g.fresh(`${node.name}_nhwc`), [
          { name: 'perm', kind: 'ints', value: toNhwc },
        ]);

  function convertNode(node: TfjsNode): Value {
    const inputs = (node.input ?? []).filter((i) => !i.startsWith('^'));
    const first = (): Value => valueOf(inputs[0] ?? '');
    switch (node.op) {
      case 'Identity':
        return first();
      case '_FusedConv2D':
      case 'Conv2D':
        return convolution(node, false);
      case 'DepthwiseConv2dNative':
      case 'FusedDepthwiseConv2dNative':
        return convolution(node, true);
      case 'Relu':
      case 'Relu6':
      case 'Sigmoid': {
        const x = first();
        return { name: activation(node.op, x.name, node, []), layout: x.layout };
      }
      case 'Prelu': {
        const x = first();
        const alpha = inputs[1] ?? '';
        return {
          name: g.node('PRelu', [x.name, elementwiseConstant(alpha, x.layout)], g.fresh(node.name)),
          layout: x.layout,
        };
      }
      case 'Add':
      case 'AddV2':
      case 'Mul':
      case 'Sub': {
        const [a = '', b = ''] = inputs;
        if (isConst(a) && isConst(b)) throw new UnsupportedGraphError(`${node.name}: two constants`);
        const variable = valueOf(isConst(a) ? b : a);
        const operand = (name: string): string =>
          isConst(name) ? elementwiseConstant(name, variable.layout) : valueOf(name).name;
        const other = isConst(a) || isConst(b) ? null : valueOf(b);
        if (other && other.layout !== valueOf(a).layout)
          throw new UnsupportedGraphError(`${node.name}: mixed layouts`);
        const op = node.op === 'AddV2' ? 'Add' : node.op;
        return { name: g.node(op, [operand(a), operand(b)], g.fresh(node.name)), layout: variable.layout };
      }
      case 'MaxPool':
      case 'AvgPool': {
        checkNhwc(node);
        const x = first();
        const size = ints(node.attr?.ksize);
        const strides = ints(node.attr?.strides);
        return {
          name: g.node(node.op === 'MaxPool' ? 'MaxPool' : 'AveragePool', [x.name], g.fresh(node.name), [
            { name: 'kernel_shape', kind: 'ints', value: [size[1] ?? 1, size[2] ?? 1] },
            { name: 'strides', kind: 'ints', value: [strides[1] ?? 1, strides[2] ?? 1] },
            ...padAttributes(node),
          ]),
          layout: 'nchw',
        };
      }
      case 'Pad': {
        const x = first();
        const pads = weightOf(inputs[1] ?? '');
        const p = Array.from(pads.data, Number);
        const before = [0, 1, 2, 3].map((axis) => p[axis * 2] ?? 0);
        const after = [0, 1, 2, 3].map((axis) => p[axis * 2 + 1] ?? 0);
        const order = x.layout === 'nchw' ? toNchw : [0, 1, 2, 3];
        const onnxPads = [
          ...order.map((axis) => before[axis] ?? 0),
          ...order.map((axis) => after[axis] ?? 0),
        ];
        return {
          name: g.node('Pad', [x.name, g.int64s(g.fresh(`${node.name}_pads`), onnxPads)], g.fresh(node.name)),
          layout: x.layout,
        };
      }
      case 'Reshape': {
        const x = first();
        const shape = Array.from(weightOf(inputs[1] ?? '').data, Number);
        const plain = toPlain(x, node);
        return {
          name: g.node(
            'Reshape',
            [plain, g.int64s(g.fresh(`${node.name}_shape`), shape)],
            g.fresh(node.name),
          ),
          layout: 'plain',
        };
      }
      case 'ConcatV2': {
        const axisName = inputs[inputs.length - 1] ?? '';
        const axis = Number(weightOf(axisName).data[0]);
        const parts = inputs.slice(0, -1).map((name) => valueOf(name));
        const layout = parts[0]?.layout ?? 'plain';
        if (parts.some((part) => part.layout !== layout))
          throw new UnsupportedGraphError(`${node.name}: mixed layouts`);
        const onnxAxis = layout === 'nchw' ? (nhwcAxisInNchw[(axis + 4) % 4] ?? 1) : axis;
        return {
          name: g.node(
            'Concat',
            parts.map((part) => part.name),
            g.fresh(node.name),
            [{ name: 'axis', kind: 'int', value: onnxAxis }],
          ),
          layout,
        };
      }
      case '_FusedMatMul':
      case 'MatMul': {
        const x = first();
        if (x.layout !== 'plain') throw new UnsupportedGraphError(`${node.name}: matmul on an image`);
        const [, bName = '', ...args] = inputs;
        const b = floatWeight(bName);
        if (node.attr?.transpose_a?.b) throw new UnsupportedGraphError(`${node.name}: transpose_a`);
        const fused = (node.attr?.fused_ops?.list?.s ?? []).map(decode);
        const gemmInputs = [x.name, g.floats(`${bName}__gemm`, b.shape, b.data)];
        let rest = args;
        if (fused[0] === 'BiasAdd') {
          const bias = floatWeight(args[0] ?? '');
          gemmInputs.push(g.floats(`${args[0] ?? ''}__bias`, [bias.data.length], bias.data));
          rest = args.slice(1);
          fused.shift();
        }
        let out = g.node('Gemm', gemmInputs, g.fresh(node.name), [
          { name: 'transB', kind: 'int', value: node.attr?.transpose_b?.b ? 1 : 0 },
        ]);
        for (const op of fused) out = activation(op, out, node, rest);
        return { name: out, layout: 'plain' };
      }
      case 'Mean': {
        const x = first();
        if (!node.attr?.keep_dims?.b) throw new UnsupportedGraphError(`${node.name}: mean without keep_dims`);
        const axes = Array.from(weightOf(inputs[1] ?? '').data, Number).map((axis) =>
          x.layout === 'nchw' ? (nhwcAxisInNchw[(axis + 4) % 4] ?? axis) : axis,
        );
        return {
          name: g.node('ReduceMean', [x.name], g.fresh(node.name), [
            { name: 'axes', kind: 'ints', value: axes },
            { name: 'keepdims', kind: 'int', value: 1 },
          ]),
          layout: x.layout,
        };
      }
      case 'ResizeBilinear': {
        const x = first();
        if (x.layout !== 'nchw') throw new UnsupportedGraphError(`${node.name}: resize of a non-image`);
        const size = Array.from(weightOf(inputs[1] ?? '').data, Number);
        // TensorFlow's two flags name ONNX's coordinate transforms.
        const transform = node.attr?.align_corners?.b
          ? 'align_corners'
          : node.attr?.half_pixel_centers?.b
            ? 'tf_half_pixel_for_nn'
            : 'asymmetric';
        if (transform === 'tf_half_pixel_for_nn')
          throw new UnsupportedGraphError(`${node.name}: half-pixel centres`);
        // Sizes are N and C of the input (known only when it runs) and the constant H, W.
        const shape = g.node('Shape', [x.name], g.fresh(`${node.name}_shape`));
        const batchAndChannels = g.node(
          'Slice',
          [shape, g.int64s(g.fresh(`${node.name}_from`), [0]), g.int64s(g.fresh(`${node.name}_to`), [2])],
          g.fresh(`${node.name}_nc`),
        );
        const sizes = g.node(
          'Concat',
          [batchAndChannels, g.int64s(g.fresh(`${node.name}_hw`), size)],
          g.fresh(`${node.name}_sizes`),
          [{ name: 'axis', kind: 'int', value: 0 }],
        );
        return {
          name: g.node('Resize', [x.name, '', '', sizes], g.fresh(node.name), [
            { name: 'mode', kind: 'string', value: 'linear' },
            { name: 'coordinate_transformation_mode', kind: 'string', value: transform },
          ]),
          layout: 'nchw',
        };
      }
      case 'Softmax': {
        const x = first();
        if (x.layout !== 'plain') throw new UnsupportedGraphError(`${node.name}: softmax on an image`);
        return {
          name: g.node('Softmax', [x.name], g.fresh(node.name), [{ name: 'axis', kind: 'int', value: -1 }]),
          layout: 'plain',
        };
      }
      default:
        throw new UnsupportedGraphError(`${node.name}: op ${node.op}`);
    }
  }

  const outputs: OnnxValueInfo[] = [];
  const outputNamesOnnx: string[] = [];
  for (const requested of outputNames) {
    const tfName = requested.split(':')[0] ?? requested;
    const value = valueOf(tfName);
    const name = `output_${outputs.length}`;
    const source =
      value.layout === 'nchw'
        ? g.node('Transpose', [value.name], g.fresh(`${tfName}_nhwc`), [
            { name: 'perm', kind: 'ints', value: toNhwc },
          ])
        : value.name;
    g.node('Identity', [source], name);
    outputs.push({ name, type: onnxType.float, shape: null });
    outputNamesOnnx.push(name);
  }

  const bytes = encodeModel({
    name: 'converted',
    nodes: g.nodes,
    initializers: g.initializers,
    inputs: [
      {
        name: placeholder.name,
        type: onnxType.float,
        shape: inputShape.map((size, axis) => (size >= 0 ? size : `dim${axis}`)),
      },
    ],
    outputs,
  });
  return { bytes, input: placeholder.name, outputs: outputNamesOnnx };
}
