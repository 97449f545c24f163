import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeImage, measureNativeSpeedup } from '../../server/analysis/index.js';
import { testdata } from '../support/testdata.js';

/**
 * `vigil bench models`' measurement, run small on real frames: every model is measured on both
 * runtimes and the outputs agree. No timing is asserted here; the bench reports it.
 */
describe('each model on wasm and on ONNX Runtime native (real Foreman frames)', () => {
  it('measures every model on both runtimes, with outputs that agree', async () => {
    const image = await decodeImage(
      fs.readFileSync(testdata(path.join('video/foreman_frames', 'foreman_000.jpg'))),
    );
    const report = await measureNativeSpeedup([image], 2);

    expect(report.onnxruntime).toMatch(/^\d+\.\d+\.\d+/);
    expect(report.rows.map((row) => `${row.model}@${row.side}`)).toEqual([
      'human/short-range blazeface@128',
      'human/blazeface@256',
      'human/facemesh@192',
      'human/iris@64',
      'human/antispoof@128',
      'human/liveness@32',
      'human/centernet@512',
      'face-api/recognition@150',
    ]);
    for (const row of report.rows) {
      expect(row.wasmCpuMs, row.model).toBeGreaterThan(0);
      expect(row.onnxCpuMs, row.model).toBeGreaterThan(0);
      // Detector and mesh outputs are pixel coordinates (up to ~256); the rest are scores.
      expect(row.maxDifference, row.model).toBeLessThan(0.02);
    }
  }, 180_000);
});
