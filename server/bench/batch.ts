/**
 * `vigil bench batch [--json] [--sizes 1,2,4,8] [--inputs 32] [--testdata DIR]`: whether batching
 * pays on this machine's analysis backend. Each per-face model (Human's mesh and iris, face-api's
 * recognition net) runs on Foreman's frames N at a time against one at a time, in one thread;
 * it prints CPU time per input, its ratio to batch 1 measured in the same run, and the largest
 * difference between batched and single outputs. The face detectors' graphs fix their batch at
 * 1, so they are listed, not measured.
 */
import { measureBatching } from '../analysis/index.js';
import { flag, option } from './args.js';
import { foremanFrames } from './foreman-frames.js';

/** Frames of Foreman (one face, moving) used as inputs. */
const frameCount = 8;

export async function runBatchBench(argv: string[]): Promise<number> {
  const json = flag(argv, 'json');
  const sizes = (option(argv, 'sizes') ?? '1,2,4,8').split(',').map(Number);
  const inputs = Number(option(argv, 'inputs') ?? 32);
  if (sizes.some((size) => !Number.isInteger(size) || size < 1 || size > 64)) {
    console.error('vigil bench batch: --sizes takes whole numbers from 1 to 64, e.g. 1,2,4,8');
    return 2;
  }
  if (!Number.isInteger(inputs) || inputs < 1 || inputs > 10_000) {
    console.error('vigil bench batch: --inputs takes a whole number from 1 to 10000');
    return 2;
  }
  const frames = await foremanFrames(argv, frameCount);
  if ('error' in frames) {
    console.error(`vigil bench batch: ${frames.error}`);
    return 2;
  }
  const { images } = frames;
  const report = await measureBatching({ images, sizes, inputsPerSize: inputs });
  if (json) {
    console.log(JSON.stringify(report));
    return 0;
  }
  console.log(`backend ${report.backend}, one thread, ${inputs} inputs per size, Foreman frames`);
  console.log('model                  side  batch  ms/input  CPU ms/input  vs batch 1  max difference');
  for (const row of report.rows) {
    console.log(
      `${row.model.padEnd(22)} ${String(row.side).padStart(4)}  ${String(row.batch).padStart(5)}  ` +
        `${row.msPerInput.toFixed(2).padStart(8)}  ${row.cpuMsPerInput.toFixed(2).padStart(12)}  ` +
        `${row.ratio.toFixed(2).padStart(10)}  ${row.maxDifference}`,
    );
  }
  for (const fixed of report.fixedBatch) {
    console.log(`${fixed.model}: input [${fixed.inputShape.join(', ')}], batch fixed at 1 in the graph`);
  }
  return 0;
}
