/**
 * Delays before each retry (the Standard Webhooks / Svix schedule, longer at the end): attempt 1
 * is immediate, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h. With ±20 % jitter the first retry
 * comes within 6 s and the last attempt at least 25 h after the first (≥ 24 h in all).
 */
export const defaultRetryScheduleMs: readonly number[] = [
  5_000,
  5 * 60_000,
  30 * 60_000,
  2 * 3_600_000,
  5 * 3_600_000,
  10 * 3_600_000,
  14 * 3_600_000,
];

const jitter = 0.2;
/** A `Retry-After` asking for more than this is capped (the schedule goes on after it). */
const maxRetryAfterMs = 24 * 3_600_000;

/**
 * The wait before the next attempt after `attempt` (1-based) failed, or undefined when the
 * schedule is exhausted. A `Retry-After` longer than the scheduled delay wins.
 */
export function nextRetryDelayMs(
  attempt: number,
  schedule: readonly number[],
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): number | undefined {
  const base = schedule[attempt - 1];
  if (base === undefined) return undefined;
  const jittered = Math.round(base * (1 - jitter + 2 * jitter * random()));
  return Math.max(jittered, Math.min(retryAfterMs ?? 0, maxRetryAfterMs));
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date; undefined when absent or bad. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
