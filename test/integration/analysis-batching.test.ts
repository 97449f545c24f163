import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeImage, measureBatching } from '../../server/analysis/index.js';
import { testdata } from '../support/testdata.js';

/**
 * `vigil bench batch`'s measurement, run small on real frames: what it reports is only worth
 * reading if a batch gives each input the output it gets alone. No timing is asserted here; the
 * bench reports it.
 */
describe('batching the per-face models (wasm, real Foreman frames)', () => {
  it('gives every input the same outputs in a batch as alone, and reports each model and size', async () => {
    const dir = path.dirname(testdata('video/foreman_frames/foreman_000.jpg'));
    const names = fs
      .readdirSync(dir)
      .filter((name) => name.endsWith('.jpg'))
      .sort()
      .slice(0, 3);
    const images = await Promise.all(names.map((name) => decodeImage(fs.readFileSync(path.join(dir, name)))));
    const report = await measureBatching({ images, sizes: [3], inputsPerSize: 3, backend: 'wasm' });

    expect(report.backend).toBe('wasm');
    const seen = report.rows.map((row) => `${row.model}@${row.side}x${row.batch}`);
    expect(seen).toEqual([
      'human/facemesh@192x1',
      'human/facemesh@192x3',
      'human/iris@64x1',
      'human/iris@64x3',
      'face-api/recognition@150x1',
      'face-api/recognition@150x3',
    ]);
    for (const row of report.rows) {
      // Float32 kernels may sum in another order in a batch; anything beyond rounding is a bug.
      expect(row.maxDifference, row.model).toBeLessThan(1e-3);
      expect(row.cpuMsPerInput, row.model).toBeGreaterThan(0);
      if (row.batch === 1) expect(row.ratio).toBe(1);
    }
    // The detectors' graphs take one image: listed with their input shape, not measured.
    expect(report.fixedBatch).toEqual([
      { model: 'human/blazeface (full range)', inputShape: [1, 256, 256, 3] },
      { model: 'blazeface-front (short range)', inputShape: [1, 128, 128, 3] },
    ]);
  }, 120_000);
});
