/**
 * Typed socket.io connections and the request helper: every request event is acked with
 * `{ok: true, data}` or `{ok: false, error}`, which `request()` turns into data or a thrown
 * RequestError carrying the server's code.
 */
import { io, type Socket } from 'socket.io-client';
import type {
  Ack,
  CandidateToServerEvents,
  ProctorToServerEvents,
  ServerToCandidateEvents,
  ServerToProctorEvents,
} from './protocol.js';

export type CandidateSocket = Socket<ServerToCandidateEvents, CandidateToServerEvents>;
export type ProctorSocket = Socket<ServerToProctorEvents, ProctorToServerEvents>;

export class RequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

/** Short enough that a lost ack surfaces as an error the user can retry, long enough for a busy SFU. */
const ACK_TIMEOUT_MS = 10_000;

/**
 * `exam` rides on every socket.io request so a load balancer can send all sockets of one exam
 * to one node (`hash $arg_exam`): a candidate's stream is consumed on the node it arrives at.
 */
const options = (getToken: () => string | Promise<string>, examId: string | null) => ({
  path: '/socket.io',
  query: examId ? { exam: examId } : {},
  // A function, so every (re)connect sends the current token (proctor tokens get refreshed).
  auth: (cb: (data: object) => void) => {
    Promise.resolve(getToken()).then(
      (token) => cb({ token }),
      (err: unknown) => {
        // Connect anyway: the server's refusal (connect_error) is what the page reports.
        console.warn('no token for the socket', err);
        cb({ token: '' });
      },
    );
  },
  // Exponential back-off with jitter so a server restart isn't met by a thundering herd.
  reconnectionDelay: 500,
  reconnectionDelayMax: 10_000,
  randomizationFactor: 0.5,
  autoConnect: false,
});

export function candidateSocket(token: string): CandidateSocket {
  return io(
    '/candidate',
    options(() => token, examOfToken(token)),
  );
}

export function proctorSocket(getToken: () => Promise<string>, examId: string): ProctorSocket {
  return io('/proctor', options(getToken, examId));
}

/** The exam a candidate token is for, read (not verified: the server does that) for routing. */
function examOfToken(token: string): string | null {
  try {
    const payload = token.split('.')[1] ?? '';
    const json = atob(payload.replaceAll('-', '+').replaceAll('_', '/'));
    const exam: unknown = (JSON.parse(json) as { exam?: unknown }).exam;
    return typeof exam === 'string' ? exam : null;
  } catch {
    return null;
  }
}

// ---- requests --------------------------------------------------------------------------------

/** Event maps whose events are `(payload, ack) => void`. */
type RequestMap<M> = { [K in keyof M]: (payload: never, ack: never) => void };
type PayloadOf<F> = F extends (payload: infer P, ack: never) => void ? P : never;
type DataOf<F> = F extends (payload: never, ack: (response: Ack<infer T>) => void) => void ? T : never;

/** The untyped shape of `socket.timeout(ms).emit(...)`, used once below. */
interface TimedEmitter {
  timeout(ms: number): {
    emit(event: string, payload: unknown, ack: (err: Error | null, res: unknown) => void): unknown;
  };
}

const isAck = (value: unknown): value is Ack<unknown> =>
  typeof value === 'object' && value !== null && typeof (value as { ok?: unknown }).ok === 'boolean';

/**
 * Emit a request event and await its ack. Throws RequestError: the server's code for
 * `{ok:false}`, `timeout` when no ack came (e.g. offline), `bad_ack` for a malformed reply.
 */
export function request<Emit extends RequestMap<Emit>, K extends keyof Emit & string>(
  socket: Socket<never, Emit>,
  event: K,
  payload: PayloadOf<Emit[K]>,
  timeoutMs = ACK_TIMEOUT_MS,
): Promise<DataOf<Emit[K]>> {
  return new Promise((resolve, reject) => {
    // socket.io's generic emit types can't follow a generic event name; the payload and result
    // types are enforced by this function's signature instead.
    (socket as unknown as TimedEmitter).timeout(timeoutMs).emit(event, payload, (err, res) => {
      if (err) return reject(new RequestError('timeout', `No answer to ${event} (are you offline?)`));
      if (!isAck(res)) return reject(new RequestError('bad_ack', `Unexpected answer to ${event}`));
      if (res.ok) return resolve(res.data as DataOf<Emit[K]>);
      reject(new RequestError(res.error.code, res.error.message));
    });
  });
}

/** The code and message of a `connect_error` (the server sets `err.data = {code, message}`). */
export function describeConnectError(err: Error): { code: string; message: string } {
  const data = (err as Error & { data?: unknown }).data;
  if (typeof data === 'object' && data !== null) {
    const { code, message } = data as { code?: unknown; message?: unknown };
    if (typeof code === 'string') return { code, message: typeof message === 'string' ? message : code };
  }
  return { code: err.message || 'connect_error', message: err.message || 'Could not connect' };
}

/** Human-readable text for any error a request or fetch can throw (with its code, if any). */
export function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as Error & { code?: unknown }).code;
  return typeof code === 'string' && code !== err.message ? `${err.message} (${code})` : err.message;
}

/** Cleanup the server may already have done (a closed consumer, a dropped transport): log, never throw. */
export function bestEffort(work: Promise<unknown>, what: string): void {
  work.catch((err: unknown) => console.debug(`${what} failed (ignored)`, err));
}
