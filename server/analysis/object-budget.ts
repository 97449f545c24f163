/**
 * The object model (phones) is the costliest pass by far (~190 ms a run on wasm against ~45 ms for
 * detector, mesh and iris together), so under the cascade it gets a fixed share of the analysis
 * threads' time rather than a fixed cadence: with few streams every stream gets its cadence, with
 * many the cadence stretches for all alike, and the face models keep the rest of the machine.
 */

/** Time the object model may bank while idle: a few runs, so a quiet spell is no burst later. */
const burstRuns = 3;
/** What a run is expected to cost before one was measured (wasm, one 640x480 frame). */
const initialRunMs = 200;
/** Weight of the newest run in the cost estimate. */
const estimateWeight = 0.2;

export interface ObjectBudgetOptions {
  /** Share of the threads' wall time, 0..1. */
  share: number;
  threads: number;
}

/**
 * A token bucket in milliseconds of thread time: it fills at `share × threads` ms per ms, each run
 * drains what it measured. A run due by its cadence may start while the bucket is not in debt; one
 * for a scene change only when the bucket holds a whole run, so cadences come first. Time is the
 * streams' clock (`RgbFrame.at`, wall-clock milliseconds live), the one the cadences use, so a
 * clip fed faster than real time meets the same budget per stream-second.
 */
export class ObjectBudget {
  readonly #ratePerMs: number;
  #tokensMs: number;
  #refilledAt = -Infinity;
  #runMs = initialRunMs;

  constructor(options: ObjectBudgetOptions) {
    this.#ratePerMs = Math.max(0, options.share) * Math.max(1, options.threads);
    this.#tokensMs = this.#capacityMs();
  }

  /** A due run may start now. */
  canRun(now: number): boolean {
    this.#refill(now);
    return this.#ratePerMs > 0 && this.#tokensMs >= 0;
  }

  /** An optional run (a scene change) may start now. */
  hasSpare(now: number): boolean {
    this.#refill(now);
    return this.#ratePerMs > 0 && this.#tokensMs >= this.#runMs;
  }

  /** A run took `ms` of a thread. */
  charge(ms: number, now: number): void {
    this.#refill(now);
    this.#tokensMs -= ms;
    this.#runMs = (1 - estimateWeight) * this.#runMs + estimateWeight * ms;
  }

  #capacityMs(): number {
    return burstRuns * this.#runMs;
  }

  /** Streams' clocks interleave: only a later time refills. */
  #refill(now: number): void {
    if (!(now > this.#refilledAt)) return;
    const elapsed = Number.isFinite(this.#refilledAt) ? now - this.#refilledAt : 0;
    this.#tokensMs = Math.min(this.#capacityMs(), this.#tokensMs + elapsed * this.#ratePerMs);
    this.#refilledAt = now;
  }
}
