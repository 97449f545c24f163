/**
 * Sends the candidate's camera and microphone to the SFU: one send transport, one producer per
 * source. `restart()` rebuilds everything (first connect, socket reconnect, `media:reconnect`,
 * ICE failure); a generation counter makes a newer restart cancel an older one mid-way.
 */
import type { Device } from 'mediasoup-client';
import {
  CAMERA_ENCODINGS,
  findCodec,
  loadDevice,
  onConnect,
  transportOptions,
  type ms,
} from '../shared/media.js';
import { request, type CandidateSocket } from '../shared/socket.js';
import type { Source } from './preview.js';

export interface PublisherEvents {
  /** Media is flowing (true) or being (re)built / broken (false), with a line for the candidate. */
  state(ok: boolean, message: string): void;
}

/**
 * Produce order matters: mediasoup-client 3.7.x takes RTP header-extension ids from a probe
 * offer that lists audio before video, and Chrome >= 140 numbers ids per offer in m-section
 * order. Audio first keeps them equal; video first fails with "RTP extension ID reassignment".
 */
const SOURCES: readonly Source[] = ['microphone', 'camera'];
/** ICE failures are retried with back-off; a socket reconnect resets it. */
const ICE_RETRY_MS = [1_000, 3_000, 10_000];

class Superseded extends Error {}

export class Publisher {
  readonly #socket: CandidateSocket;
  readonly #events: PublisherEvents;
  readonly #tracks = new Map<Source, MediaStreamTrack>();
  /** Per-track listeners (mute/unmute), removed when the track is swapped. */
  readonly #trackListeners = new Map<Source, AbortController>();
  readonly #producers = new Map<Source, ms.Producer>();
  #device: Device | null = null;
  #transport: ms.Transport | null = null;
  #generation = 0;
  #iceFailures = 0;
  #iceTimer: number | undefined;
  #closed = false;

  constructor(socket: CandidateSocket, events: PublisherEvents) {
    this.#socket = socket;
    this.#events = events;
  }

