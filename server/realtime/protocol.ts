/**
 * The socket.io protocol between Vigil and its pages (CONTRACT.md, "Real-time"). The client
 * imports this file with `import type`; the zod schemas validate every payload at the edge.
 */
import { z } from 'zod';
import type { SessionStatus } from '../db/schema/enums.js';
import { messageText } from '../proctoring/message-text.js';
import type { MessageView } from '../proctoring/message-types.js';
import { sessionActions, type SessionAction } from '../proctoring/session-state.js';
import type { AnalysisTick, SessionView, ViolationView } from '../proctoring/view-types.js';

export type { AnalysisTick, MessageView };

// ---- acks ------------------------------------------------------------------------------------

export interface AckError {
  code: string;
  message: string;
}
export type Ack<T> = { ok: true; data: T } | { ok: false; error: AckError };
export type AckCallback<T> = (response: Ack<T>) => void;

// ---- payload schemas -------------------------------------------------------------------------

const id = z.string().min(1).max(100);
/** mediasoup parameter objects are validated by mediasoup itself; here only their outer shape. */
const parameters = z.record(z.string(), z.unknown());

export const schemas = {
  empty: z.union([z.undefined(), z.null(), z.strictObject({})]),
  createTransport: z.strictObject({ direction: z.enum(['send', 'recv']) }),
  proctorCreateTransport: z.strictObject({ examId: z.uuid(), direction: z.literal('recv').default('recv') }),
  proctorCapabilities: z.strictObject({ examId: z.uuid() }),
  connectTransport: z.strictObject({ transportId: id, dtlsParameters: parameters }),
  produce: z.strictObject({
    transportId: id,
    kind: z.enum(['audio', 'video']),
    rtpParameters: parameters,
    source: z.enum(['camera', 'microphone']),
  }),
  producerState: z.strictObject({ producerId: id }),
  consume: z.strictObject({ transportId: id, producerId: id, rtpCapabilities: parameters }),
  consumer: z.strictObject({ consumerId: id }),
  transport: z.strictObject({ transportId: id }),
  layers: z.strictObject({ consumerId: id, spatialLayer: z.number().int().min(0).max(3) }),
  clientSignal: z.strictObject({
    type: z.enum([
      'tab_hidden',
      'window_blur',
      'fullscreen_exit',
      'copy_paste',
      'multiple_displays',
      'tab_visible',
      'window_focus',
      'fullscreen_enter',
    ]),
    // A browser's clock, so only roughly trusted: from 2000 to a day ahead (PostgreSQL's range is wider).
    at: z.iso.datetime({ offset: true }).refine((at) => {
      const time = Date.parse(at);
      return time >= Date.UTC(2000, 0, 1) && time <= Date.now() + 86_400_000;
    }, 'at must be a time between 2000 and tomorrow'),
    seq: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1),
    details: z
      .record(z.string().max(100), z.union([z.string().max(500), z.number(), z.boolean()]))
      .refine((details) => Object.keys(details).length <= 20, 'at most 20 details')
      .optional(),
  }),
  watch: z.strictObject({ examId: z.uuid() }),
  sessionAction: z.strictObject({
    sessionId: z.uuid(),
    action: z.enum(sessionActions),
    message: z.string().trim().min(1).max(1000).optional(),
  }),
  /** The candidate writes in their own session; `kind: 'help'` raises a hand (text optional). */
  candidateChat: z
    .strictObject({ text: messageText.optional(), kind: z.enum(['message', 'help']).optional() })
    .refine((chat) => chat.kind === 'help' || chat.text !== undefined, {
      path: ['text'],
      message: 'text is required',
    }),
  proctorChat: z.strictObject({ sessionId: z.uuid(), text: messageText }),
};

