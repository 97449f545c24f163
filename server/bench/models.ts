/**
 * `vigil bench models [--json] [--calls 30] [--testdata DIR]`: each model Vigil runs, on
 * Foreman's frames, on TensorFlow.js (wasm) and then on ONNX Runtime's native build (the `onnx`
 * backend), in one thread and the same run: CPU per call, the ratio, and the largest difference
 * between the two runtimes' outputs.
 */
import { measureNativeSpeedup } from '../analysis/index.js';
import { flag, option } from './args.js';
import { foremanFrames } from './foreman-frames.js';

const frameCount = 8;

export async function runModelsBench(argv: string[]): Promise<number> {
  const json = flag(argv, 'json');
  const calls = Number(option(argv, 'calls') ?? 30);
  if (!Number.isInteger(calls) || calls < 1 || calls > 10_000) {
    console.error('vigil bench models: --calls takes a whole number from 1 to 10000');
    return 2;
  }
  const frames = await foremanFrames(argv, frameCount);
  if ('error' in frames) {
    console.error(`vigil bench models: ${frames.error}`);
    return 2;
  }
  const report = await measureNativeSpeedup(frames.images, calls);
  if (json) {
    console.log(JSON.stringify(report));
    return 0;
  }
  console.log(
    `one thread, ${calls} calls per model and runtime, Foreman frames; onnxruntime-node ${report.onnxruntime}`,
  );
  console.log('model                          side  wasm CPU ms  onnx CPU ms  onnx/wasm  max difference');
  for (const row of report.rows) {
    console.log(
      `${row.model.padEnd(30)} ${String(row.side).padStart(4)}  ${row.wasmCpuMs.toFixed(2).padStart(11)}  ` +
        `${row.onnxCpuMs.toFixed(2).padStart(11)}  ${row.ratio.toFixed(2).padStart(9)}  ${row.maxDifference}`,
    );
  }
  return 0;
}
