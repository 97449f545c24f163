/**
 * Entry point of one analysis worker thread. It loads its own TensorFlow.js, Human, face-api and
 * VAD (each thread is a separate JS realm), says `ready` or `failed`, then answers requests one
 * at a time in arrival order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { WorkerMessage, WorkerRequest, WorkerSettings } from './protocol.js';
import { loadRuntime, type Runtime } from './runtime.js';
import { analyseFrame, analyseReference } from './vision.js';

const port = parentPort;
if (!port) throw new Error('server/analysis/worker runs as a worker thread only');
// Built by the engine that started this thread, not by a client.
const settings = workerData as WorkerSettings;

function post(message: WorkerMessage): void {
  port?.postMessage(message);
}

async function handle(runtime: Runtime, request: WorkerRequest): Promise<WorkerMessage> {
  switch (request.type) {
    case 'frame':
      return {
        type: 'reply',
        id: request.id,
        ok: true,
        value: await analyseFrame(runtime, request.image, request),
      };
    case 'reference':
      return {
        type: 'reply',
        id: request.id,
        ok: true,
        value: await analyseReference(runtime, request.image),
      };
    case 'audio': {
      const started = performance.now();
      const result = await runtime.vad.process(request.streamId, request.samples, request.discontinuity);
      return {
        type: 'reply',
        id: request.id,
        ok: true,
        value: { ...result, vadMs: performance.now() - started },
      };
    }
    case 'forget':
      runtime.vad.forget(request.streamId);
      return { type: 'reply', id: request.id, ok: true, value: null };
    default: {
      const unknown: never = request;
      throw new Error(`unknown request ${JSON.stringify(unknown)}`);
    }
  }
}

let runtime: Runtime;
try {
  runtime = await loadRuntime(settings);
} catch (error) {
  post({ type: 'failed', message: error instanceof Error ? error.message : String(error), tried: [] });
  // Nothing else is pending; ending the thread tells the engine as well.
  process.exit(1);
}
// The first inference compiles every kernel (~0.5 s); pay it now, not on a candidate's frame.
await analyseFrame(
  runtime,
  { width: 320, height: 240, data: new Uint8Array(320 * 240 * 3).fill(96) },
  { objects: true, identity: false, antispoof: true },
);
post({
  type: 'ready',
  backend: runtime.backend,
  tried: runtime.tried,
  versions: runtime.versions,
  loadMs: Number(runtime.versions.loadMs),
});

let queue = Promise.resolve();
port.on('message', (request: WorkerRequest) => {
  queue = queue.then(async () => {
    try {
      post(await handle(runtime, request));
    } catch (error) {
      post({
        type: 'reply',
        id: request.id,
        ok: false,
        message: error instanceof Error ? error.message : String(error),
      });
    }
  });
});
