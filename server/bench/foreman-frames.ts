/**
 * Foreman's frames (one face, moving) from the test data, decoded: the real pictures the
 * per-model benchmarks feed. `--testdata DIR` first, then where the doctor looks.
 */
import fs from 'node:fs';
import path from 'node:path';
import { decodeImage, type RgbImage } from '../analysis/index.js';
import { findTestdata, testdataHelp } from '../doctor/index.js';
import { option } from './args.js';

/** The first `count` frames, or a message saying why there are none. */
export async function foremanFrames(
  argv: string[],
  count: number,
): Promise<{ images: RgbImage[] } | { error: string }> {
  const given = option(argv, 'testdata');
  const testdata = given ? path.resolve(given) : findTestdata();
  const framesDir = testdata && path.join(testdata, 'video', 'foreman_frames');
  if (!framesDir || !fs.existsSync(framesDir)) {
    return { error: `no Foreman frames in ${framesDir ?? 'the test data'}: ${testdataHelp}` };
  }
  const files = fs
    .readdirSync(framesDir)
    .filter((name) => name.endsWith('.jpg'))
    .sort()
    .slice(0, count);
  const images = await Promise.all(
    files.map((name) => decodeImage(fs.readFileSync(path.join(framesDir, name)))),
  );
  return { images };
}
