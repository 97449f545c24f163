import { AppError } from '../shared/index.js';

/** A burst of 5 messages, then one every 2 s: typing speed, not a flood. */
const burst = 5;
const perSecond = 0.5;
/** Past this many senders, buckets that refilled are forgotten (they hold nothing). */
const pruneAbove = 1000;

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/**
 * Chat's own token buckets on top of a socket's event budget, kept per sender key (a
 * candidate's session; a proctor socket and session), so a reconnecting candidate does not
 * start afresh. All sockets of an exam meet on one node (the load balancer hashes on the
 * exam), so a node's memory is the right place.
 */
export class ChatBudget {
  readonly #buckets = new Map<string, Bucket>();

  /** Throws 429 `rate_limited` when `key` sent too much. */
  take(key: string, now = Date.now()): void {
    if (!this.#buckets.has(key) && this.#buckets.size >= pruneAbove) this.#prune(now);
    const bucket = this.#buckets.get(key) ?? { tokens: burst, updatedAt: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.updatedAt) / 1000) * perSecond);
    bucket.updatedAt = now;
    this.#buckets.set(key, bucket);
    if (bucket.tokens < 1) throw new AppError('rate_limited', 'too many messages; wait a moment');
    bucket.tokens -= 1;
  }

  #prune(now: number): void {
    for (const [key, bucket] of this.#buckets) {
      if (bucket.tokens + ((now - bucket.updatedAt) / 1000) * perSecond >= burst) this.#buckets.delete(key);
    }
  }
}
