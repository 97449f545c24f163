/**
 * `vigil bench <name>`: the project's benchmarks. Each prints its figures as ratios against a
 * baseline measured in the same run, because the machines it runs on are shared and noisy.
 */
const benchmarks: Record<string, { describe: string; run: (argv: string[]) => Promise<number> }> = {
  analysis: {
    describe:
      'whole server path (RTP in → sampler → workers → rules → proctor socket) vs the engine called directly',
    run: async (argv) => (await import('./analysis.js')).runAnalysisBench(argv),
  },
  load: {
    describe:
      'candidates one machine monitors within the objective (fps, p95 latency, scripted events), naive vs cascade',
    run: async (argv) => (await import('./load.js')).runLoadBench(argv),
  },
  dashboard: {
    describe:
      'live tiles one proctor dashboard tab holds: Chromium CPU and page fps at 12, 24, 48, 100 tiles',
    run: async (argv) => (await import('./dashboard.js')).runDashboardBench(argv),
  },
  batch: {
    describe:
      'per-face models (mesh, iris, recognition) N inputs per call against one: CPU per input, same outputs',
    run: async (argv) => (await import('./batch.js')).runBatchBench(argv),
  },
  models: {
    describe:
      'each model on TensorFlow.js (wasm) and on ONNX Runtime native (the onnx backend): CPU per call, same outputs',
    run: async (argv) => (await import('./models.js')).runModelsBench(argv),
  },
  accuracy: {
    describe: 'analysis detectors on ../shared/testdata: precision/recall, identity TPR@FPR1%, timings',
    run: async (argv) => (await import('./accuracy.js')).runAccuracy(argv),
  },
  fairness: {
    describe: 'face presence and identity at -2..+2 EV and reduced contrast over the test faces (synthetic)',
    run: async (argv) => (await import('./fairness.js')).runFairnessBench(argv),
  },
};

export async function runBenchmark(name: string | undefined, argv: string[]): Promise<number> {
  const bench = name ? benchmarks[name] : undefined;
  if (!bench) {
    const available = Object.entries(benchmarks).map(([key, value]) => `  ${key}  ${value.describe}`);
    console.error(
      `vigil bench: ${name ? `unknown benchmark "${name}"` : 'name a benchmark'}\n` +
        (available.length
          ? `available:\n${available.join('\n')}`
          : 'no benchmarks are registered in this build yet'),
    );
    return 2;
  }
  return bench.run(argv);
}
