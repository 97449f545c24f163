import fs from 'node:fs';
import path from 'node:path';
import type { Tensor4D } from '@tensorflow/tfjs-core';
import type { Result } from '@vladmandic/human';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../../server/analysis/index.js';
import { defaultManifestPath, readManifest, verifyModels } from '../../server/analysis/manifest.js';
import { convertGraphModel, UnsupportedGraphError } from '../../server/analysis/onnx/convert.js';
import { loadNativeRecognizer, type RecognitionNet } from '../../server/analysis/onnx/face-recognition.js';
import { moveToOnnxRuntime, type ConvertibleModel } from '../../server/analysis/onnx/graph-model.js';
import { loadNativeRuntime, type NativeRuntime } from '../../server/analysis/onnx/native.js';
import { encodeModel, onnxType } from '../../server/analysis/onnx/proto.js';
import { loadRuntime, type Runtime } from '../../server/analysis/runtime.js';
import type { RgbImage } from '../../server/analysis/types.js';
import { SileroVad } from '../../server/analysis/vad.js';
import { audioFixture, testdata, wavSamples } from '../support/testdata.js';

/**
 * The `onnx` backend: Human's graph models converted to ONNX and run by ONNX Runtime's native
 * CPU build must see what TensorFlow.js sees. Checked on real Foreman frames, model by model and
 * through Human's whole `detect()`, against the same models on wasm before the move.
 */
const settings = { manifestPath: defaultManifestPath(), maxFaces: 5, minFaceScore: 0.5, minObjectScore: 0.3 };
const faceModels = ['blazeface', 'facemesh', 'iris', 'antispoof', 'liveness'];

let runtime: Runtime;
let ort: NativeRuntime;
let frames: RgbImage[];

beforeAll(async () => {
  runtime = await loadRuntime({ ...settings, backend: 'wasm' });
  ort = loadNativeRuntime();
  // Foreman at the camera (000), turned away (168) and gone (250; the empty room).
  frames = await Promise.all(
    ['foreman_000.jpg', 'foreman_168.jpg', 'foreman_250.jpg'].map((name) =>
      decodeImage(fs.readFileSync(testdata(path.join('video/foreman_frames', name)))),
    ),
  );
}, 120_000);

afterAll(() => {
  runtime?.tf.disposeVariables();
});

function tensorOf(image: RgbImage): Tensor4D {
  const { tf } = runtime;
  return tf.tidy(() =>
    tf.cast(tf.tensor4d(image.data, [1, image.height, image.width, 3], 'int32'), 'float32'),
  );
}

function model(name: string): ConvertibleModel {
  const found = runtime.human.models.models[name] as unknown as ConvertibleModel | null;
  if (!found) throw new Error(`Human has no ${name}`);
  return found;
}

/** Human's whole pipeline on each frame: faces with mesh, iris, anti-spoofing, liveness, objects. */
async function detectAll(): Promise<Result[]> {
  const results: Result[] = [];
  for (const frame of frames) {
    const input = tensorOf(frame);
    results.push(
      await runtime.human.detect(input, {
        face: {
          enabled: true,
          iris: { enabled: true },
          antispoof: { enabled: true },
          liveness: { enabled: true },
        },
        object: { enabled: true },
      }),
    );
    input.dispose();
  }
  return results;
}

/** Each model's raw outputs on real inputs: every frame resized to the model's input. */
function rawOutputs(names: readonly string[]): Map<string, Float32Array[]> {
  const { tf } = runtime;
  const outputs = new Map<string, Float32Array[]>();
  for (const name of names) {
    const graph = model(name);
    const [, height = 1, width = 1] = graph.inputs[0]?.shape ?? [];
    const values: Float32Array[] = [];
    for (const frame of frames) {
      tf.tidy(() => {
        const input = tf.div(tf.image.resizeBilinear(tensorOf(frame), [height, width]), 255);
        const result =
          name === 'centernet'
            ? graph.execute(input, ['tower_0/keypoints', 'tower_0/wh'])
            : graph.execute(input);
        for (const tensor of [result].flat()) values.push(tensor.dataSync() as Float32Array);
      });
    }
    outputs.set(name, values);
  }
  return outputs;
}

