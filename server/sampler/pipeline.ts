import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import type { types } from 'mediasoup';
import type { Logger } from '../shared/index.js';
import { FixedChunker } from './chunker.js';
import { inputArgs } from './ffmpeg.js';
import { leaseUdpPort, type PortLease } from './ports.js';
import { RtpRelay } from './rtp-relay.js';
import type { TapKind } from './types.js';

export interface PipelineOptions {
  router: types.Router;
  producerId: string;
  kind: TapKind;
  ffmpegPath: string;
  /** ffmpeg arguments after the input: filters, format, `pipe:1`. */
  outputArgs: string[];
  /** stdout is cut into chunks of exactly this many bytes. */
  chunkBytes: number;
  logger: Logger;
  /** Video samples per second this pipeline was built for (undefined for audio). */
  fps: number | undefined;
}

export interface PipelineExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** We asked it to stop (close()). */
  requested: boolean;
  /** Last stderr lines other than banners, for the log and the fault message. */
  stderrTail: string[];
}

interface PipelineEvents {
  chunk: [Buffer];
  /** A decode problem ffmpeg reported on stderr (the tap answers with a keyframe request). */
  decodeError: [string];
  /** The producer, or the router under the tap, is gone: nothing will ever arrive again. */
  gone: [];
  exit: [PipelineExit];
}

type Decoder = ChildProcessByStdio<Writable, Readable, Readable>;

/** Everything between the router and ffmpeg binds only to the loopback interface. */
const host = '127.0.0.1';
const bindAttempts = 3;
const stderrTailLines = 12;
/** ffmpeg log levels (from `-loglevel level+…`) that mean a damaged or undecodable picture. */
const decodeProblem = /\[(error|warning)\]/;

/**
 * One tap attempt: a PlainTransport on the exam router with a paused consumer of the producer
 * (one codec, no RTX, no RTCP feedback, no header extensions: the decoder needs none of them),
 * the RTP relay it sends to (rtp-relay.ts: RTP → IVF or Ogg), and the ffmpeg process decoding
 * that from its stdin to stdout. Started in the order that loses nothing: relay and ffmpeg
 * first, then the consumer resumes and a keyframe is requested. Restarts build a new pipeline;
 * this one is never reused.
 */
export class DecoderPipeline extends EventEmitter<PipelineEvents> {
  readonly pid: number;
  readonly fps: number | undefined;
  readonly startedAt = Date.now();
  readonly #kind: TapKind;
  readonly #transport: types.PlainTransport;
  readonly #consumer: types.Consumer;
  readonly #lease: PortLease;
  readonly #relay: RtpRelay;
  readonly #decoder: Decoder;
  readonly #exited: Promise<PipelineExit>;
  readonly #stderrTail: string[];
  #closing: Promise<void> | undefined;
  #stopRequested = false;

  private constructor(parts: {
    options: PipelineOptions;
    transport: types.PlainTransport;
    consumer: types.Consumer;
    lease: PortLease;
    relay: RtpRelay;
    decoder: Decoder;
    exited: Promise<PipelineExit>;
    stderrTail: string[];
  }) {
    super();
    this.pid = parts.decoder.pid ?? -1;
    this.fps = parts.options.fps;
    this.#kind = parts.options.kind;
    this.#transport = parts.transport;
    this.#consumer = parts.consumer;
    this.#lease = parts.lease;
    this.#relay = parts.relay;
    this.#decoder = parts.decoder;
    this.#exited = parts.exited;
    this.#stderrTail = parts.stderrTail;
  }

