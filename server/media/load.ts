import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as mediasoupModule from 'mediasoup';
import { packageRoot } from '../shared/index.js';

type Mediasoup = typeof mediasoupModule;
let loading: Promise<Mediasoup> | undefined;

/**
 * Imports mediasoup once, after pointing MEDIASOUP_WORKER_BIN at a worker binary that runs
 * here: the package's own (prebuilt download) or the offline build cached by
 * infra/mediasoup/build-worker.sh. mediasoup reads the variable when first imported.
 */
export function loadMediasoup(): Promise<Mediasoup> {
  loading ??= (async () => {
    const helper = pathToFileURL(path.join(packageRoot(), 'infra/mediasoup/worker-bin.mjs')).href;
    const { ensureWorkerBinEnv } = (await import(helper)) as { ensureWorkerBinEnv: () => string };
    ensureWorkerBinEnv();
    return import('mediasoup');
  })();
  return loading;
}
