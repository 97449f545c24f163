#!/usr/bin/env node
// Vigil root "postinstall": make sure the installed mediasoup package has a
// working worker at node_modules/mediasoup/worker/out/Release/mediasoup-worker,
// so `createWorker()` works with no extra configuration.
//
// package.json denies mediasoup's own install script ("allowScripts":
// {"mediasoup": false}) because offline it fails the whole `npm install`
// (GitHub download, then an upstream build that needs GitHub and PyPI).
// This hook does the same job, in order:
//   1. MEDIASOUP_WORKER_BIN set                -> nothing to do (as upstream)
//   2. package already has a working worker    -> nothing to do (npm versions
//      without allowScripts still run mediasoup's postinstall)
//   3. offline build cached for this version   -> copy it into the package
//   4. GitHub reachable                        -> run mediasoup's own postinstall
//      (prebuilt download, upstream build as its fallback)
//   5. Debian/Ubuntu                           -> build-worker.sh, copy result in
// Env: VIGIL_SKIP_MEDIASOUP_WORKER=1 (skip entirely), VIGIL_MEDIASOUP_OFFLINE=1
// (skip step 4), VIGIL_MEDIASOUP_REBUILD=1 (ignore cache and rebuild offline).
import { chmodSync, copyFileSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  cachedWorkerPath,
  mediasoupPackageDir,
  mediasoupVersion,
  packageWorkerPath,
  workerRuns,
} from './worker-bin.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const log = (msg) => console.log(`[vigil ensure-worker] ${msg}`);
const fail = (msg) => {
  console.error(`[vigil ensure-worker] ERROR: ${msg}`);
  console.error(
    '[vigil ensure-worker] Fix the above, or set MEDIASOUP_WORKER_BIN to a worker binary, ' +
      'or set VIGIL_SKIP_MEDIASOUP_WORKER=1 to install without a media worker.',
  );
  process.exit(1);
};

function installInto(target, source) {
  mkdirSync(dirname(target), { recursive: true });
  const tmp = `${target}.tmp-${process.pid}`;
  copyFileSync(source, tmp);
  chmodSync(tmp, 0o755);
  renameSync(tmp, target);
  if (!workerRuns(target)) {
    rmSync(target, { force: true });
    fail(`${source} copied to ${target} but does not start on this host`);
  }
  log(`installed ${source} -> ${target}`);
}

async function reachable(url) {
  try {
    await fetch(url, { method: 'HEAD', redirect: 'manual', signal: AbortSignal.timeout(5000) });
    return true; // any HTTP answer will do
  } catch {
    return false;
  }
}

async function main() {
  if (process.env.VIGIL_SKIP_MEDIASOUP_WORKER) {
    log('VIGIL_SKIP_MEDIASOUP_WORKER set, skipping');
    return;
  }
  const pkgDir = mediasoupPackageDir();
  if (!pkgDir) {
    log('mediasoup is not installed, nothing to do');
    return;
  }
  const version = mediasoupVersion(pkgDir);
  const target = packageWorkerPath(pkgDir);
  const rebuild = process.env.VIGIL_MEDIASOUP_REBUILD === '1';

  if (process.env.MEDIASOUP_WORKER_BIN) {
    const bin = process.env.MEDIASOUP_WORKER_BIN;
    if (workerRuns(bin)) log(`MEDIASOUP_WORKER_BIN=${bin} given, nothing to do`);
    else
      console.warn(`[vigil ensure-worker] WARNING: MEDIASOUP_WORKER_BIN=${bin} does not start on this host`);
    return;
  }
  if (!rebuild && workerRuns(target)) {
    log(`mediasoup ${version} worker present: ${target}`);
    return;
  }
  const cached = cachedWorkerPath(version);
  if (!rebuild && workerRuns(cached)) {
    installInto(target, cached);
    return;
  }

  // Online: let mediasoup do what it would do without our allowScripts denial.
  if (!rebuild && process.env.VIGIL_MEDIASOUP_OFFLINE !== '1') {
    const base = process.env.MEDIASOUP_WORKER_PREBUILT_DOWNLOAD_BASE_URL || 'https://github.com';
    if (await reachable(new URL(base).origin)) {
      log(`running mediasoup ${version}'s own postinstall (prebuilt worker download)`);
      const r = spawnSync(process.execPath, ['npm-scripts.mjs', 'postinstall'], {
        cwd: pkgDir,
        stdio: 'inherit',
      });
      if (r.status === 0 && workerRuns(target)) return;
      log("mediasoup's own postinstall did not produce a worker; falling back to the offline build");
    } else {
      log(`${new URL(base).host} unreachable; building the worker offline`);
    }
  }

  if (process.platform !== 'linux' || !existsSync('/etc/debian_version')) {
    fail(`no mediasoup-worker for ${process.platform}: the offline build only supports Debian/Ubuntu`);
  }
  const script = join(HERE, 'build-worker.sh');
  const r = spawnSync('bash', [script, ...(rebuild ? ['--force'] : [])], {
    env: { ...process.env, MS_VERSION: version },
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  if (r.status !== 0) fail(`${script} failed (exit ${r.status ?? r.signal})`);
  const built = r.stdout.trim().split('\n').pop();
  installInto(target, built);
}

await main();
