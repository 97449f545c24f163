import type { Redis } from '../redis/index.js';
import type { Logger } from '../shared/index.js';

/**
 * The socket.io Redis adapter calls `publish()` and drops the promise. A broadcast on a closed or
 * failed connection (a handler finishing while the node shuts down, Redis gone for good) would
 * then be an unhandled rejection, which ends a Node process: log it and carry on instead. The
 * node's own sockets still got the event; only other nodes missed it.
 */
export function guardPublish(client: Redis, logger: Logger): Redis {
  const publish = client.publish.bind(client);
  const guarded = (channel: string, message: string): Promise<number> =>
    publish(channel, message).catch((error: unknown) => {
      logger.warn({ err: error, channel }, 'a socket.io broadcast could not reach the other nodes');
      return 0;
    });
  Object.assign(client, { publish: guarded });
  return client;
}
