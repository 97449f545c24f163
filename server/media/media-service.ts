import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import type { Logger } from '../shared/index.js';
import { AppError } from '../shared/index.js';
import { Peer, type PeerIdentity, type ProducerSource } from './peer.js';
import { Room } from './room.js';
import { WorkerPool, type WorkerPoolOptions } from './worker-pool.js';

export interface ProducerInfo {
  id: string;
  kind: 'audio' | 'video';
  source: ProducerSource;
  paused: boolean;
}

export interface ProducerRef {
  examId: string;
  sessionId: string;
  producer: ProducerInfo;
}

export type ProducerState = 'paused' | 'resumed' | 'stalled' | 'flowing';

interface MediaEvents {
  'producer:new': [ProducerRef];
  'producer:state': [ProducerRef & { state: ProducerState }];
  'producer:closed': [ProducerRef];
  /** These peers lost their transports (their worker died): they must connect media again. */
  'peers:reset': [{ peerIds: string[]; reason: string }];
}

interface FlowWatch {
  bytes: number;
  changedAt: number;
  stalled: boolean;
}

/** Plain-RTP ingest transports by producer id (see `ingestPlainRtp`), per service. */
const ingestTransports = new WeakMap<MediaService, Map<string, types.PlainTransport>>();

/** No RTP for this long on an unpaused producer means the stream has stopped. */
const stallAfterMs = 3000;

/**
 * The SFU: rooms (one router per exam), peers (one per connected page) and the rules of who
 * may send or receive what. Everything is addressed by ids the caller owns; anything else is
 * "not found", so a peer can never reach another exam's media.
 */
export class MediaService extends EventEmitter<MediaEvents> {
  readonly #pool: WorkerPool;
  readonly #logger: Logger;
  readonly #rooms = new Map<string, Promise<Room>>();
  readonly #routerCapacity: number;
  readonly #peers = new Map<string, Peer>();
  readonly #flow = new Map<string, FlowWatch>();
  /** Transports being created per peer (counted against its limit before they exist). */
  readonly #pendingTransports = new WeakMap<Peer, number>();
  /** Sources with a produce in flight per peer. */
  readonly #producing = new WeakMap<Peer, Set<ProducerSource>>();
  readonly #flowTimer: NodeJS.Timeout;
  #closed = false;

