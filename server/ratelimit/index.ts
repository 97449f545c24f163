import {
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import type { Config } from '../config/index.js';
import type { Redis } from '../redis/index.js';
import { AppError } from '../shared/index.js';

/**
 * Secrets an attacker could try to guess online. Counted per kind, so a burst of bad API keys
 * does not lock the same address out of password logins. Signed tokens are not on the list:
 * guessing a JWT signature online is hopeless, they are held to the request budget instead.
 */
export type GuessableSecret = 'api_key' | 'password' | 'refresh_token';

export interface RateLimiter {
  /** Counts one request for `key` (a credential or an IP); throws 429 past the per-minute budget. */
  consumeRequest(key: string): Promise<void>;
  /** Throws 429 while `ip` is blocked for too many failed attempts at guessing this kind of secret. */
  assertNotBlocked(kind: GuessableSecret, ip: string): Promise<void>;
  /** Counts a failed attempt from `ip`; returns true when the IP is now blocked for `kind`. */
  recordAuthFailure(kind: GuessableSecret, ip: string): Promise<boolean>;
}

interface Options {
  limits: Config['rateLimit'];
  redis: Redis | undefined;
  /** Separates the counters of independent deployments (and of tests) sharing one Redis. */
  keyPrefix: string;
}

/**
 * Fixed-window counters, in Redis when there is one so every node shares them. If Redis is
 * unreachable, each limiter falls back to an in-process "insurance" limiter instead of
 * failing requests.
 */
export function createRateLimiter({ limits, redis, keyPrefix }: Options): RateLimiter {
  const make = (name: string, points: number, duration: number): RateLimiterAbstract => {
    const memory = new RateLimiterMemory({ keyPrefix: `${keyPrefix}:${name}`, points, duration });
    if (!redis) return memory;
    return new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: `${keyPrefix}:${name}`,
      points,
      duration,
      insuranceLimiter: memory,
    });
  };
  const requests = make('req', limits.perMinute, 60);
  const authFailures = make('authfail', limits.authFailures, limits.authFailureWindowSeconds);

  return {
    async consumeRequest(key) {
      try {
        await requests.consume(key);
      } catch (error) {
        throw asRateLimited(error, 'too many requests');
      }
    },
    async assertNotBlocked(kind, ip) {
      const state = await authFailures.get(`${kind}:${ip}`);
      if (state && state.consumedPoints >= limits.authFailures) {
        throw rateLimited(state.msBeforeNext, 'too many failed authentication attempts; try again later');
      }
    },
    async recordAuthFailure(kind, ip) {
      try {
        const state = await authFailures.consume(`${kind}:${ip}`);
        return state.consumedPoints >= limits.authFailures;
      } catch (error) {
        if (error instanceof RateLimiterRes) return true;
        throw error;
      }
    },
  };
}

function rateLimited(msBeforeNext: number, message: string): AppError {
  const seconds = Math.max(1, Math.ceil(msBeforeNext / 1000));
  return new AppError('rate_limited', message, { 'Retry-After': String(seconds) });
}

function asRateLimited(error: unknown, message: string): unknown {
  return error instanceof RateLimiterRes ? rateLimited(error.msBeforeNext, message) : error;
}
