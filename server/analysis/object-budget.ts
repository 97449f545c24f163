/**
 * The object model (phones) is the costliest pass by far (~190 ms a run on wasm against ~45 ms for
 * detector, mesh and iris together), so under the cascade it gets a fixed share of the analysis
 * threads' time rather than a fixed cadence: with few streams every stream gets its cadence, with
 * many the cadence stretches for all alike, and the face models keep the rest of the machine.
 */

/** Time the object model may bank while idle: a couple of runs, so a quiet spell is no burst later. */
const burstRuns = 2;
/** What a run is expected to cost before one was measured (wasm, one 640x480 frame). */
const initialRunMs = 200;
/** Weight of the newest run in the cost estimate. */
const estimateWeight = 0.2;

export interface ObjectBudgetOptions {
  /** Share of the threads' wall time, 0..1. */
  share: number;
  threads: number;
  /** Clock in milliseconds (tests pass their own). */
  now?: () => number;
}

/**
 * A token bucket in milliseconds of thread time: it fills at `share × threads` ms per ms, each run
 * drains what it measured. A run may start while the bucket is not in debt; one started on a
 * scene change (not its cadence) needs spare for two runs, so cadences come first.
 */
export class ObjectBudget {
  readonly #ratePerMs: number;
  readonly #now: () => number;
  #tokensMs: number;
  #refilledAt: number;
  #runMs = initialRunMs;

  constructor(options: ObjectBudgetOptions) {
    this.#ratePerMs = Math.max(0, options.share) * Math.max(1, options.threads);
    this.#now = options.now ?? (() => performance.now());
    this.#refilledAt = this.#now();
    this.#tokensMs = this.#capacityMs();
  }

  /** A due run may start now. */
  get canRun(): boolean {
    this.#refill();
    return this.#ratePerMs > 0 && this.#tokensMs >= 0;
  }

  /** An optional run (a scene change) may start now. */
  get hasSpare(): boolean {
    this.#refill();
    return this.#ratePerMs > 0 && this.#tokensMs >= 2 * this.#runMs;
  }

  /** Seconds between runs of one stream when `streams` share the budget (the cadence it stretches to). */
  intervalFor(streams: number): number {
    if (this.#ratePerMs <= 0) return Infinity;
    return (streams * this.#runMs) / this.#ratePerMs / 1000;
  }

  /** A run took `ms` of a thread. */
  charge(ms: number): void {
    this.#refill();
    this.#tokensMs -= ms;
    this.#runMs = (1 - estimateWeight) * this.#runMs + estimateWeight * ms;
  }

  #capacityMs(): number {
    return burstRuns * this.#runMs;
  }

  #refill(): void {
    const now = this.#now();
    this.#tokensMs = Math.min(this.#capacityMs(), this.#tokensMs + (now - this.#refilledAt) * this.#ratePerMs);
    this.#refilledAt = now;
  }
}
