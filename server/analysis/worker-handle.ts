/**
 * Main-thread side of one analysis worker: starts the thread, waits for `ready`, matches replies
 * to requests, and reports the thread's death once.
 */
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { WorkerMessage, WorkerReplies, WorkerRequest, WorkerSettings } from './protocol.js';
import type { AnalysisBackend } from './types.js';

type RequestType = WorkerRequest['type'];
export type RequestBody<K extends RequestType> = Omit<Extract<WorkerRequest, { type: K }>, 'id'>;

interface Waiting {
  resolve: (value: WorkerReplies[RequestType]) => void;
  reject: (error: Error) => void;
}

export interface WorkerInfo {
  backend: AnalysisBackend;
  tried: string[];
  versions: Record<string, string>;
  loadMs: number;
}

/** The worker's own entry: `worker.js` when built, `worker.ts` through tsx in tests and `npm run dev`. */
function spawn(settings: WorkerSettings): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL('./worker.js', here), { workerData: settings });
  // Node 20 does not run TypeScript and a worker does not inherit the parent's loader hooks:
  // register tsx inside the thread, then import the entry. tsx's ESM API file sits beside its
  // CommonJS one (which cannot register hooks from a worker).
  const tsxApi = createRequire(here)
    .resolve('tsx/esm/api')
    .replace(/\.cjs$/, '.mjs');
  const entry = new URL('./worker.ts', here).href;
  const code =
    `import(${JSON.stringify(pathToFileURL(tsxApi).href)})` +
    `.then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(code, { eval: true, workerData: settings });
}

export class AnalysisWorker extends EventEmitter<{ exit: [error: Error] }> {
  readonly info: WorkerInfo;
  readonly #worker: Worker;
  readonly #waiting = new Map<number, Waiting>();
  #nextId = 1;
  #gone: Error | null = null;

  private constructor(worker: Worker, info: WorkerInfo) {
    super();
    this.#worker = worker;
    this.info = info;
    worker.on('message', (message: WorkerMessage) => this.#onMessage(message));
    worker.on('error', (error) => this.#onGone(error));
    worker.on('exit', (code) => this.#onGone(new Error(`analysis worker exited with code ${code}`)));
  }

  /** Starts a thread and resolves once its models are loaded; rejects with the worker's reason. */
  static start(settings: WorkerSettings): Promise<AnalysisWorker> {
    return new Promise((resolve, reject) => {
      const worker = spawn(settings);
      // Only our own listeners come off: Worker keeps internal ones (port referencing) that
      // removeAllListeners() would break.
      const detach = () => {
        worker.off('error', onError);
        worker.off('exit', onExit);
        worker.off('message', onMessage);
      };
      const fail = (error: Error) => {
        detach();
        void worker.terminate();
        reject(error);
      };
      const onError = (error: Error) => fail(error);
      const onExit = (code: number) =>
        fail(new Error(`analysis worker exited with code ${code} while loading`));
      const onMessage = (message: WorkerMessage) => {
        if (message.type === 'failed') return fail(new Error(message.message));
        if (message.type !== 'ready')
          return fail(new Error(`analysis worker sent ${message.type} before ready`));
        detach();
        const { backend, tried, versions, loadMs } = message;
        resolve(new AnalysisWorker(worker, { backend, tried, versions, loadMs }));
      };
      worker.on('error', onError);
      worker.on('exit', onExit);
      worker.on('message', onMessage);
    });
  }

  get alive(): boolean {
    return this.#gone === null;
  }

  request<K extends RequestType>(
    type: K,
    body: Omit<RequestBody<K>, 'type'>,
    transfer: ArrayBuffer[] = [],
  ): Promise<WorkerReplies[K]> {
    if (this.#gone) return Promise.reject(this.#gone);
    const id = this.#nextId++;
    return new Promise<WorkerReplies[K]>((resolve, reject) => {
      // Replies are matched by id; the reply for a `type` request carries `WorkerReplies[type]`.
      this.#waiting.set(id, { resolve: resolve as Waiting['resolve'], reject });
      this.#worker.postMessage({ ...body, type, id }, transfer);
    });
  }

  async terminate(): Promise<void> {
    this.#onGone(new Error('analysis worker stopped'));
    await this.#worker.terminate();
  }

  #onMessage(message: WorkerMessage): void {
    if (message.type !== 'reply') return;
    const waiting = this.#waiting.get(message.id);
    if (!waiting) return;
    this.#waiting.delete(message.id);
    if (message.ok) waiting.resolve(message.value);
    else waiting.reject(new Error(message.message));
  }

  #onGone(error: Error): void {
    if (this.#gone) return;
    this.#gone = error;
    for (const waiting of this.#waiting.values()) waiting.reject(error);
    this.#waiting.clear();
    this.emit('exit', error);
  }
}
