import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** ../shared/testdata beside the project root (CONTRACT: tests read it from there, never copy it). */
export const testdataDir = path.resolve(import.meta.dirname, '../../../shared/testdata');

/** The path of a test data file; throws a clear error when the shared folder is missing. */
export function testdata(relative: string): string {
  const file = path.join(testdataDir, relative);
  if (!fs.existsSync(file)) {
    throw new Error(
      `test data missing: ${file}. The suites need ../shared/testdata beside the project (see README).`,
    );
  }
  return file;
}

const cacheDir = path.join(os.tmpdir(), 'vigil-test-fixtures');

/** Runs `make(output)` once per `key` and caches the result outside the repo. */
function cached(key: string, extension: string, make: (output: string) => void): string {
  fs.mkdirSync(cacheDir, { recursive: true });
  const output = path.join(
    cacheDir,
    `${createHash('sha256').update(key).digest('hex').slice(0, 16)}.${extension}`,
  );
  if (!fs.existsSync(output)) {
    const partial = `${output}.${process.pid}.partial.${extension}`;
    make(partial);
    fs.renameSync(partial, output);
  }
  return output;
}

/**
 * A .y4m for Chromium's fake camera (which loops it), made with Debian's ffmpeg from a test
 * clip: optionally only frames `from`..`to`, scaled to `size`, at 15 fps.
 */
export function fakeCameraY4m(
  clip: string,
  options: { seconds?: number; size?: string; from?: number; to?: number; filter?: string } = {},
): string {
  const source = testdata(clip);
  const { seconds = 20, size = '352x288', from, to, filter } = options;
  const trim =
    from !== undefined || to !== undefined
      ? `select='between(n,${from ?? 0},${to ?? 1e9})',setpts=N/15/TB,`
      : '';
  const loop = trim ? [] : ['-stream_loop', '-1'];
  const duration = trim ? [] : ['-t', String(seconds)];
  return cached(
    `y4m:${source}:${fs.statSync(source).size}:${seconds}:${size}:${from}:${to}:${filter}`,
    'y4m',
    (output) => {
      execFileSync('ffmpeg', [
        '-loglevel',
        'error',
        '-y',
        ...loop,
        '-i',
        source,
        ...duration,
        '-vf',
        `${trim}scale=${size},fps=15${filter ? `,${filter}` : ''}`,
        '-pix_fmt',
        'yuv420p',
        output,
      ]);
    },
  );
}

/** A .wav for Chromium's fake microphone: spoken text (espeak-ng) or silence. */
export function fakeMicrophoneWav(kind: { speech: string } | { silenceSeconds: number }): string {
  if ('speech' in kind) {
    return cached(`speech:${kind.speech}`, 'wav', (output) => {
      execFileSync('espeak-ng', ['-w', output, kind.speech]);
    });
  }
  return cached(`silence:${kind.silenceSeconds}`, 'wav', (output) => {
    execFileSync('ffmpeg', [
      '-loglevel',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      `anullsrc=r=48000:cl=mono`,
      '-t',
      String(kind.silenceSeconds),
      output,
    ]);
  });
}
