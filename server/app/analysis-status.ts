/**
 * Whether this node watches the streams, and if not, which part is missing and why. Set while
 * the app starts (the engine, then the sampler), read by `/readyz` and the dashboard's banner,
 * so "analysis off" is never silent.
 */
export type AnalysisPart = 'engine' | 'sampler';

export type AnalysisState =
  | { status: 'starting' }
  | { status: 'on'; ffmpeg: { path: string; source: string; version: string } }
  /** Built without media or analysis on purpose (REST-only tools and tests). */
  | { status: 'disabled' }
  | { status: 'off'; part: AnalysisPart; reason: string; fix: string };

export class AnalysisStatus {
  #state: AnalysisState = { status: 'starting' };

  get state(): AnalysisState {
    return this.#state;
  }

  set(state: AnalysisState): void {
    this.#state = state;
  }
}

/** The fix printed with an engine that does not load. */
export const engineFix =
  'reinstall the dependencies (npm install), check models/manifest.json, or set ANALYSIS_BACKEND=wasm; then run `npx vigil doctor`';
