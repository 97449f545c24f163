/**
 * Worker-thread side: face tracking per stream. Human can skip its face detector on most video
 * frames and run the mesh on the boxes it found before (MediaPipe's detect-then-track design),
 * but it keeps those boxes in module state, so one Human module serves one stream only. Each
 * stream gets a Human of its own (a fresh copy of the module with just the detector, mesh and
 * iris models, ~6 MB), kept while the stream lasts, the least recently used dropped beyond a
 * bound.
 */
import type { Human } from '@vladmandic/human';

/** Streams one worker keeps a tracker for (each ~6 MB of weights and its module's code). */
const defaultCapacity = 64;

export class FaceTrackers {
  readonly #load: () => Promise<Human>;
  readonly #capacity: number;
  /** Insertion order is use order: a stream's entry is re-inserted on each use. */
  readonly #trackers = new Map<string, Human>();

  constructor(load: () => Promise<Human>, capacity = defaultCapacity) {
    this.#load = load;
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#trackers.size;
  }

  async get(streamId: string): Promise<Human> {
    let tracker = this.#trackers.get(streamId);
    if (tracker) {
      this.#trackers.delete(streamId);
    } else {
      tracker = await this.#load();
      for (const [oldest] of this.#trackers) {
        if (this.#trackers.size < this.#capacity) break;
        this.forget(oldest);
      }
    }
    this.#trackers.set(streamId, tracker);
    return tracker;
  }

  /** The stream ended: free its models' weights. */
  forget(streamId: string): void {
    const tracker = this.#trackers.get(streamId);
    if (!tracker) return;
    this.#trackers.delete(streamId);
    for (const model of Object.values(tracker.models.models)) model?.dispose();
  }
}