function largestDifference(a: readonly Float32Array[], b: readonly Float32Array[]): number {
  expect(b.length).toBe(a.length);
  let largest = 0;
  a.forEach((values, index) => {
    const other = b[index]!;
    expect(other.length).toBe(values.length);
    for (let i = 0; i < values.length; i++) largest = Math.max(largest, Math.abs(values[i]! - other[i]!));
  });
  return largest;
}

describe('Human on ONNX Runtime (real Foreman frames)', () => {
  it('moves every face model and the object model, with the same outputs and the same detections', async () => {
    const names = [...faceModels, 'centernet'];
    const before = rawOutputs(names);
    const detectedBefore = await detectAll();

    for (const name of names) {
      const result = await moveToOnnxRuntime(
        runtime.tf,
        ort,
        model(name),
        name === 'centernet' ? ['tower_0/keypoints', 'tower_0/wh'] : undefined,
      );
      expect(result, name).toMatchObject({ moved: true });
    }

    // The object model's moved part ends at its two heads: compare those (the rest is tfjs).
    const after = rawOutputs(names);
    for (const name of names) {
      // Mesh and detector outputs are pixel coordinates (up to ~256); the rest are scores.
      expect(largestDifference(before.get(name)!, after.get(name)!), name).toBeLessThan(0.02);
    }

    const detectedAfter = await detectAll();
    detectedBefore.forEach((was, index) => {
      const now = detectedAfter[index]!;
      expect(now.face.length, `faces on frame ${index}`).toBe(was.face.length);
      was.face.forEach((face, f) => {
        const other = now.face[f]!;
        face.box.forEach((value, k) => expect(Math.abs(value - other.box[k]!)).toBeLessThan(1));
        expect(Math.abs(face.score - other.score)).toBeLessThan(0.01);
        expect(Math.abs((face.real ?? 0) - (other.real ?? 0))).toBeLessThan(0.01);
        expect(Math.abs((face.live ?? 0) - (other.live ?? 0))).toBeLessThan(0.01);
        face.mesh.forEach((point, p) => {
          const moved = other.mesh[p]!;
          expect(Math.hypot(point[0] - moved[0], point[1] - moved[1])).toBeLessThan(1);
        });
      });
      expect(now.object.map((object) => object.label)).toEqual(was.object.map((object) => object.label));
    });
    // Foreman is on the first frame: the comparison above compared something.
    expect(detectedBefore[0]!.face.length).toBe(1);
    expect(detectedBefore[0]!.face[0]!.mesh.length).toBeGreaterThan(400);
    expect(detectedBefore[2]!.face.length).toBe(0);
  }, 180_000);

  it('keeps a model on TensorFlow.js when the converted one would answer differently', async () => {
    // The quick Human's mesh, with one weight changed on its way to the converter only.
    const mesh = runtime.quick.models.models.facemesh as unknown as ConvertibleModel;
    const [name, tensors] = Object.entries(mesh.weights).find(([, list]) => list[0]?.shape.length === 4)!;
    const altered = runtime.tf.mul(tensors[0]!, 1.5);
    const tampered = Object.create(mesh, {
      weights: { get: () => ({ ...mesh.weights, [name]: [altered] }) },
    }) as ConvertibleModel;

    const result = await moveToOnnxRuntime(runtime.tf, ort, tampered);

    expect(result.moved).toBe(false);
    expect(result.moved ? '' : result.reason).toMatch(/outputs differ/);
    // Its own execute() was never replaced.
    expect(Object.hasOwn(tampered, 'execute')).toBe(false);
    altered.dispose();
  });
});

describe('a model whose check throws', () => {
  it('stays on TensorFlow.js, with the reason, instead of failing the load', async () => {
    const mesh = runtime.quick.models.models.iris as unknown as ConvertibleModel;
    const broken = Object.create(mesh, {
      execute: {
        value: () => {
          throw new Error('backend lost');
        },
      },
    }) as ConvertibleModel;

    const result = await moveToOnnxRuntime(runtime.tf, ort, broken);

    expect(result).toEqual({ moved: false, reason: 'the check failed: backend lost' });
  });
});

