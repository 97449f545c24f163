import type { VerifiedFiles } from './manifest.js';

/**
 * A private URL prefix for model files. Human's node-wasm build and face-api fetch models by
 * URL, and Node's fetch has no `file:` scheme, so the worker answers this prefix itself from the
 * verified bytes. `.invalid` can never resolve, so nothing leaves the machine even if this
 * handler were missing.
 */
export const modelUrlPrefix = 'http://models.vigil.invalid/';

export function modelUrl(packageName: string, relativePath: string): string {
  return `${modelUrlPrefix}${packageName}/${relativePath}`;
}

/**
 * Replaces `globalThis.fetch` in this worker thread: URLs under `modelUrlPrefix` are served from
 * `files`, everything else goes to the original fetch. Returns a function that restores it.
 */
export function serveModels(files: VerifiedFiles): () => void {
  const original = globalThis.fetch;
  const served: typeof fetch = async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (!url.startsWith(modelUrlPrefix)) return original(input, init);
    const key = decodeURIComponent(url.slice(modelUrlPrefix.length).split(/[?#]/)[0] ?? '');
    const bytes = files.get(key);
    if (!bytes) {
      // Only files listed (and verified) in models/manifest.json can be loaded.
      return new Response(`not in models/manifest.json: ${key}`, { status: 404, statusText: 'Not Found' });
    }
    return new Response(new Uint8Array(bytes), {
      status: 200,
      headers: { 'content-type': key.endsWith('.json') ? 'application/json' : 'application/octet-stream' },
    });
  };
  globalThis.fetch = served;
  return () => {
    if (globalThis.fetch === served) globalThis.fetch = original;
  };
}
