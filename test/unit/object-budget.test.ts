import { describe, expect, it } from 'vitest';
import { ObjectBudget } from '../../server/analysis/index.js';

/** Runs a stream-clock simulation: `streams` each offering a due run every `cadenceMs`. */
function simulate(budget: ObjectBudget, streams: number, cadenceMs: number, seconds: number, runMs: number) {
  const lastRun = new Array<number>(streams).fill(-Infinity);
  let runs = 0;
  for (let at = 0; at < seconds * 1000; at += 1000 / streams) {
    // Round robin, as the engine serves streams; the longest-waiting due stream goes first.
    const due = lastRun
      .map((ranAt, stream) => ({ ranAt, stream }))
      .filter(({ ranAt }) => at - ranAt >= cadenceMs)
      .sort((a, b) => a.ranAt - b.ranAt)[0];
    if (due && budget.canRun(at)) {
      budget.charge(runMs, at);
      lastRun[due.stream] = at;
      runs += 1;
    }
  }
  return runs;
}

describe('object model budget', () => {
  it('gives every stream its cadence while the share allows it', () => {
    // 0.2 of one thread is 200 ms a second: two streams every 3 s at 190 ms need ~127 ms.
    const budget = new ObjectBudget({ share: 0.2, threads: 1 });
    expect(simulate(budget, 2, 3000, 60, 190)).toBeGreaterThanOrEqual(2 * 19);
  });

  it('holds many streams to the share: the cadence stretches, the thread time does not', () => {
    const budget = new ObjectBudget({ share: 0.2, threads: 1 });
    const runs = simulate(budget, 40, 3000, 120, 190);
    // 120 s × 200 ms/s = 24 s of object time, plus the three runs banked at the start.
    expect(runs * 190).toBeLessThanOrEqual(24_000 + 4 * 200);
    expect(runs * 190).toBeGreaterThan(24_000 * 0.9);
  });

  it('scales with the threads', () => {
    const one = simulate(new ObjectBudget({ share: 0.2, threads: 1 }), 40, 3000, 60, 190);
    const two = simulate(new ObjectBudget({ share: 0.2, threads: 2 }), 40, 3000, 60, 190);
    expect(two).toBeGreaterThan(one * 1.8);
  });

  it('keeps scene-change runs for spare time, and banks at most three runs while idle', () => {
    const budget = new ObjectBudget({ share: 0.2, threads: 1 });
    // Banked: 3 × 200 ms. Two runs leave one run's worth: spare for a scene change.
    budget.charge(200, 0);
    budget.charge(200, 0);
    expect(budget.hasSpare(0)).toBe(true);
    budget.charge(200, 0);
    expect(budget.canRun(0)).toBe(true);
    expect(budget.hasSpare(0)).toBe(false);
    budget.charge(200, 0);
    // In debt: nothing runs until the share has paid it back (200 ms of debt at 0.2 → 1 s).
    expect(budget.canRun(500)).toBe(false);
    expect(budget.canRun(1000)).toBe(true);
    // A long quiet spell refills only three runs' worth.
    expect(budget.canRun(60_000)).toBe(true);
    for (let run = 0; run < 3; run++) budget.charge(200, 60_000);
    expect(budget.canRun(60_000)).toBe(true);
    budget.charge(200, 60_000);
    expect(budget.canRun(60_000)).toBe(false);
  });

  it('never refills on a clock that goes back (streams interleave their clocks)', () => {
    const budget = new ObjectBudget({ share: 0.2, threads: 1 });
    // Three runs banked, four charged: 200 ms in debt, paid back 1 s later on the clock.
    for (let run = 0; run < 4; run++) budget.charge(200, 10_000);
    expect(budget.canRun(5_000)).toBe(false);
    expect(budget.canRun(10_500)).toBe(false);
    expect(budget.canRun(11_000)).toBe(true);
  });
});
