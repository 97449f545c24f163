/**
 * Where the test data (../shared/testdata in a checkout beside the shared folder) is found:
 * `VIGIL_TESTDATA`, else `../shared/testdata` beside the project, else the cache that
 * `npm run testdata` fills (`~/.cache/vigil/testdata`, or `$XDG_CACHE_HOME/vigil/testdata`).
 * The first that exists wins; when none does, the cache path is returned so messages name it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packageRoot } from '../shared/index.js';

export function testdataCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const cache = env.XDG_CACHE_HOME || path.join(env.HOME || os.homedir(), '.cache');
  return path.join(cache, 'vigil', 'testdata');
}

export function testdataCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  return [
    ...(env.VIGIL_TESTDATA ? [path.resolve(env.VIGIL_TESTDATA)] : []),
    path.join(packageRoot(), '..', 'shared', 'testdata'),
    testdataCacheDir(env),
  ];
}

/** The first candidate folder that exists, or undefined. */
export function findTestdata(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return testdataCandidates(env).find((dir) => fs.existsSync(dir));
}

/** The command that provides the data when it is missing. */
export const testdataHelp =
  'run `npm run testdata` (downloads each file listed in the manifest.csv files and checks its sha256 into ~/.cache/vigil/testdata), put ../shared/testdata beside the project, or set VIGIL_TESTDATA';
