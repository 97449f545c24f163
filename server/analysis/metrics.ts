import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { EngineStats } from './types.js';

type Kind = 'frame' | 'audio' | 'reference';

/**
 * Prometheus view of the engine. The counts live in plain numbers (`EngineStats`) and are read
 * at scrape time, so a registry can be attached at any moment and several registries (tests)
 * see the same totals; only latencies are recorded as they happen.
 */
export class AnalysisMetrics {
  readonly #stats: () => EngineStats;
  readonly #workers: () => number;
  readonly #histograms: Histogram<'kind'>[] = [];

  constructor(stats: () => EngineStats, workers: () => number) {
    this.#stats = stats;
    this.#workers = workers;
  }

  register(registry: Registry): void {
    const stats = this.#stats;
    const workers = this.#workers;
    new Counter({
      name: 'vigil_analysis_processed_total',
      help: 'Frames, audio chunks and photos analysed',
      labelNames: ['kind'] as const,
      registers: [registry],
      collect() {
        const now = stats();
        this.reset();
        this.inc({ kind: 'frame' }, now.framesAnalysed);
        this.inc({ kind: 'audio' }, now.audioAnalysed);
        this.inc({ kind: 'reference' }, now.referencesAnalysed);
      },
    });
    new Counter({
      name: 'vigil_analysis_dropped_total',
      help: 'Frames and audio chunks dropped by back-pressure (a newer one replaced them while they waited)',
      labelNames: ['kind'] as const,
      registers: [registry],
      collect() {
        const now = stats();
        this.reset();
        this.inc({ kind: 'frame' }, now.framesDropped);
        this.inc({ kind: 'audio' }, now.audioDropped);
      },
    });
    new Counter({
      name: 'vigil_analysis_worker_restarts_total',
      help: 'Analysis worker threads restarted after dying',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(stats().workerRestarts);
      },
    });
    new Gauge({
      name: 'vigil_analysis_workers',
      help: 'Analysis worker threads ready',
      registers: [registry],
      collect() {
        this.set(workers());
      },
    });
    this.#histograms.push(
      new Histogram({
        name: 'vigil_analysis_duration_seconds',
        help: 'Time from submission to result, queueing included',
        labelNames: ['kind'] as const,
        buckets: [0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1, 2, 5],
        registers: [registry],
      }),
    );
  }

  observe(kind: Kind, milliseconds: number): void {
    for (const histogram of this.#histograms) histogram.observe({ kind }, milliseconds / 1000);
  }
}
