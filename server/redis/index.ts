import { Redis } from 'ioredis';
import type { Logger } from '../shared/index.js';

export type { Redis };

/**
 * A Redis client that never takes the API down: commands fail fast while Redis is away
 * (callers fall back to in-process state), reconnects forever with capped back-off, and
 * logs the outage once rather than once per command.
 */
export function createRedis(
  url: string,
  logger: Logger,
  options: { name: string; offlineQueue?: boolean },
): Redis {
  const log = logger.child({ redis: options.name });
  const redis = new Redis(url, {
    lazyConnect: false,
    enableOfflineQueue: options.offlineQueue ?? false,
    maxRetriesPerRequest: 1,
    connectTimeout: 5_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 5_000),
  });
  let down = false;
  redis.on('error', (error: Error) => {
    if (!down) log.warn({ err: error.message }, 'redis unavailable; degrading to in-process state');
    down = true;
  });
  redis.on('ready', () => {
    if (down) log.info('redis reconnected');
    down = false;
  });
  return redis;
}
