/**
 * face-api's recognition net (the 128-d face descriptor behind identity) as an ONNX graph.
 * face-api builds that ResNet in code from its weights rather than shipping a graph, so this
 * module writes the same layers from the same weights: a 7x7 stride-2 convolution, a max pool,
 * fifteen residual blocks, a global average and a fully connected layer. Each layer's per-channel
 * scale is folded into its convolution. Input: faces of 150x150 RGB, 0..255, NHWC (as face-api
 * takes them); output: the descriptors, `[batch, 128]`.
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import { GraphBuilder, permute } from './graph-builder.js';
import type { NativeRuntime, NativeSession } from './native.js';
import { encodeModel, onnxType } from './proto.js';

interface ConvLayerParams {
  conv: { filters: Tensor; bias: Tensor };
  scale: { weights: Tensor; biases: Tensor };
}

interface ResidualParams {
  conv1: ConvLayerParams;
  conv2: ConvLayerParams;
}

/** face-api's `FaceRecognitionNet.params` (its `NetParams`), the parts read here. */
export interface RecognitionParams {
  conv32_down: ConvLayerParams;
  conv32_1: ResidualParams;
  conv32_2: ResidualParams;
  conv32_3: ResidualParams;
  conv64_down: ResidualParams;
  conv64_1: ResidualParams;
  conv64_2: ResidualParams;
  conv64_3: ResidualParams;
  conv128_down: ResidualParams;
  conv128_1: ResidualParams;
  conv128_2: ResidualParams;
  conv256_down: ResidualParams;
  conv256_1: ResidualParams;
  conv256_2: ResidualParams;
  conv256_down_out: ResidualParams;
  fc: Tensor;
}

export const recognitionInputSide = 150;
/** face-api's mean RGB, subtracted before scaling to 0..1. */
const meanRgb = [122.782, 117.001, 104.298];

/** An NCHW activation and its (square) side, tracked to size the residual shortcuts. */
interface Activation {
  name: string;
  side: number;
  channels: number;
}

const floats = (tensor: Tensor) => tensor.dataSync() as Float32Array;

const outputSide = (side: number, kernel: number, stride: number, valid: boolean) =>
  valid ? Math.floor((side - kernel) / stride) + 1 : Math.ceil(side / stride);

