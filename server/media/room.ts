import type { types } from 'mediasoup';
import { mediaCodecs } from './codecs.js';
import type { PooledWorker, WorkerPool } from './worker-pool.js';

interface RoomRouter {
  router: types.Router;
  slot: PooledWorker;
  transports: number;
}

/**
 * An exam's media: one router to begin with; when it holds `capacity` transports, the next
 * peers get a router on another worker, and producers are piped to whichever router a
 * consumer sits on. A big exam thus spreads over cores instead of saturating one.
 */
export class Room {
  readonly examId: string;
  readonly #pool: WorkerPool;
  readonly #capacity: number;
  readonly #routers: RoomRouter[] = [];
  /** Which router each producer was created on. */
  readonly #producerRouters = new Map<string, types.Router>();
  /** `${producerId}:${routerId}` already piped (or being piped). */
  readonly #piped = new Map<string, Promise<void>>();
  #closed = false;

  private constructor(examId: string, pool: WorkerPool, capacity: number) {
    this.examId = examId;
    this.#pool = pool;
    this.#capacity = capacity;
  }

  static async create(examId: string, pool: WorkerPool, capacity: number): Promise<Room> {
    const room = new Room(examId, pool, capacity);
    await room.#addRouter(pool.leastLoaded());
    return room;
  }

  /** The first router (capabilities are the same on every router of the room). */
  get router(): types.Router {
    return this.#routers[0]!.router;
  }

  /** Workers this room uses (for worker-failure handling). */
  get workerIndexes(): number[] {
    return this.#routers.map((entry) => entry.slot.index);
  }

  get routerCount(): number {
    return this.#routers.length;
  }

  get closed(): boolean {
    return this.#closed || this.#routers.some((entry) => entry.router.closed);
  }

  /**
   * A router with room for one more transport, adding one on a worker the room does not use
   * yet when all are full. (A producer keeps its id when piped, and ids are unique per worker,
   * so one room never has two routers on one worker.) With every worker in use, the least
   * busy router takes the transport beyond its capacity.
   */
  async routerForNewTransport(): Promise<RoomRouter> {
    const free = this.#routers.find((entry) => entry.transports < this.#capacity);
    if (free) return free;
    const used = new Set(this.workerIndexes);
    const [slot] = this.#pool.workers
      .filter((candidate) => !used.has(candidate.index))
      .sort((a, b) => a.routers - b.routers);
    if (slot) return this.#addRouter(slot);
    return [...this.#routers].sort((a, b) => a.transports - b.transports)[0]!;
  }

  async createWebRtcTransport(): Promise<{ transport: types.WebRtcTransport; router: types.Router }> {
    const entry = await this.routerForNewTransport();
    const transport = await entry.router.createWebRtcTransport({
      webRtcServer: entry.slot.webRtcServer,
      enableUdp: true,
      enableTcp: true,
      preferUdp: true,
      initialAvailableOutgoingBitrate: 600_000,
    });
    entry.transports += 1;
    transport.observer.on('close', () => (entry.transports -= 1));
    return { transport, router: entry.router };
  }

  registerProducer(producerId: string, router: types.Router): void {
    this.#producerRouters.set(producerId, router);
  }

  forgetProducer(producerId: string): void {
    this.#producerRouters.delete(producerId);
    for (const key of this.#piped.keys()) if (key.startsWith(`${producerId}:`)) this.#piped.delete(key);
  }

  /** Makes `producerId` consumable on `target` (piping it there from its own router once). */
  async bringProducerTo(producerId: string, target: types.Router): Promise<void> {
    const source = this.#producerRouters.get(producerId) ?? this.router;
    if (source.id === target.id) return;
    const key = `${producerId}:${target.id}`;
    let piping = this.#piped.get(key);
    if (!piping) {
      piping = source.pipeToRouter({ producerId, router: target }).then(() => undefined);
      this.#piped.set(key, piping);
      piping.catch(() => this.#piped.delete(key));
    }
    await piping;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const entry of this.#routers) {
      entry.slot.routers = Math.max(0, entry.slot.routers - 1);
      entry.router.close();
    }
  }

  async #addRouter(slot: PooledWorker): Promise<RoomRouter> {
    const router = await slot.worker.createRouter({ mediaCodecs, appData: { examId: this.examId } });
    slot.routers += 1;
    const entry: RoomRouter = { router, slot, transports: 0 };
    this.#routers.push(entry);
    return entry;
  }
}
