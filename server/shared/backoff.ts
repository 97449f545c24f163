/**
 * Exponential back-off: `minMs` before the first retry, doubling with each failure, never more
 * than `maxMs`. `failures` counts the failures so far (0 for the first retry).
 */
export function backoffMs(failures: number, { minMs, maxMs }: { minMs: number; maxMs: number }): number {
  return Math.min(maxMs, minMs * 2 ** Math.max(0, failures));
}
