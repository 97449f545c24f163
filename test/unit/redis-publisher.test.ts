import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { guardPublish } from '../../server/realtime/redis-publisher.js';
import { createLogger } from '../../server/shared/index.js';

describe('socket.io publisher guard', () => {
  it('turns a publish on a closed connection into a logged 0, not an unhandled rejection', async () => {
    // A real ioredis client that never reaches a server, then closed, as at shutdown.
    const client = new Redis('redis://127.0.0.1:1', { lazyConnect: true, maxRetriesPerRequest: 0 });
    client.disconnect();
    await expect(client.publish('vigil:test', 'before')).rejects.toThrow();
    const warnings: unknown[] = [];
    const logger = createLogger('silent');
    Object.assign(logger, { warn: (...args: unknown[]) => warnings.push(args) });
    guardPublish(client, logger);
    await expect(client.publish('vigil:test', 'after')).resolves.toBe(0);
    expect(warnings).toHaveLength(1);
  });
});
