/**
 * `vigil doctor [--json]`: what this machine gives Vigil — Node.js, the database, Redis, ffmpeg,
 * the mediasoup worker, the analysis backend and its cost a frame, the RTC ports, DATA_DIR —
 * each with pass / warn / fail and the fix. Exits 1 when anything fails.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadConfig } from '../config/index.js';
import { packageRoot } from '../shared/index.js';
import {
  checkAnalysis,
  checkDataDir,
  checkDatabase,
  checkFfmpeg,
  checkMediasoupWorker,
  checkNode,
  checkRedis,
  checkRtcPorts,
  type CheckResult,
} from './checks.js';
import { findTestdata } from './testdata-location.js';

export type { CheckResult, CheckStatus } from './checks.js';
export { findTestdata, testdataHelp } from './testdata-location.js';

/** A real face for the analysis timing when the test data is around; a blank frame otherwise. */
function testImage(): string | undefined {
  const testdata = findTestdata();
  const file = testdata && path.join(testdata, 'video', 'foreman_frames', 'foreman_000.jpg');
  return file && fs.existsSync(file) ? file : undefined;
}

export async function runDoctor(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const results: CheckResult[] = [checkNode()];
  let config;
  try {
    config = loadConfig();
    results.push({ name: 'config', status: 'pass', detail: 'environment parses' });
  } catch (error) {
    results.push({
      name: 'config',
      status: 'fail',
      detail: error instanceof Error ? error.message : String(error),
      fix: 'fix the variable it names (README, "Configuration")',
    });
  }
  if (config) {
    // From the package root, not relative to this file: built, this file is in dist/, infra/ is not.
    const workerBinUrl = pathToFileURL(path.join(packageRoot(), 'infra', 'mediasoup', 'worker-bin.mjs')).href;
    const workerBin = (await import(workerBinUrl)) as Parameters<typeof checkMediasoupWorker>[0];
    results.push(
      await checkDatabase(config),
      await checkRedis(config),
      await checkFfmpeg(process.env),
      await checkMediasoupWorker(workerBin),
      await checkAnalysis(config, testImage()),
      await checkRtcPorts(config),
      checkDataDir(config.dataDir),
    );
  }
  if (json) {
    console.log(JSON.stringify({ ok: results.every((r) => r.status !== 'fail'), checks: results }));
  } else {
    for (const result of results) {
      console.log(`${result.status.toUpperCase().padEnd(4)}  ${result.name.padEnd(10)}  ${result.detail}`);
      if (result.fix) console.log(`${' '.repeat(18)}fix: ${result.fix}`);
    }
    const failed = results.filter((r) => r.status === 'fail').length;
    const warned = results.filter((r) => r.status === 'warn').length;
    console.log(`\n${failed} failed, ${warned} warnings, ${results.length - failed - warned} passed`);
  }
  return results.some((r) => r.status === 'fail') ? 1 : 0;
}