describe("face-api's recognition net on ONNX Runtime (real Foreman frames)", () => {
  it('gives the descriptors face-api gives, to 1e-4', async () => {
    const { tf, faceapi } = runtime;
    const net = faceapi.nets.faceRecognitionNet as unknown as RecognitionNet;
    const loaded = await loadNativeRecognizer(tf, ort, net);
    if (!loaded.session) throw new Error(`not loaded: ${loaded.reason}`);
    for (const frame of frames) {
      // The frame's centre square at the net's input size, 0..255 as the engine hands it over.
      const face = tf.tidy(() => {
        const side = Math.min(frame.width, frame.height);
        const square = tf.slice(
          tensorOf(frame),
          [0, 0, Math.floor((frame.width - side) / 2), 0],
          [1, side, side, 3],
        );
        return tf.image.resizeBilinear(square, [150, 150]);
      });
      const expected = (await net.computeFaceDescriptor(face)) as Float32Array;
      const actual = loaded.session.run(face.dataSync() as Float32Array, face.shape)[0]!;
      face.dispose();
      expect(actual.dims).toEqual([1, 128]);
      expect(largestDifference([expected], [actual.data])).toBeLessThan(1e-4);
    }
    loaded.session.dispose();
  });
});

describe('the Silero VAD on the native build', () => {
  it('hears the speech fixture as the WebAssembly build does, chunk by chunk', async () => {
    const files = verifyModels(readManifest(defaultManifestPath()), (id) => id.includes('silero'));
    const model = [...files.values()][0];
    if (!model) throw new Error('the VAD model is missing from the manifest');
    const web = await SileroVad.create(model, 'web');
    const native = await SileroVad.create(model, 'native');
    const speech = wavSamples(audioFixture('speech'));
    const noise = wavSamples(audioFixture('noise'));
    const heard: number[] = [];
    // Half-second chunks, as the sampler sends them; the state carries over within each stream.
    for (const [name, samples] of [
      ['speech', speech],
      ['noise', noise],
    ] as const) {
      for (let offset = 0; offset + 8000 <= samples.length; offset += 8000) {
        const chunk = samples.subarray(offset, offset + 8000);
        const a = await web.process(name, chunk, false);
        const b = await native.process(name, chunk, false);
        expect(b.frames).toBe(a.frames);
        expect(Math.abs(b.speechProbability - a.speechProbability)).toBeLessThan(1e-3);
        expect(b.speechRatio).toBeCloseTo(a.speechRatio, 6);
        if (name === 'speech') heard.push(b.speechProbability);
      }
    }
    // The comparison covered speech, not only silence.
    expect(Math.max(...heard)).toBeGreaterThan(0.8);
  });
});

describe('the TensorFlow.js-to-ONNX converter', () => {
  it('names the op it cannot convert', () => {
    const nodes = [
      {
        name: 'x',
        op: 'Placeholder',
        attr: { shape: { shape: { dim: [{ size: 1 }, { size: 4 }, { size: 4 }, { size: 3 }] } } },
      },
      { name: 'y', op: 'Erf', input: ['x'] },
    ];
    expect(() => convertGraphModel(nodes, new Map(), ['y'])).toThrow(UnsupportedGraphError);
    expect(() => convertGraphModel(nodes, new Map(), ['y'])).toThrow(/y: op Erf/);
  });

  it('writes models ONNX Runtime loads and runs, negative attributes included', async () => {
    // Softmax over axis -1 (a ten-byte varint) of a 2x3 input.
    const bytes = encodeModel({
      name: 'softmax',
      nodes: [
        {
          op: 'Softmax',
          name: 's',
          inputs: ['x'],
          outputs: ['y'],
          attributes: [{ name: 'axis', kind: 'int', value: -1 }],
        },
      ],
      initializers: [],
      inputs: [{ name: 'x', type: onnxType.float, shape: [2, 3] }],
      outputs: [{ name: 'y', type: onnxType.float, shape: null }],
    });
    const session = await ort.load(bytes, 'x', ['y']);
    const [out] = session.run(Float32Array.of(0, 0, 0, 1, 2, 3), [2, 3]);
    session.dispose();
    expect(out!.dims).toEqual([2, 3]);
    const row = (values: number[]) =>
      values.map((v) => Math.exp(v) / values.reduce((s, w) => s + Math.exp(w), 0));
    [...row([0, 0, 0]), ...row([1, 2, 3])].forEach((value, index) =>
      expect(out!.data[index]).toBeCloseTo(value, 6),
    );
  });
});