  private constructor(pool: WorkerPool, logger: Logger, routerCapacity: number) {
    super();
    this.#pool = pool;
    this.#routerCapacity = routerCapacity;
    this.#logger = logger;
    pool.on('replaced', ({ index }) => void this.#onWorkerReplaced(index));
    this.#flowTimer = setInterval(() => void this.#checkFlow(), 1000);
    this.#flowTimer.unref();
  }

  /**
   * `routerCapacity`: transports one exam router takes before the exam spreads to a router on
   * another worker (producers are piped across). A WebRTC transport costs a worker roughly the
   * same whatever its bitrate, so a count is a fair load measure.
   */
  static async create(options: WorkerPoolOptions & { routerCapacity?: number }): Promise<MediaService> {
    return new MediaService(
      await WorkerPool.create(options),
      options.logger.child({ component: 'media' }),
      options.routerCapacity ?? 200,
    );
  }

  get pool(): WorkerPool {
    return this.#pool;
  }

  /** The exam's room, created on first use on the least-loaded worker. */
  async room(examId: string): Promise<Room> {
    let room = this.#rooms.get(examId);
    if (room) {
      const ready = await room;
      if (!ready.closed) return ready;
    }
    room = Room.create(examId, this.#pool, this.#routerCapacity);
    this.#rooms.set(examId, room);
    room.catch(() => this.#rooms.delete(examId));
    return room;
  }

  openPeer(identity: PeerIdentity): Peer {
    if (this.#peers.has(identity.id)) throw new AppError('conflict', 'peer already open');
    const peer = new Peer(identity);
    this.#peers.set(identity.id, peer);
    return peer;
  }

  peer(peerId: string): Peer {
    const peer = this.#peers.get(peerId);
    if (!peer || peer.closed) throw new AppError('not_found', 'no media session for this connection');
    return peer;
  }

  closePeer(peerId: string): void {
    const peer = this.#peers.get(peerId);
    if (!peer) return;
    this.#peers.delete(peerId);
    for (const producer of peer.producers.values()) this.#forgetProducer(peer, producer);
    peer.close();
  }

  /** Counts one more of a peer's resources against `limit` until the returned release is called. */
  #reserve(pending: WeakMap<Peer, number>, peer: Peer, held: number, limit: number, what: string) {
    const reserved = pending.get(peer) ?? 0;
    if (held + reserved >= limit)
      throw new AppError('rate_limited', `at most ${limit} ${what} per connection`);
    pending.set(peer, reserved + 1);
    return () => pending.set(peer, (pending.get(peer) ?? 1) - 1);
  }

  async routerCapabilities(peerId: string): Promise<types.RtpCapabilities> {
    return (await this.room(this.peer(peerId).identity.examId)).router.rtpCapabilities;
  }

  async createTransport(peerId: string) {
    const peer = this.peer(peerId);
    const limit =
      peer.identity.role === 'candidate' ? mediaLimits.candidateTransports : mediaLimits.proctorTransports;
    const release = this.#reserve(this.#pendingTransports, peer, peer.transports.size, limit, 'transports');
    let created;
    try {
      const room = await this.room(peer.identity.examId);
      created = await room.createWebRtcTransport();
    } finally {
      release();
    }
    const { transport, router } = created;
    peer.transports.set(transport.id, transport);
    peer.transportRouters.set(transport.id, router);
    transport.on('dtlsstatechange', (state) => {
      if (state === 'failed' || state === 'closed') transport.close();
    });
    transport.observer.on('close', () => peer.transports.delete(transport.id));
    return {
      id: transport.id,
      iceParameters: transport.iceParameters,
      iceCandidates: transport.iceCandidates,
      dtlsParameters: transport.dtlsParameters,
    };
  }

  async connectTransport(peerId: string, transportId: string, dtlsParameters: unknown): Promise<void> {
    const transport = this.peer(peerId).transport(transportId);
    // Marked before the await, so a second call racing the first is refused too.
    if (transport.appData.connectCalled)
      throw new AppError('invalid_state', 'this transport is already connected');
    transport.appData.connectCalled = true;
    await asInvalidInput(
      () => transport.connect({ dtlsParameters: dtlsParameters as types.DtlsParameters }),
      'DTLS parameters',
    );
  }

  async produce(
    peerId: string,
    request: { transportId: string; kind: 'audio' | 'video'; rtpParameters: unknown; source: ProducerSource },
  ): Promise<string> {
    const peer = this.peer(peerId);
    const transport = peer.transport(request.transportId);
    const room = await this.room(peer.identity.examId);
    const producer = await this.#adopt(
      peer,
      transport,
      peer.transportRouters.get(transport.id) ?? room.router,
      {
        ...request,
        rtpParameters: request.rtpParameters as types.RtpParameters,
      },
    );
    return producer.id;
  }

  /**
   * Registers media that arrives as plain RTP (an RTSP/SIP camera gateway, a load generator,
   * the sampler's tests) as a candidate peer's producer, exactly like `produce`: same checks,
   * same one-per-source rule, same `producer:new` / stall watch / `producer:closed`. The
   * transport learns the sender from its first packet (comedia) and listens where the caller
   * says: worker ports are taken by the WebRtcServer, so `listenInfo` needs a port or range.
   * It lives as long as its producer; the producer ends with the peer.
   */
  async ingestPlainRtp(
    peerId: string,
    request: {
      kind: 'audio' | 'video';
      source: ProducerSource;
      rtpParameters: types.RtpParameters;
      listenInfo: types.TransportListenInfo;
    },
  ): Promise<{ producerId: string; ip: string; port: number }> {
    const peer = this.peer(peerId);
    this.#checkProduce(peer, request);
    const room = await this.room(peer.identity.examId);
    const transport = await room.router.createPlainTransport({
      listenInfo: request.listenInfo,
      rtcpMux: true,
      comedia: true,
    });
    let producer: types.Producer<{ source: ProducerSource; sessionId: string }>;
    try {
      producer = await this.#adopt(peer, transport, room.router, request);
    } catch (error) {
      transport.close();
      throw error;
    }
    // Peers only close the WebRTC transports they hold; this one goes when its producer is
    // closed or forgotten (peer closed, worker died). One listener serves all ingests.
    let open = ingestTransports.get(this);
    if (!open) {
      const transports = new Map<string, types.PlainTransport>();
      this.on('producer:closed', (ref) => {
        transports.get(ref.producer.id)?.close();
        transports.delete(ref.producer.id);
      });
      ingestTransports.set(this, transports);
      open = transports;
    }
    open.set(producer.id, transport);
    transport.observer.on('close', () => ingestTransports.get(this)?.delete(producer.id));
    return { producerId: producer.id, ip: transport.tuple.localAddress, port: transport.tuple.localPort };
  }

  async setProducerPaused(peerId: string, producerId: string, paused: boolean): Promise<void> {
    const peer = this.peer(peerId);
    const producer = peer.producer(producerId);
    if (producer.paused === paused) return;
    await (paused ? producer.pause() : producer.resume());
    const flow = this.#flow.get(producer.id);
    if (flow) flow.changedAt = Date.now();
    this.emit('producer:state', { ...this.#ref(peer, producer), state: paused ? 'paused' : 'resumed' });
  }

  closeProducer(peerId: string, producerId: string): void {
    const peer = this.peer(peerId);
    this.#closeProducer(peer, peer.producer(producerId));
  }

  async consume(
    peerId: string,
    request: { transportId: string; producerId: string; rtpCapabilities: unknown },
  ) {
    const peer = this.peer(peerId);
    if (peer.consumers.size >= mediaLimits.consumers)
      throw new AppError('rate_limited', `at most ${mediaLimits.consumers} consumers per connection`);
    const room = await this.room(peer.identity.examId);
    const owner = this.#producerInExam(peer.identity.examId, request.producerId);
    if (!owner) throw new AppError('not_found', 'unknown producer');
    const transport = peer.transport(request.transportId);
    const router = peer.transportRouters.get(transport.id) ?? room.router;
    await room.bringProducerTo(request.producerId, router);
    const rtpCapabilities = request.rtpCapabilities as types.RtpCapabilities;
    let consumable = false;
    try {
      consumable = router.canConsume({ producerId: request.producerId, rtpCapabilities });
    } catch {
      consumable = false;
    }
    if (!consumable)
      throw new AppError('invalid_input', 'these RTP capabilities cannot receive that producer');
    const consumer = await transport.consume({
      producerId: request.producerId,
      rtpCapabilities,
      paused: true,
    });
    peer.consumers.set(consumer.id, consumer);
    consumer.observer.on('close', () => peer.consumers.delete(consumer.id));
    return {
      id: consumer.id,
      producerId: consumer.producerId,
      kind: consumer.kind,
      rtpParameters: consumer.rtpParameters,
    };
  }

  async resumeConsumer(peerId: string, consumerId: string): Promise<void> {
    await this.peer(peerId).consumer(consumerId).resume();
  }

  async pauseConsumer(peerId: string, consumerId: string): Promise<void> {
    await this.peer(peerId).consumer(consumerId).pause();
  }

  closeConsumer(peerId: string, consumerId: string): void {
    this.peer(peerId).consumer(consumerId).close();
  }

  /** Simulcast: a small grid tile asks for the low layer, an enlarged one for the high layer. */
  async setConsumerLayers(peerId: string, consumerId: string, spatialLayer: number): Promise<void> {
    const consumer = this.peer(peerId).consumer(consumerId);
    if (consumer.type !== 'simulcast') return;
    await consumer.setPreferredLayers({ spatialLayer });
  }

  /** Drops a transport the page replaced (e.g. after an ICE failure), with what runs over it. */
  closeTransport(peerId: string, transportId: string): void {
    this.peer(peerId).transport(transportId).close();
  }

  /** The live producers of one candidate session, wherever its peer is. */
  producersOfSession(sessionId: string): ProducerInfo[] {
    const found: ProducerInfo[] = [];
    for (const peer of this.#peers.values()) {
      if (peer.identity.sessionId !== sessionId) continue;
      for (const producer of peer.producers.values()) found.push(this.#info(producer));
    }
    return found;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#flowTimer);
    for (const peerId of [...this.#peers.keys()]) this.closePeer(peerId);
    this.#pool.close();
  }

  /** What any producer of a peer must satisfy: a candidate's, of a source matching its kind and codecs. */
  #checkProduce(
    peer: Peer,
    request: { kind: 'audio' | 'video'; source: ProducerSource; rtpParameters: unknown },
  ) {
    if (peer.identity.role !== 'candidate' || !peer.identity.sessionId)
      throw new AppError('forbidden', 'only candidates send media');
    if ((request.source === 'camera') !== (request.kind === 'video')) {
      throw new AppError('invalid_input', 'camera must be video and microphone audio');
    }
    assertCodecsOfKind(request.kind, request.rtpParameters);
    return peer.identity.sessionId;
  }

  /**
   * The one way a producer joins a peer, whatever transport carries it (WebRTC from a page,
   * plain RTP from a gateway): checked, one per source (a re-produce replaces the old one; two
   * at once are refused), registered with its router, watched for stalls, and announced.
   */
  async #adopt(
    peer: Peer,
    transport: types.Transport,
    router: types.Router,
    request: { kind: 'audio' | 'video'; source: ProducerSource; rtpParameters: types.RtpParameters },
  ): Promise<types.Producer<{ source: ProducerSource; sessionId: string }>> {
    const sessionId = this.#checkProduce(peer, request);
    const inFlight = this.#producing.get(peer) ?? new Set<ProducerSource>();
    if (inFlight.has(request.source))
      throw new AppError('invalid_state', `a ${request.source} producer is already being created`);
    for (const existing of [...peer.producers.values()]) {
      if (existing.appData.source === request.source) this.#closeProducer(peer, existing);
    }
    inFlight.add(request.source);
    this.#producing.set(peer, inFlight);
    let producer: types.Producer<{ source: ProducerSource; sessionId: string }>;
    try {
      producer = await asInvalidInput(
        () =>
          transport.produce({
            kind: request.kind,
            rtpParameters: request.rtpParameters,
            appData: { source: request.source, sessionId },
          }),
        'RTP parameters',
      );
    } finally {
      inFlight.delete(request.source);
    }
    peer.producers.set(producer.id, producer);
    const room = await this.room(peer.identity.examId);
    room.registerProducer(producer.id, router);
    this.#flow.set(producer.id, { bytes: 0, changedAt: Date.now(), stalled: false });
    producer.observer.on('close', () => this.#forgetProducer(peer, producer));
    this.emit('producer:new', this.#ref(peer, producer));
    return producer;
  }

  #producerInExam(examId: string, producerId: string): Peer | undefined {
    for (const peer of this.#peers.values()) {
      if (peer.identity.examId === examId && peer.producers.has(producerId)) return peer;
    }
    return undefined;
  }

  #closeProducer(peer: Peer, producer: types.Producer<{ source: ProducerSource; sessionId: string }>): void {
    producer.close();
    this.#forgetProducer(peer, producer);
  }

  #forgetProducer(peer: Peer, producer: types.Producer<{ source: ProducerSource; sessionId: string }>): void {
    if (!peer.producers.delete(producer.id)) return;
    this.#flow.delete(producer.id);
    void this.#rooms.get(peer.identity.examId)?.then(
      (room) => room.forgetProducer(producer.id),
      (error: unknown) => this.#logger.debug({ err: error }, 'room already gone'),
    );
    this.emit('producer:closed', this.#ref(peer, producer));
  }

  #info(producer: types.Producer<{ source: ProducerSource; sessionId: string }>): ProducerInfo {
    return { id: producer.id, kind: producer.kind, source: producer.appData.source, paused: producer.paused };
  }

  #ref(peer: Peer, producer: types.Producer<{ source: ProducerSource; sessionId: string }>): ProducerRef {
    return {
      examId: peer.identity.examId,
      sessionId: producer.appData.sessionId,
      producer: this.#info(producer),
    };
  }

  /** Detects producers whose RTP stopped (camera unplugged, track stopped, network gone). */
  async #checkFlow(): Promise<void> {
    const now = Date.now();
    for (const peer of [...this.#peers.values()]) {
      for (const producer of [...peer.producers.values()]) {
        const flow = this.#flow.get(producer.id);
        if (!flow || producer.closed) continue;
        if (producer.paused) {
          flow.changedAt = now;
          continue;
        }
        let bytes = 0;
        try {
          for (const stat of await producer.getStats()) bytes += stat.byteCount;
        } catch {
          continue; // closed meanwhile
        }
        if (bytes !== flow.bytes) {
          flow.bytes = bytes;
          flow.changedAt = now;
          if (flow.stalled) {
            flow.stalled = false;
            this.emit('producer:state', { ...this.#ref(peer, producer), state: 'flowing' });
          }
        } else if (!flow.stalled && now - flow.changedAt >= stallAfterMs) {
          flow.stalled = true;
          this.emit('producer:state', { ...this.#ref(peer, producer), state: 'stalled' });
        }
      }
    }
  }

  /** Rooms on a dead worker are dropped (rebuilt lazily); their peers must connect media again. */
  async #onWorkerReplaced(index: number): Promise<void> {
    const dead = new Set<string>();
    for (const [examId, pending] of [...this.#rooms]) {
      const room = await pending.catch(() => undefined);
      if (room && !room.workerIndexes.includes(index)) continue;
      room?.close();
      this.#rooms.delete(examId);
      dead.add(examId);
    }
    const peerIds: string[] = [];
    for (const peer of this.#peers.values()) {
      if (!dead.has(peer.identity.examId)) continue;
      for (const producer of [...peer.producers.values()]) this.#forgetProducer(peer, producer);
      peer.reset();
      peerIds.push(peer.identity.id);
    }
    this.#logger.warn(
      { worker: index, exams: [...dead], peers: peerIds.length },
      'media rebuilt after worker death',
    );
    if (peerIds.length > 0) this.emit('peers:reset', { peerIds, reason: 'media_worker_restarted' });
  }
}

/**
 * Media resources one connection may hold at once (the README's security model lists them):
 * a candidate page needs one send transport (two while reconnecting), a dashboard one receive
 * transport per exam router it watches, and one consumer per stream it shows.
 */
export const mediaLimits = { candidateTransports: 4, proctorTransports: 16, consumers: 400 } as const;

/** A producer's codecs must be of its kind (no `audio/opus` in a camera's `video` producer). */
function assertCodecsOfKind(kind: 'audio' | 'video', rtpParameters: unknown): void {
  const codecs = (rtpParameters as { codecs?: unknown } | null)?.codecs;
  if (!Array.isArray(codecs) || codecs.length === 0)
    throw new AppError('invalid_input', 'invalid RTP parameters: codecs are required');
  for (const codec of codecs) {
    const mimeType = (codec as { mimeType?: unknown } | null)?.mimeType;
    if (typeof mimeType !== 'string' || !mimeType.toLowerCase().startsWith(`${kind}/`)) {
      throw new AppError(
        'invalid_input',
        `invalid RTP parameters: a ${kind} producer cannot carry ${String(mimeType).slice(0, 40)}`,
      );
    }
  }
}

async function asInvalidInput<T>(work: () => Promise<T>, what: string): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (
      error instanceof TypeError ||
      (error instanceof Error && /invalid|missing|wrong|not|unsupported/i.test(error.message))
    ) {
      throw new AppError('invalid_input', `invalid ${what}: ${error.message}`);
    }
    throw error;
  }
}