  /** Use this track for a source: swapped into the live producer, or produced if there is none. */
  async setTrack(source: Source, track: MediaStreamTrack): Promise<void> {
    this.#tracks.set(source, track);
    this.#watchTrack(source, track);
    if (this.#closed || !this.#transport) return;
    const producer = this.#producers.get(source);
    try {
      if (producer && !producer.closed) {
        await producer.replaceTrack({ track });
        await this.#syncMuted(source, producer, track);
      } else {
        await this.#produce(this.#generation, source);
      }
    } catch (err) {
      if (err instanceof Superseded) return;
      this.#events.state(false, `Could not switch ${source}: ${errorMessage(err)}`);
    }
  }

  /** Drop the current transport and producers and build them again. */
  async restart(reason: string): Promise<void> {
    if (this.#closed) return;
    const generation = ++this.#generation;
    // After an ICE failure the server still holds our producers; elsewhere they died with the
    // old connection or media server.
    if (reason === 'retry')
      for (const producer of this.#producers.values()) void this.#dropProducer(producer);
    this.#teardown();
    if (!this.#socket.connected) return;
    this.#events.state(false, reason === 'join' ? 'Connecting your camera…' : 'Reconnecting your camera…');
    try {
      const { routerRtpCapabilities } = await request(this.#socket, 'media:capabilities', {});
      this.#check(generation);
      const device = await loadDevice(routerRtpCapabilities);
      this.#check(generation);
      const data = await request(this.#socket, 'media:createTransport', { direction: 'send' });
      this.#check(generation);
      this.#device = device;
      this.#transport = this.#createTransport(generation, device, data);
      for (const source of SOURCES) await this.#produce(generation, source);
      this.#check(generation);
      this.#events.state(true, 'Your camera and microphone are being shared with your proctor.');
    } catch (err) {
      // A newer restart closed this one's transport under it: that one reports.
      if (err instanceof Superseded || generation !== this.#generation) return;
      this.#events.state(false, `Could not share your camera: ${errorMessage(err)}`);
      this.#scheduleRetry(generation);
    }
  }

  /** The connection dropped: the server forgot our transport, so forget it too (no requests). */
  disconnected(): void {
    this.#generation++;
    window.clearTimeout(this.#iceTimer);
    this.#teardown();
  }

  /** A reconnect is a fresh start for the ICE back-off. */
  connected(): void {
    this.#iceFailures = 0;
  }

  /** For good: the session ended. The page stops the tracks. */
  close(): void {
    this.#closed = true;
    this.disconnected();
    for (const listeners of this.#trackListeners.values()) listeners.abort();
    this.#trackListeners.clear();
  }

  #createTransport(
    generation: number,
    device: Device,
    data: Parameters<typeof transportOptions>[0],
  ): ms.Transport {
    const transport = device.createSendTransport(transportOptions(data));
    onConnect(transport, (dtlsParameters) =>
      request(this.#socket, 'media:connectTransport', { transportId: transport.id, dtlsParameters }),
    );
    transport.on('produce', ({ kind, rtpParameters, appData }, callback, errback) => {
      const source = appData.source;
      if (source !== 'camera' && source !== 'microphone')
        return errback(new Error('producer without a source'));
      request(this.#socket, 'media:produce', { transportId: transport.id, kind, rtpParameters, source }).then(
        ({ producerId }) => callback({ id: producerId }),
        errback,
      );
    });
    transport.on('connectionstatechange', (state) => {
      if (state === 'connected') this.#iceFailures = 0;
      // The socket may be fine while UDP is blocked or the network changed: rebuild the media path.
      if (state === 'failed' && generation === this.#generation) {
        this.#events.state(false, 'Video connection lost, retrying…');
        this.#scheduleRetry(generation);
      }
    });
    return transport;
  }

  async #produce(generation: number, source: Source): Promise<void> {
    const transport = this.#transport;
    const device = this.#device;
    const track = this.#tracks.get(source);
    if (!transport || !device || !track || track.readyState !== 'live') return;
    const kind = source === 'camera' ? 'video' : 'audio';
    if (!device.canProduce(kind)) throw new Error(`this browser cannot send ${kind} to the server`);
    const producer =
      source === 'camera'
        ? await transport.produce({
            track,
            codec: findCodec(device, 'video/VP8'),
            encodings: CAMERA_ENCODINGS,
            codecOptions: { videoGoogleStartBitrate: 500 },
            // The preview keeps using the track after a producer closes (reconnects).
            stopTracks: false,
            appData: { source },
          })
        : await transport.produce({
            track,
            codec: findCodec(device, 'audio/opus'),
            codecOptions: { opusDtx: true, opusFec: true },
            stopTracks: false,
            appData: { source },
          });
    if (generation !== this.#generation) {
      producer.close();
      throw new Superseded();
    }
    const previous = this.#producers.get(source);
    if (previous) void this.#dropProducer(previous);
    this.#producers.set(source, producer);
    producer.on('trackended', () => void this.#trackEnded(source, producer));
    await this.#syncMuted(source, producer, track);
  }

  /** The device went away: the producer is useless, so close it here and on the server. */
  async #trackEnded(source: Source, producer: ms.Producer): Promise<void> {
    if (this.#producers.get(source) === producer) this.#producers.delete(source);
    await this.#dropProducer(producer);
  }

  async #dropProducer(producer: ms.Producer): Promise<void> {
    producer.close();
    if (!this.#socket.connected) return;
    try {
      await request(this.#socket, 'media:closeProducer', { producerId: producer.id });
    } catch (err) {
      console.warn(`media:closeProducer ${producer.id} failed`, err);
    }
  }

  /** A muted track (OS privacy switch, another app grabbed the device) pauses the producer. */
  #watchTrack(source: Source, track: MediaStreamTrack): void {
    this.#trackListeners.get(source)?.abort();
    const listeners = new AbortController();
    this.#trackListeners.set(source, listeners);
    const sync = () => {
      const producer = this.#producers.get(source);
      if (producer && !producer.closed) void this.#syncMuted(source, producer, track);
    };
    track.addEventListener('mute', sync, { signal: listeners.signal });
    track.addEventListener('unmute', sync, { signal: listeners.signal });
  }

  async #syncMuted(source: Source, producer: ms.Producer, track: MediaStreamTrack): Promise<void> {
    if (producer.track !== track || track.muted === producer.paused) return;
    try {
      if (track.muted) {
        producer.pause();
        await request(this.#socket, 'media:pauseProducer', { producerId: producer.id });
      } else {
        producer.resume();
        await request(this.#socket, 'media:resumeProducer', { producerId: producer.id });
      }
    } catch (err) {
      console.warn(`could not ${track.muted ? 'pause' : 'resume'} the ${source} producer`, err);
    }
  }

  #scheduleRetry(generation: number): void {
    const delay = ICE_RETRY_MS[Math.min(this.#iceFailures, ICE_RETRY_MS.length - 1)] ?? 10_000;
    this.#iceFailures++;
    window.clearTimeout(this.#iceTimer);
    this.#iceTimer = window.setTimeout(() => {
      if (generation === this.#generation) void this.restart('retry');
    }, delay);
  }

  #check(generation: number): void {
    if (generation !== this.#generation || this.#closed) throw new Superseded();
  }

  #teardown(): void {
    // Closing the transport closes its producers; the tracks stay (stopTracks: false).
    this.#transport?.close();
    this.#transport = null;
    this.#device = null;
    this.#producers.clear();
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