export type CreateTransportRequest = z.input<typeof schemas.createTransport>;
export type ProduceRequest = z.input<typeof schemas.produce>;
export type ConsumeRequest = z.input<typeof schemas.consume>;
export type ClientSignal = z.input<typeof schemas.clientSignal>;
export type SessionActionRequest = z.input<typeof schemas.sessionAction>;
export type CandidateChatRequest = z.input<typeof schemas.candidateChat>;
export type ProctorChatRequest = z.input<typeof schemas.proctorChat>;

// ---- replies and pushes ----------------------------------------------------------------------

export interface TransportOptions {
  id: string;
  iceParameters: unknown;
  iceCandidates: unknown[];
  dtlsParameters: unknown;
  /** TURN servers with short-lived credentials (empty when none is configured). */
  iceServers: { urls: string[]; username: string; credential: string }[];
}

export interface ConsumerOptions {
  id: string;
  producerId: string;
  kind: 'audio' | 'video';
  rtpParameters: unknown;
}

export interface ProducerInfo {
  id: string;
  kind: 'audio' | 'video';
  source: 'camera' | 'microphone';
  paused: boolean;
}

export interface LiveSession extends SessionView {
  candidate: { name: string; externalId: string };
  connected: boolean;
  producers: ProducerInfo[];
}

export interface SessionRef {
  sessionId: string;
  examId: string;
}

export interface ProctorMessage {
  sessionId: string;
  action: SessionAction;
  message: string | null;
  at: string;
}

// ---- event maps ------------------------------------------------------------------------------

export interface CandidateToServerEvents {
  'media:capabilities': (payload: unknown, ack: AckCallback<{ routerRtpCapabilities: unknown }>) => void;
  'media:createTransport': (payload: CreateTransportRequest, ack: AckCallback<TransportOptions>) => void;
  'media:connectTransport': (
    payload: { transportId: string; dtlsParameters: unknown },
    ack: AckCallback<object>,
  ) => void;
  'media:produce': (payload: ProduceRequest, ack: AckCallback<{ producerId: string }>) => void;
  'media:pauseProducer': (payload: { producerId: string }, ack: AckCallback<object>) => void;
  'media:resumeProducer': (payload: { producerId: string }, ack: AckCallback<object>) => void;
  'media:closeProducer': (payload: { producerId: string }, ack: AckCallback<object>) => void;
  'media:closeTransport': (payload: { transportId: string }, ack: AckCallback<object>) => void;
  'client:signal': (payload: ClientSignal, ack: AckCallback<{ duplicate: boolean }>) => void;
  'liveness:start': (payload: unknown, ack: AckCallback<object>) => void;
  /** The candidate is done: the session becomes `completed`. */
  'session:finish': (payload: unknown, ack: AckCallback<{ status: SessionStatus }>) => void;
  /** A message to the proctors, or a raised hand (`kind: 'help'`); acked with the stored message. */
  'chat:send': (payload: CandidateChatRequest, ack: AckCallback<MessageView>) => void;
}

export interface ServerToCandidateEvents {
  'session:status': (payload: SessionRef & { status: SessionStatus }) => void;
  'violation:opened': (payload: ViolationView) => void;
  'violation:closed': (payload: ViolationView) => void;
  'liveness:challenge': (payload: { step: string; instruction: string; deadline: string }) => void;
  'liveness:result': (payload: { passed: boolean; details: Record<string, unknown> }) => void;
  'proctor:message': (payload: ProctorMessage) => void;
  'chat:message': (payload: MessageView) => void;
  guidance: (payload: { code: string; message: string }) => void;
  /** The media server restarted: drop transports and produce again. */
  'media:reconnect': (payload: { reason: string }) => void;
}