  static async start(options: PipelineOptions): Promise<DecoderPipeline> {
    const { transport, lease } = await openTransport(options.router);
    const undo: (() => Promise<void> | void)[] = [() => transport.close(), () => lease.release()];
    try {
      const consumer = await transport.consume({
        producerId: options.producerId,
        rtpCapabilities: tapCapabilities(options.router, options.kind),
        paused: true,
        enableRtx: false,
      });
      const codec = consumer.rtpParameters.codecs[0];
      const relayCodec = codec && RtpRelay.codecOf(codec.mimeType);
      if (!codec || !relayCodec) {
        throw new Error(`the tap cannot decode ${codec?.mimeType ?? 'a stream without a codec'}`);
      }
      const relay = await RtpRelay.open(host, relayCodec, codec.clockRate);
      undo.push(() => relay.close());
      await transport.connect({ ip: host, port: relay.port });

      const decoder = spawn(options.ffmpegPath, [...inputArgs(relay.format), ...options.outputArgs], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      relay.attach(decoder.stdin);
      const stderrTail: string[] = [];
      const exited = new Promise<PipelineExit>((resolve) => {
        decoder.once('error', (error) => {
          stderrTail.push(error.message);
          resolve({ code: null, signal: null, requested: false, stderrTail });
        });
        decoder.once('exit', (code, signal) => resolve({ code, signal, requested: false, stderrTail }));
      });
      undo.push(() => stopDecoder(decoder, exited));
      const pipeline = new DecoderPipeline({
        options,
        transport,
        consumer,
        lease,
        relay,
        decoder,
        exited,
        stderrTail,
      });
      pipeline.#wire(options);

      await preferLayers(consumer, options.fps);
      await consumer.resume();
      if (options.kind === 'video') await consumer.requestKeyFrame();
      return pipeline;
    } catch (error) {
      for (const step of undo.reverse()) await step();
      throw error;
    }
  }

  /** Asks the candidate's encoder for a keyframe (a decoder can only start from one). */
  async requestKeyFrame(): Promise<void> {
    if (this.#kind !== 'video' || this.#consumer.closed) return;
    await this.#consumer.requestKeyFrame();
  }

  /** Bytes the consumer has sent to ffmpeg so far; undefined once it is gone. */
  async sentBytes(): Promise<number | undefined> {
    if (this.#consumer.closed) return undefined;
    try {
      let bytes = 0;
      for (const stat of await this.#consumer.getStats()) {
        if (stat.type === 'outbound-rtp') bytes += stat.byteCount;
      }
      return bytes;
    } catch {
      return undefined; // closed meanwhile
    }
  }

  /** The candidate paused the producer (so silence is expected). */
  get producerPaused(): boolean {
    return this.#consumer.producerPaused;
  }

  get consumerClosed(): boolean {
    return this.#consumer.closed;
  }

  /** Stops ffmpeg, closes the transport, frees the ports. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#stopRequested = true;
      this.#relay.close();
      await stopDecoder(this.#decoder, this.#exited);
      this.#transport.close();
      this.#lease.release();
    })();
    return this.#closing;
  }

  #wire(options: PipelineOptions): void {
    const log = options.logger.child({ ffmpeg: this.pid });
    const chunker = new FixedChunker(options.chunkBytes);
    this.#decoder.stdout.on('data', (data: Buffer) => {
      if (this.#stopRequested) return;
      chunker.push(data, (chunk) => this.emit('chunk', chunk));
    });
    let partial = '';
    this.#decoder.stderr.setEncoding('utf8');
    this.#decoder.stderr.on('data', (text: string) => {
      const lines = (partial + text).split(/\r?\n/);
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (!line) continue;
        log.debug({ line }, 'ffmpeg');
        // The tail explains failures: stream banners ("[info] …") would crowd it out.
        if (line.includes('[info]')) continue;
        this.#stderrTail.push(line);
        if (this.#stderrTail.length > stderrTailLines) this.#stderrTail.shift();
        if (decodeProblem.test(line)) this.emit('decodeError', line);
      }
    });
    this.#relay.on('loss', () => {
      if (!this.#stopRequested) this.emit('decodeError', 'RTP packets lost before the decoder');
    });
    const gone = () => {
      if (!this.#stopRequested) this.emit('gone');
    };
    this.#consumer.on('producerclose', gone);
    this.#consumer.on('transportclose', gone);
    void this.#exited.then((exit) => {
      this.emit('exit', { ...exit, requested: this.#stopRequested });
    });
  }
}

/** The tap's local end: RTP (with RTCP muxed) on a leased loopback port. */
async function openTransport(
  router: types.Router,
): Promise<{ transport: types.PlainTransport; lease: PortLease }> {
  for (let attempt = 1; ; attempt += 1) {
    const lease = await leaseUdpPort(host);
    try {
      const transport = await router.createPlainTransport({
        listenInfo: { protocol: 'udp', ip: host, port: lease.port },
        rtcpMux: true,
        comedia: false,
        appData: { purpose: 'sampler' },
      });
      return { transport, lease };
    } catch (error) {
      lease.release();
      // Another process took a leased port in the instant between probe and bind: lease again.
      if (attempt >= bindAttempts || router.closed) throw error;
    }
  }
}

/**
 * Decode only what is analysed: of a simulcast camera, the top spatial layer (the page's top
 * layer is the 640x480 the analysis works at; the lower one is half that) and, at monitoring
 * rates, only the base temporal layer — a quarter of the camera's frame rate with Chrome's
 * default L1T3, still several frames per sampled one — so ffmpeg decodes a quarter of the
 * frames. Liveness challenges (10/s) keep every temporal layer. Set before the first resume,
 * so it costs no extra keyframe request.
 */
async function preferLayers(consumer: types.Consumer, fps: number | undefined): Promise<void> {
  if (fps === undefined || consumer.type !== 'simulcast') return;
  const mode = /^L(\d+)T(\d+)/.exec(consumer.rtpParameters.encodings?.[0]?.scalabilityMode ?? '');
  const spatial = Math.max(1, Number(mode?.[1] ?? 1));
  const temporal = Math.max(1, Number(mode?.[2] ?? 1));
  await consumer.setPreferredLayers({
    spatialLayer: spatial - 1,
    temporalLayer: fps <= baseLayerMaxFps ? 0 : temporal - 1,
  });
}

/** Sampling rates the base temporal layer serves (it runs at about 6/s from a 24/s camera). */
const baseLayerMaxFps = 3;

/** What the tap asks for: the router's codecs of this kind, stripped of RTX, feedback and extensions. */
function tapCapabilities(router: types.Router, kind: TapKind): types.RtpCapabilities {
  const codecs = (router.rtpCapabilities.codecs ?? [])
    .filter((codec) => codec.kind === kind && !/\/rtx$/i.test(codec.mimeType))
    .map((codec) => ({ ...codec, rtcpFeedback: [] }));
  return { codecs, headerExtensions: [] };
}

/**
 * SIGKILL: a decoder has nothing to flush, and ffmpeg only notices a first SIGTERM after its
 * next packet, which never comes once the producer has gone (it waited the full grace period).
 */
async function stopDecoder(decoder: Decoder, exited: Promise<PipelineExit>): Promise<void> {
  if (decoder.exitCode === null && decoder.signalCode === null && decoder.pid !== undefined) {
    decoder.kill('SIGKILL');
  }
  await exited;
}
