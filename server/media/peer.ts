import type { types } from 'mediasoup';
import { AppError } from '../shared/index.js';

export type ProducerSource = 'camera' | 'microphone';

export interface PeerIdentity {
  /** The socket id: one peer per connected page. */
  id: string;
  examId: string;
  /** Set for candidates (the session they produce for); null for proctors. */
  sessionId: string | null;
  role: 'candidate' | 'proctor';
}

/**
 * One connected page's media objects. A peer only ever touches its own transports,
 * producers and consumers: ids from elsewhere are "not found".
 */
export class Peer {
  readonly identity: PeerIdentity;
  readonly transports = new Map<string, types.WebRtcTransport>();
  /** The room router each transport lives on (an exam may span several). */
  readonly transportRouters = new Map<string, types.Router>();
  readonly producers = new Map<string, types.Producer<{ source: ProducerSource; sessionId: string }>>();
  readonly consumers = new Map<string, types.Consumer>();
  #closed = false;

  constructor(identity: PeerIdentity) {
    this.identity = identity;
  }

  get closed(): boolean {
    return this.#closed;
  }

  transport(transportId: string): types.WebRtcTransport {
    const transport = this.transports.get(transportId);
    if (!transport) throw new AppError('not_found', 'unknown transport');
    return transport;
  }

  producer(producerId: string) {
    const producer = this.producers.get(producerId);
    if (!producer) throw new AppError('not_found', 'unknown producer');
    return producer;
  }

  consumer(consumerId: string): types.Consumer {
    const consumer = this.consumers.get(consumerId);
    if (!consumer) throw new AppError('not_found', 'unknown consumer');
    return consumer;
  }

  /** Forgets media objects that died with their worker (they are already closed). */
  reset(): void {
    for (const transport of this.transports.values()) transport.close();
    this.transports.clear();
    this.transportRouters.clear();
    this.producers.clear();
    this.consumers.clear();
  }

  /** Closes everything the peer owns. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.reset();
  }
}
