import type { Server as HttpServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Server } from 'socket.io';
import type { ServiceContext } from '../app/context.js';
import type { MediaService } from '../media/index.js';
import { watchStreamConditions, type Monitor } from '../monitoring/index.js';
import type { ViolationRules } from '../proctoring/index.js';
import { createRedis } from '../redis/index.js';
import { registerCandidateNamespace } from './candidate.js';
import type { RealtimeDeps } from './deps.js';
import { namespacesOf, type RealtimeServer } from './namespaces.js';
import { Presence } from './presence.js';
import { registerProctorNamespace } from './proctor.js';
import { guardPublish } from './redis-publisher.js';
import { relayProctoringEvents } from './relay.js';
import { SessionDirectory } from './session-directory.js';

export type * from './protocol.js';
export { maxSocketsPerSession } from './candidate.js';

export interface Realtime {
  io: RealtimeServer;
  close(): Promise<void>;
}

/**
 * socket.io on the HTTP server: `/candidate` and `/proctor` namespaces, the relay of service
 * events to rooms, and with Redis the adapter that lets several nodes serve one exam.
 */
export function attachRealtime(options: {
  server: HttpServer;
  context: ServiceContext;
  media: MediaService;
  rules: ViolationRules;
  /** Live analysis (liveness challenges, the verification gate); absent when analysis is off. */
  monitor?: Monitor | undefined;
}): Realtime {
  const { context, media } = options;
  const io: RealtimeServer = new Server(options.server, {
    path: '/socket.io',
    serveClient: false,
    // RTP parameters are a few KB; nothing legitimate comes near this.
    maxHttpBufferSize: 256 * 1024,
    // Detect a dead candidate connection within ~15 s.
    pingInterval: 10_000,
    pingTimeout: 5_000,
  });
  const redisClients = context.config.redisUrl
    ? [
        guardPublish(
          createRedis(context.config.redisUrl, context.logger, { name: 'socket.io-pub', offlineQueue: true }),
          context.logger,
        ),
        createRedis(context.config.redisUrl, context.logger, { name: 'socket.io-sub', offlineQueue: true }),
      ]
    : [];
  if (redisClients.length === 2)
    io.adapter(createAdapter(redisClients[0]!, redisClients[1]!, { key: 'vigil:socket.io' }));

  const deps: RealtimeDeps = {
    namespaces: namespacesOf(io),
    context,
    media,
    rules: options.rules,
    monitor: options.monitor,
    presence: new Presence(),
    sessions: new SessionDirectory(context.db),
  };
  registerCandidateNamespace(deps);
  registerProctorNamespace(deps);
  const stopRelay = relayProctoringEvents(deps);
  // Camera/mic conditions of the sessions this node serves (their pages' presence is known here).
  const stopStreamConditions = watchStreamConditions({
    media,
    rules: options.rules,
    session: (sessionId) => deps.sessions.peek(sessionId),
    isConnected: (sessionId) => deps.presence.isConnected(sessionId),
  });

  let closing: Promise<void> | undefined;
  return {
    io,
    close() {
      closing ??= (async () => {
        stopRelay();
        stopStreamConditions();
        // Not io.close(): that would also close the HTTP server, which Fastify owns.
        io.local.disconnectSockets(true);
        io.engine.close();
        for (const client of redisClients) client.disconnect();
      })();
      return closing;
    },
  };
}
