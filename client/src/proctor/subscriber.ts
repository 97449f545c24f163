/**
 * The dashboard's one receive transport and its consumers, keyed by producer id. Built per
 * (re)connection with `Subscriber.create()`; `close()` drops the transport and every consumer.
 */
import type { Device } from 'mediasoup-client';
import { loadDevice, onConnect, transportOptions, type ms } from '../shared/media.js';
import { bestEffort, request, type ProctorSocket } from '../shared/socket.js';

export class Subscriber {
  readonly #socket: ProctorSocket;
  readonly #device: Device;
  readonly #transport: ms.Transport;
  readonly #consumers = new Map<string, ms.Consumer>();
  /** In-flight consume requests, so two pushes for one producer don't make two consumers. */
  readonly #pending = new Map<string, Promise<ms.Consumer>>();
  #closed = false;

  private constructor(socket: ProctorSocket, device: Device, transport: ms.Transport) {
    this.#socket = socket;
    this.#device = device;
    this.#transport = transport;
  }

  static async create(socket: ProctorSocket, examId: string, onFailed: () => void): Promise<Subscriber> {
    const { routerRtpCapabilities } = await request(socket, 'media:capabilities', { examId });
    const device = await loadDevice(routerRtpCapabilities);
    const data = await request(socket, 'media:createTransport', { examId, direction: 'recv' });
    const transport = device.createRecvTransport(transportOptions(data));
    onConnect(transport, (dtlsParameters) =>
      request(socket, 'media:connectTransport', { transportId: transport.id, dtlsParameters }),
    );
    transport.on('connectionstatechange', (state) => {
      if (state === 'failed') onFailed();
    });
    return new Subscriber(socket, device, transport);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Consume a producer and resume it once the caller attached the track (the server creates
   * consumers paused so no keyframe is wasted before the video element exists).
   */
  consume(
    producerId: string,
    attach: (track: MediaStreamTrack) => void,
    { paused = false }: { paused?: boolean } = {},
  ): Promise<ms.Consumer> {
    const existing = this.#consumers.get(producerId);
    if (existing && !existing.closed) {
      // Paused on both sides (Listen off, tile off screen): resume both.
      if (!paused) this.resumeLocally(producerId);
      attach(existing.track);
      return Promise.resolve(existing);
    }
    let pending = this.#pending.get(producerId);
    if (!pending) {
      pending = this.#create(producerId).finally(() => this.#pending.delete(producerId));
      this.#pending.set(producerId, pending);
    }
    return pending.then(async (consumer) => {
      attach(consumer.track);
      // A tile off screen keeps its consumer paused (as the server created it) until it shows.
      if (paused) consumer.pause();
      else await request(this.#socket, 'media:resume', { consumerId: consumer.id });
      // Grid tiles are small: ask for the low simulcast layer and spare the candidate's uplink.
      if (consumer.kind === 'video')
        await request(this.#socket, 'media:setLayers', { consumerId: consumer.id, spatialLayer: 0 });
      return consumer;
    });
  }

  /** Stop a consumer but keep it for a quick resume (Listen off); the server stops sending too. */
  pauseLocally(producerId: string): void {
    const consumer = this.#consumers.get(producerId);
    if (!consumer || consumer.closed || consumer.paused) return;
    consumer.pause();
    bestEffort(request(this.#socket, 'media:pause', { consumerId: consumer.id }), 'media:pause');
  }

  /** Start a paused consumer again (its tile came back on screen); the server sends a keyframe. */
  resumeLocally(producerId: string): void {
    const consumer = this.#consumers.get(producerId);
    if (!consumer || consumer.closed || !consumer.paused) return;
    consumer.resume();
    bestEffort(request(this.#socket, 'media:resume', { consumerId: consumer.id }), 'media:resume');
  }

  /** Forget a producer's consumer (the producer closed or its candidate left). */
  release(producerId: string): void {
    const consumer = this.#consumers.get(producerId);
    this.#consumers.delete(producerId);
    if (!consumer || consumer.closed) return;
    consumer.close();
    // The server may have closed it already (producer gone): a not_found answer is fine.
    bestEffort(
      request(this.#socket, 'media:closeConsumer', { consumerId: consumer.id }),
      'media:closeConsumer',
    );
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // Closing the transport closes every consumer and its track; tell the server to drop it too.
    this.#transport.close();
    this.#consumers.clear();
    if (this.#socket.connected) {
      bestEffort(
        request(this.#socket, 'media:closeTransport', { transportId: this.#transport.id }),
        'media:closeTransport',
      );
    }
  }

  async #create(producerId: string): Promise<ms.Consumer> {
    const data = await request(this.#socket, 'media:consume', {
      transportId: this.#transport.id,
      producerId,
      rtpCapabilities: this.#device.rtpCapabilities,
    });
    if (this.#closed) throw new Error('transport closed while consuming');
    const consumer = await this.#transport.consume({
      id: data.id,
      producerId: data.producerId,
      kind: data.kind,
      rtpParameters: data.rtpParameters as ms.RtpParameters,
    });
    this.#consumers.set(producerId, consumer);
    return consumer;
  }
}