/** Builds the ONNX model; input `input`, output `descriptor`. */
export function recognitionGraph(params: RecognitionParams): Uint8Array {
  const g = new GraphBuilder();
  let layer = 0;

  const convLayer = (
    x: Activation,
    p: ConvLayerParams,
    stride: number,
    relu: boolean,
    valid: boolean,
  ): Activation => {
    const id = `layer${layer++}`;
    const [kh = 1, kw = 1, inC = 1, outC = 1] = p.conv.filters.shape;
    const filters = permute(floats(p.conv.filters), [kh, kw, inC, outC], [3, 2, 0, 1]);
    const bias = floats(p.conv.bias);
    const scale = floats(p.scale.weights);
    const shift = floats(p.scale.biases);
    // conv(x) + bias, times scale, plus shift: the scale goes into the filters and the bias.
    const perOutput = kh * kw * inC;
    for (let o = 0; o < outC; o++) {
      for (let i = 0; i < perOutput; i++) filters[o * perOutput + i]! *= scale[o] ?? 1;
    }
    const folded = Float32Array.from(
      { length: outC },
      (_, o) => (bias[o] ?? 0) * (scale[o] ?? 1) + (shift[o] ?? 0),
    );
    let out = g.node(
      'Conv',
      [x.name, g.floats(`${id}_w`, [outC, inC, kh, kw], filters), g.floats(`${id}_b`, [outC], folded)],
      g.fresh(id),
      [
        { name: 'kernel_shape', kind: 'ints', value: [kh, kw] },
        { name: 'strides', kind: 'ints', value: [stride, stride] },
        { name: 'auto_pad', kind: 'string', value: valid ? 'VALID' : 'SAME_UPPER' },
      ],
    );
    if (relu) out = g.node('Relu', [out], g.fresh(`${id}_relu`));
    return { name: out, side: outputSide(x.side, kh, stride, valid), channels: outC };
  };

  const pad = (x: Activation, channels: number, side: number, id: string): string => {
    const extraC = channels - x.channels;
    const extraS = side - x.side;
    if (extraC === 0 && extraS === 0) return x.name;
    // Zeros after the channels (face-api concatenates zero channels) and after the last row and column.
    const pads = g.int64s(g.fresh(`${id}_pads`), [0, 0, 0, 0, 0, extraC, extraS, extraS]);
    return g.node('Pad', [x.name, pads], g.fresh(`${id}_pad`));
  };

  const residual = (x: Activation, p: ResidualParams, down: boolean): Activation => {
    const first = convLayer(x, p.conv1, down ? 2 : 1, true, down);
    const second = convLayer(first, p.conv2, 1, false, false);
    let shortcut = x.name;
    let side = second.side;
    if (down) {
      const id = `pool${layer}`;
      const pooled = g.node('AveragePool', [x.name], g.fresh(id), [
        { name: 'kernel_shape', kind: 'ints', value: [2, 2] },
        { name: 'strides', kind: 'ints', value: [2, 2] },
        { name: 'auto_pad', kind: 'string', value: 'VALID' },
      ]);
      const pooledSide = outputSide(x.side, 2, 2, true);
      side = Math.max(pooledSide, second.side);
      shortcut = pad({ name: pooled, side: pooledSide, channels: x.channels }, second.channels, side, id);
    }
    const main = pad(second, second.channels, side, `${second.name}_adjust`);
    const sum = g.node('Add', [shortcut, main], g.fresh('residual'));
    return { name: g.node('Relu', [sum], g.fresh('residual_relu')), side, channels: second.channels };
  };

  const nchw = g.node('Transpose', ['input'], 'input_nchw', [
    { name: 'perm', kind: 'ints', value: [0, 3, 1, 2] },
  ]);
  const centred = g.node(
    'Sub',
    [nchw, g.floats('mean_rgb', [1, 3, 1, 1], Float32Array.from(meanRgb))],
    'centred',
  );
  const scaled = g.node('Mul', [centred, g.floats('inverse_255', [], Float32Array.of(1 / 255))], 'scaled');
  let x: Activation = { name: scaled, side: recognitionInputSide, channels: 3 };
  x = convLayer(x, params.conv32_down, 2, true, true);
  const pooled = g.node('MaxPool', [x.name], 'max_pool', [
    { name: 'kernel_shape', kind: 'ints', value: [3, 3] },
    { name: 'strides', kind: 'ints', value: [2, 2] },
    { name: 'auto_pad', kind: 'string', value: 'VALID' },
  ]);
  x = { name: pooled, side: outputSide(x.side, 3, 2, true), channels: x.channels };
  const blocks: [ResidualParams, boolean][] = [
    [params.conv32_1, false],
    [params.conv32_2, false],
    [params.conv32_3, false],
    [params.conv64_down, true],
    [params.conv64_1, false],
    [params.conv64_2, false],
    [params.conv64_3, false],
    [params.conv128_down, true],
    [params.conv128_1, false],
    [params.conv128_2, false],
    [params.conv256_down, true],
    [params.conv256_1, false],
    [params.conv256_2, false],
    [params.conv256_down_out, true],
  ];
  for (const [block, down] of blocks) x = residual(x, block, down);
  const average = g.node('ReduceMean', [x.name], 'global_average', [
    { name: 'axes', kind: 'ints', value: [2, 3] },
    { name: 'keepdims', kind: 'int', value: 0 },
  ]);
  const fc = params.fc;
  g.node('MatMul', [average, g.floats('fc', fc.shape, floats(fc))], 'descriptor');

  return encodeModel({
    name: 'face-api-recognition',
    nodes: g.nodes,
    initializers: g.initializers,
    inputs: [
      {
        name: 'input',
        type: onnxType.float,
        shape: ['batch', recognitionInputSide, recognitionInputSide, 3],
      },
    ],
    outputs: [{ name: 'descriptor', type: onnxType.float, shape: ['batch', fc.shape[1] ?? 128] }],
  });
}

/** The face-api net as far as it is used here. */
export interface RecognitionNet {
  params: RecognitionParams | undefined;
  computeFaceDescriptor(input: Tensor): Promise<Float32Array | Float32Array[]>;
}

export type RecognizerResult =
  { session: NativeSession; maxDifference: number } | { session: null; reason: string };

/**
 * Builds and loads the ONNX recognition net, then checks it against face-api on a probe face:
 * descriptors must agree to 1e-4 (identity compares them by cosine distance, ~0.1 apart between
 * people), or the net stays on TensorFlow.js.
 */
export async function loadNativeRecognizer(
  tf: typeof TfCore,
  ort: NativeRuntime,
  net: RecognitionNet,
): Promise<RecognizerResult> {
  if (!net.params) return { session: null, reason: 'face-api recognition net not loaded' };
  let session: NativeSession;
  try {
    session = await ort.load(recognitionGraph(net.params), 'input', ['descriptor']);
  } catch (error) {
    return {
      session: null,
      reason: error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error),
    };
  }
  const dims = [1, recognitionInputSide, recognitionInputSide, 3];
  const probe = Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => (i * 7919) % 256);
  let reference: Float32Array | undefined;
  let actual: Float32Array | undefined;
  try {
    const input = tf.tensor(probe, dims);
    const expected = await net.computeFaceDescriptor(input);
    input.dispose();
    reference = Array.isArray(expected) ? expected[0] : expected;
    actual = session.run(probe, dims)[0]?.data;
  } catch (error) {
    // A failed check keeps the net on TensorFlow.js: analysis must still load.
    session.dispose();
    return {
      session: null,
      reason: `the check failed: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  let maxDifference = Infinity;
  if (reference && actual && actual.length === reference.length) {
    maxDifference = 0;
    for (let i = 0; i < actual.length; i++) {
      maxDifference = Math.max(maxDifference, Math.abs((actual[i] ?? 0) - (reference[i] ?? 0)));
    }
  }
  if (!(maxDifference <= 1e-4)) {
    session.dispose();
    return { session: null, reason: `descriptors differ by ${maxDifference.toPrecision(2)}` };
  }
  return { session, maxDifference: Number(maxDifference.toPrecision(2)) };
}
