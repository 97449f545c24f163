// Vigil: locate the mediasoup-worker binary (plain JS so it also runs before
// TypeScript is compiled; shared by ensure-worker.mjs and the server).
//
// mediasoup reads MEDIASOUP_WORKER_BIN once, when its module is first loaded,
// so the server must call ensureWorkerBinEnv() BEFORE anything imports
// 'mediasoup' (in ESM: from a module imported earlier, or before a dynamic
// `await import('mediasoup')`).
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const require = createRequire(import.meta.url);

/** Directory of the installed mediasoup package, or null if not installed. */
export function mediasoupPackageDir() {
  try {
    // "exports" hides package.json; the entry point is <pkg>/node/lib/index.js.
    return resolve(dirname(require.resolve('mediasoup')), '..', '..');
  } catch {
    return null;
  }
}

/** Version of the installed mediasoup package, or null. */
export function mediasoupVersion(pkgDir = mediasoupPackageDir()) {
  if (!pkgDir) return null;
  return JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).version;
}

/** Where mediasoup itself looks when MEDIASOUP_WORKER_BIN is unset. */
export function packageWorkerPath(pkgDir = mediasoupPackageDir()) {
  return pkgDir ? join(pkgDir, 'worker', 'out', 'Release', 'mediasoup-worker') : null;
}

/** e.g. "debian12"; must match the key computed by build-worker.sh. */
export function distroKey() {
  let text;
  try {
    text = readFileSync('/etc/os-release', 'utf8');
  } catch {
    return null;
  }
  const vars = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) vars[m[1]] = m[2].replace(/^(["'])(.*)\1$/, '$2');
  }
  return `${vars.ID || 'linux'}${vars.VERSION_ID || vars.VERSION_CODENAME || 'unknown'}`;
}

/** Cache directory used by build-worker.sh. */
export function workerCacheDir() {
  return join(process.env.VIGIL_CACHE_DIR || join(homedir(), '.cache', 'vigil'), 'mediasoup');
}

/** Cached offline build for this mediasoup version and distro, or null. */
export function cachedWorkerPath(version = mediasoupVersion()) {
  const distro = distroKey();
  if (!version || !distro) return null;
  return join(workerCacheDir(), `mediasoup-worker-${version}-${distro}`);
}

function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * True if `bin` starts on this host. Run without MEDIASOUP_VERSION in its
 * environment, a healthy worker exits with status 41 (mediasoup's own check).
 */
export function workerRuns(bin) {
  if (!bin || !isExecutable(bin)) return false;
  const r = spawnSync(bin, [], { env: {}, stdio: 'ignore', timeout: 10_000 });
  return r.status === 41;
}

/**
 * Path of the worker binary the server should use:
 *   1. $MEDIASOUP_WORKER_BIN, if set;
 *   2. the package's own worker/out/Release/mediasoup-worker (download or
 *      ensure-worker.mjs put it there);
 *   3. the offline build cache ($VIGIL_CACHE_DIR/mediasoup/...).
 * Throws with remediation advice if none exists.
 */
export function resolveWorkerBin() {
  if (process.env.MEDIASOUP_WORKER_BIN) return process.env.MEDIASOUP_WORKER_BIN;
  const candidates = [packageWorkerPath(), cachedWorkerPath()].filter(Boolean);
  for (const file of candidates) {
    if (existsSync(file) && isExecutable(file)) return file;
  }
  throw new Error(
    'mediasoup-worker binary not found (looked at: ' +
      (candidates.join(', ') || 'no mediasoup package installed') +
      '). Run `npm install` (or `node infra/mediasoup/ensure-worker.mjs`), ' +
      'or set MEDIASOUP_WORKER_BIN.',
  );
}

/** Sets MEDIASOUP_WORKER_BIN (unless already set) and returns it. Call before importing mediasoup. */
export function ensureWorkerBinEnv() {
  const bin = resolveWorkerBin();
  process.env.MEDIASOUP_WORKER_BIN = bin;
  return bin;
}
