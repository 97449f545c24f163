import { io, type Socket } from 'socket.io-client';
import type { Ack } from '../../server/realtime/index.js';

export type ClientSocket = Socket;

/**
 * Every event a test socket received and no `nextEvent` has taken yet, recorded from before
 * the connection opens: the server may push (e.g. `session:status`) in the same tick as it
 * accepts the connection.
 */
const received = new WeakMap<Socket, { event: string; payload: unknown }[]>();

/** Connects to a namespace; rejects with the server's connect_error (message = error code). */
export function connect(
  baseUrl: string,
  namespace: '/candidate' | '/proctor',
  token: string | undefined,
): Promise<Socket> {
  const socket = io(`${baseUrl}${namespace}`, {
    auth: token === undefined ? {} : { token },
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
  });
  const log: { event: string; payload: unknown }[] = [];
  received.set(socket, log);
  socket.onAny((event: string, payload: unknown) => log.push({ event, payload }));
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (error: Error & { data?: unknown }) => {
      socket.close();
      reject(error);
    });
  });
}

/** Emits a request event and waits for its ack. */
export async function request<T = any>(socket: Socket, event: string, payload?: unknown): Promise<Ack<T>> {
  const emitter = socket.timeout(10_000);
  return (
    payload === undefined ? emitter.emitWithAck(event) : emitter.emitWithAck(event, payload)
  ) as Promise<Ack<T>>;
}

/** Resolves with the next `event` whose payload passes `accept`. */
export function nextEvent<T = any>(
  socket: Socket,
  event: string,
  accept: (payload: T) => boolean = () => true,
  timeoutMs = 10_000,
): Promise<T> {
  const log = received.get(socket) ?? [];
  const index = log.findIndex((entry) => entry.event === event && accept(entry.payload as T));
  if (index >= 0) return Promise.resolve(log.splice(index, 1)[0]!.payload as T);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, listener);
      reject(new Error(`timed out waiting for ${event}`));
    }, timeoutMs);
    const listener = (payload: T) => {
      if (!accept(payload)) return;
      clearTimeout(timer);
      socket.off(event, listener);
      // Taken here, so a later nextEvent does not find it in the log again.
      const taken = log.findIndex((entry) => entry.payload === payload);
      if (taken >= 0) log.splice(taken, 1);
      resolve(payload);
    };
    socket.on(event, listener);
  });
}

/** RTP parameters for a VP8 or Opus stream, as a browser would send them. */
export function rtpParameters(kind: 'video' | 'audio', ssrc: number) {
  const codec =
    kind === 'video'
      ? { mimeType: 'video/VP8', payloadType: 101, clockRate: 90000, rtcpFeedback: [] }
      : { mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2, rtcpFeedback: [] };
  return { codecs: [codec], encodings: [{ ssrc }], headerExtensions: [], rtcp: { cname: `test-${ssrc}` } };
}
