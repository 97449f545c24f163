import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findTestdata, testdataCandidates, testdataHelp } from '../../server/doctor/testdata-location.js';
import { toolFfmpeg } from '../../server/sampler/index.js';

/**
 * The test data folder: VIGIL_TESTDATA, else ../shared/testdata beside the project, else the
 * cache `npm run testdata` fills (~/.cache/vigil/testdata). When none exists this is the last
 * candidate, so a missing file's message names it and the command that provides it.
 */
export const testdataDir = findTestdata() ?? testdataCandidates().at(-1)!;

/** The path of a test data file; throws a clear error, naming the command that provides it. */
export function testdata(relative: string): string {
  const file = path.join(testdataDir, relative);
  if (!fs.existsSync(file)) {
    throw new Error(
      `test data missing: ${file} (looked in ${testdataCandidates().join(', ')}). To get it: ${testdataHelp}`,
    );
  }
  return file;
}

/** The ffmpeg for making fixtures (system, else the packaged one: file work needs no RTP input). */
export const ffmpeg = toolFfmpeg();

const fixturesDir = path.resolve(import.meta.dirname, '../fixtures');

/**
 * Committed sounds (made once by scripts/make-audio-fixtures.sh with espeak-ng and sox, 16 kHz
 * mono): `speech` ~5 s of talking, `speech-short` one sentence, `noise` 2 s of white noise.
 */
export function audioFixture(name: 'speech' | 'speech-short' | 'noise'): string {
  return path.join(fixturesDir, 'audio', `${name}.wav`);
}

/** The samples of a 16-bit PCM WAV (the fixtures' format), without ffmpeg. */
export function wavSamples(file: string): Int16Array {
  const bytes = fs.readFileSync(file);
  let offset = 12;
  while (offset + 8 <= bytes.length) {
    const id = bytes.toString('ascii', offset, offset + 4);
    const size = bytes.readUInt32LE(offset + 4);
    // fmt: format 1 (PCM), 1 channel, 16 bits a sample.
    if (
      id === 'fmt ' &&
      (bytes.readUInt16LE(offset + 8) !== 1 ||
        bytes.readUInt16LE(offset + 10) !== 1 ||
        bytes.readUInt16LE(offset + 22) !== 16)
    ) {
      throw new Error(`${file}: not 16-bit mono PCM`);
    }
    if (id === 'data') {
      const data = bytes.subarray(offset + 8, offset + 8 + size);
      return new Int16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length));
    }
    offset += 8 + size + (size % 2);
  }
  throw new Error(`${file}: no data chunk`);
}

/** A mono 16-bit PCM WAV of `samples` at `rate`. */
export function writeWav(file: string, samples: Int16Array, rate: number): void {
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + samples.byteLength, 4);
  header.write('WAVEfmt ', 8, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(samples.byteLength, 40);
  fs.writeFileSync(
    file,
    Buffer.concat([header, Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength)]),
  );
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
 * A .y4m for Chromium's fake camera (which loops it), made with ffmpeg from a test clip:
 * optionally only frames `from`..`to`, scaled to `size`, at 15 fps.
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
      execFileSync(ffmpeg, [
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

/**
 * A .wav for Chromium's fake microphone (which loops it): talking (the committed speech
 * fixture; `speech` says what a test means, the sound is the fixture's) or silence (written here).
 */
export function fakeMicrophoneWav(kind: { speech: string } | { silenceSeconds: number }): string {
  if ('speech' in kind) return audioFixture('speech');
  return cached(`silence-wav:${kind.silenceSeconds}`, 'wav', (output) => {
    writeWav(output, new Int16Array(Math.round(48_000 * kind.silenceSeconds)), 48_000);
  });
}
