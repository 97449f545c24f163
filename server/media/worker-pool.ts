import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import type { Logger } from '../shared/index.js';
import { loadMediasoup } from './load.js';

export interface WorkerPoolOptions {
  workers: number;
  announcedIp: string;
  /**
   * Worker i serves all WebRTC traffic on UDP+TCP port `minPort + i` (its WebRtcServer); the
   * rest of the range is for internal transports.
   */
  minPort: number;
  maxPort: number;
  logger: Logger;
}

export interface PooledWorker {
  index: number;
  worker: types.Worker;
  webRtcServer: types.WebRtcServer;
  /** Routers placed on this worker (load measure for placement). */
  routers: number;
}

interface WorkerPoolEvents {
  /** A worker died and was replaced; everything it hosted is gone. */
  replaced: [{ index: number; previousPid: number }];
}

/**
 * One mediasoup worker per core, each with a WebRtcServer so all its transports share one
 * UDP and one TCP port (friendly to firewalls and Kubernetes). A worker that dies is replaced
 * on the same port and announced with `replaced`.
 */
export class WorkerPool extends EventEmitter<WorkerPoolEvents> {
  readonly #options: WorkerPoolOptions;
  readonly #slots: PooledWorker[] = [];
  #closed = false;

  private constructor(options: WorkerPoolOptions) {
    super();
    this.#options = options;
  }

  static async create(options: WorkerPoolOptions): Promise<WorkerPool> {
    const available = options.maxPort - options.minPort + 1;
    if (options.workers > available) {
      throw new Error(
        `RTC port range ${options.minPort}-${options.maxPort} is too small for ${options.workers} workers`,
      );
    }
    const pool = new WorkerPool(options);
    for (let index = 0; index < options.workers; index += 1) pool.#slots.push(await pool.#start(index));
    return pool;
  }

  get workers(): readonly PooledWorker[] {
    return this.#slots;
  }

  /** The worker with the fewest routers. */
  leastLoaded(): PooledWorker {
    const [best] = [...this.#slots].sort((a, b) => a.routers - b.routers);
    if (!best) throw new Error('worker pool is empty');
    return best;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const slot of this.#slots) slot.worker.close();
  }

  async #start(index: number): Promise<PooledWorker> {
    const mediasoup = await loadMediasoup();
    const log = this.#options.logger.child({ mediaWorker: index });
    const port = this.#options.minPort + index;
    // Ports above the WebRtcServers' serve loopback pipe transports (an exam spread over
    // workers) and plain RTP taps; they need no firewall opening.
    const internalMin = Math.min(this.#options.minPort + this.#options.workers, this.#options.maxPort);
    const worker = await mediasoup.createWorker({
      logLevel: 'warn',
      rtcMinPort: internalMin,
      rtcMaxPort: this.#options.maxPort,
    });
    const webRtcServer = await worker.createWebRtcServer({
      listenInfos: [
        { protocol: 'udp', ip: '0.0.0.0', announcedAddress: this.#options.announcedIp, port },
        { protocol: 'tcp', ip: '0.0.0.0', announcedAddress: this.#options.announcedIp, port },
      ],
    });
    const slot: PooledWorker = { index, worker, webRtcServer, routers: 0 };
    worker.on('died', (error) => {
      if (this.#closed) return;
      log.error({ err: error, pid: worker.pid }, 'mediasoup worker died; replacing it');
      void this.#replace(index, worker.pid);
    });
    log.info({ pid: worker.pid, port }, 'mediasoup worker ready');
    return slot;
  }

  async #replace(index: number, previousPid: number): Promise<void> {
    // The dead worker's port is released when its process exits; retry briefly if not yet.
    for (let attempt = 0; attempt < 20 && !this.#closed; attempt += 1) {
      try {
        this.#slots[index] = await this.#start(index);
        this.emit('replaced', { index, previousPid });
        return;
      } catch (error) {
        this.#options.logger.warn({ err: error, attempt }, 'restarting mediasoup worker failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  }
}