export interface ProctorToServerEvents {
  'exam:watch': (payload: { examId: string }, ack: AckCallback<{ sessions: LiveSession[] }>) => void;
  'exam:unwatch': (payload: { examId: string }, ack: AckCallback<object>) => void;
  'media:capabilities': (
    payload: { examId: string },
    ack: AckCallback<{ routerRtpCapabilities: unknown }>,
  ) => void;
  'media:createTransport': (
    payload: { examId: string; direction?: 'recv' },
    ack: AckCallback<TransportOptions>,
  ) => void;
  'media:connectTransport': (
    payload: { transportId: string; dtlsParameters: unknown },
    ack: AckCallback<object>,
  ) => void;
  'media:consume': (payload: ConsumeRequest, ack: AckCallback<ConsumerOptions>) => void;
  'media:resume': (payload: { consumerId: string }, ack: AckCallback<object>) => void;
  'media:pause': (payload: { consumerId: string }, ack: AckCallback<object>) => void;
  'media:closeConsumer': (payload: { consumerId: string }, ack: AckCallback<object>) => void;
  'media:setLayers': (
    payload: { consumerId: string; spatialLayer: number },
    ack: AckCallback<object>,
  ) => void;
  'media:closeTransport': (payload: { transportId: string }, ack: AckCallback<object>) => void;
  'session:action': (payload: SessionActionRequest, ack: AckCallback<SessionView>) => void;
  /** A message to one session's candidate; acked with the stored message. */
  'chat:send': (payload: ProctorChatRequest, ack: AckCallback<MessageView>) => void;
}

export interface ServerToProctorEvents {
  'session:joined': (payload: SessionRef & { session: LiveSession }) => void;
  'session:left': (payload: SessionRef) => void;
  'session:status': (payload: SessionRef & { status: SessionStatus; flagged: boolean }) => void;
  'violation:opened': (payload: ViolationView & { examId: string }) => void;
  'violation:closed': (payload: ViolationView & { examId: string }) => void;
  'analysis:tick': (payload: AnalysisTick) => void;
  /** A message (or raised hand) in a session of a watched exam. */
  'chat:message': (payload: MessageView) => void;
  /** A candidate's producer appeared or changed (consume it / show its state). */
  'media:producer': (payload: SessionRef & { producer: ProducerInfo }) => void;
  'media:producerClosed': (payload: SessionRef & { producerId: string }) => void;
  'media:reconnect': (payload: { reason: string }) => void;
}

/**
 * Between nodes (socket.io redis adapter `serverSideEmit`); everything else travels as room
 * broadcasts. A status change reaches every node, so none keeps serving a session another ended.
 */
export interface InterServerEvents {
  'session:status': (event: SessionRef & { tenantId: string; status: SessionStatus }) => void;
}

/** The data an event's ack carries: the `T` of its `AckCallback<T>`. */
export type AckData<Listener> = Listener extends (payload: never, ack: AckCallback<infer T>) => void
  ? T
  : never;

// ---- the request events as values ------------------------------------------------------------

/**
 * A list of every key of `Events`, checked by the compiler: a name missing from it (or one that
 * is not an event) is a type error. Tests walk these lists, so they cover what the maps declare.
 */
const everyEvent =
  <Events>() =>
  <const Names extends readonly (keyof Events & string)[]>(
    names: Names &
      (Exclude<keyof Events, Names[number]> extends never
        ? unknown
        : { missing: Exclude<keyof Events, Names[number]> }),
  ): Names =>
    names;

export const candidateRequestEvents = everyEvent<CandidateToServerEvents>()([
  'media:capabilities',
  'media:createTransport',
  'media:connectTransport',
  'media:produce',
  'media:pauseProducer',
  'media:resumeProducer',
  'media:closeProducer',
  'media:closeTransport',
  'client:signal',
  'liveness:start',
  'session:finish',
  'chat:send',
]);

export const proctorRequestEvents = everyEvent<ProctorToServerEvents>()([
  'exam:watch',
  'exam:unwatch',
  'media:capabilities',
  'media:createTransport',
  'media:connectTransport',
  'media:consume',
  'media:resume',
  'media:pause',
  'media:closeConsumer',
  'media:setLayers',
  'media:closeTransport',
  'session:action',
  'chat:send',
]);
