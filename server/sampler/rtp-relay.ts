import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import type { Writable } from 'node:stream';
import { ivfFrame, ivfHeader, OggOpusWriter } from './containers.js';
import {
  AudioAssembler,
  opusSamples,
  VideoAssembler,
  vp8Dimensions,
  type EncodedFrame,
} from './depacketize.js';
import { parseRtp, TimestampUnwrapper } from './rtp.js';

export type RelayCodec = 'VP8' | 'H264' | 'opus';

interface RelayEvents {
  /** Video went missing (lost packets, or dropped because the decoder fell behind): ask for a keyframe. */
  loss: [];
}

/** What may wait in the decoder's stdin before frames are dropped instead (it fell behind). */
const maxBuffered = { video: 8 * 1024 * 1024, audio: 256 * 1024 };
/**
 * Writes to the decoder are gathered this long and leave as one (a writev): one system call and
 * one wake-up of ffmpeg per stream every 100 ms, instead of one per Opus packet (50/s) and two
 * per video frame (25-30/s). Those writes were a quarter of the main thread's work at 12
 * candidates. The delay is small against the sampling period and the rules' own delays.
 */
const coalesceMs = 100;
/** The IVF header wants a size; H.264 carries its own in the SPS, which the decoder uses. */
const h264PlaceholderSize = { width: 640, height: 480 };

/**
 * The tap's receiving end: a UDP socket on loopback that the tap's PlainTransport sends to,
 * turning the RTP into a container on the decoder's stdin. ffmpeg then needs no network input
 * of its own (no RTP port listening, no SDP, none of the options old builds lack) and exits
 * when its stdin closes, so a decoder never outlives the server that started it.
 */
export class RtpRelay extends EventEmitter<RelayEvents> {
  readonly codec: RelayCodec;
  readonly #socket: dgram.Socket;
  readonly #clockRate: number;
  readonly #video: VideoAssembler | undefined;
  readonly #audio: AudioAssembler | undefined;
  readonly #ogg = new OggOpusWriter();
  readonly #timestamps = new TimestampUnwrapper();
  #sink: Writable | undefined;
  #firstTimestamp: number | undefined;
  #skipUntilKeyframe = false;
  #closed = false;
  /** Pending while writes are being gathered (the sink is corked). */
  #flush: NodeJS.Timeout | undefined;

  private constructor(socket: dgram.Socket, codec: RelayCodec, clockRate: number) {
    super();
    this.codec = codec;
    this.#socket = socket;
    this.#clockRate = clockRate;
    if (codec === 'opus') this.#audio = new AudioAssembler();
    else this.#video = new VideoAssembler(codec);
    socket.on('message', (message) => this.#receive(message));
    // A socket error (the OS refusing a datagram) ends nothing: the tap watches for stalls.
    socket.on('error', () => undefined);
  }

  /** Binds a UDP port on `host` (the OS picks it); packets are dropped until `attach`. */
  static async open(host: string, codec: RelayCodec, clockRate: number): Promise<RtpRelay> {
    const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new RtpRelay(socket, codec, clockRate);
  }

  /** Maps a codec's mime type (`video/VP8`, `audio/opus`) to what the relay speaks, or undefined. */
  static codecOf(mimeType: string): RelayCodec | undefined {
    const name = mimeType.split('/')[1]?.toLowerCase();
    return name === 'vp8' ? 'VP8' : name === 'h264' ? 'H264' : name === 'opus' ? 'opus' : undefined;
  }

  get port(): number {
    return this.#socket.address().port;
  }

  /** The ffmpeg input format for what this relay writes. */
  get format(): 'ivf' | 'ogg' {
    return this.codec === 'opus' ? 'ogg' : 'ivf';
  }

  /** Where the container goes: the decoder's stdin. */
  attach(sink: Writable): void {
    this.#sink = sink;
    // EPIPE once ffmpeg has exited: the pipeline reports the exit itself.
    sink.on('error', () => undefined);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#flush);
    this.#socket.close();
    // end() uncorks: what was gathered still reaches the decoder.
    this.#sink?.end();
  }

  #receive(message: Buffer): void {
    const sink = this.#sink;
    if (!sink || this.#closed || !sink.writable) return;
    const packet = parseRtp(message);
    if (!packet) return;
    if (this.#audio) {
      const { frame } = this.#audio.push(packet);
      if (frame) this.#writeAudio(sink, frame);
      return;
    }
    const { frame, lost } = this.#video!.push(packet);
    if (lost) this.emit('loss');
    if (frame) this.#writeVideo(sink, frame);
  }

  #elapsed(timestamp: number): number {
    const unwrapped = this.#timestamps.unwrap(timestamp);
    this.#firstTimestamp ??= unwrapped;
    return unwrapped - this.#firstTimestamp;
  }

  #writeVideo(sink: Writable, frame: EncodedFrame): void {
    if (this.#skipUntilKeyframe && !frame.keyframe) return;
    if (sink.writableLength > maxBuffered.video) {
      // The decoder is behind by megabytes: drop until a keyframe rather than queue without end.
      if (!this.#skipUntilKeyframe) this.emit('loss');
      this.#skipUntilKeyframe = true;
      return;
    }
    this.#skipUntilKeyframe = false;
    if (this.#firstTimestamp === undefined) {
      const size = (this.codec === 'VP8' && vp8Dimensions(frame.data)) || h264PlaceholderSize;
      this.#write(
        sink,
        ivfHeader(this.codec === 'VP8' ? 'VP80' : 'H264', size.width, size.height, this.#clockRate),
      );
    }
    for (const part of ivfFrame(frame.data, this.#elapsed(frame.timestamp))) this.#write(sink, part);
  }

  #writeAudio(sink: Writable, frame: EncodedFrame): void {
    if (sink.writableLength > maxBuffered.audio) return; // behind: Opus decoders conceal gaps
    if (this.#firstTimestamp === undefined) {
      for (const page of this.#ogg.headers(2)) this.#write(sink, page);
    }
    const start = this.#elapsed(frame.timestamp) * (48_000 / this.#clockRate);
    this.#write(sink, this.#ogg.packet(frame.data, start + opusSamples(frame.data)));
  }

  /** Writes through the gathering window (see `coalesceMs`). */
  #write(sink: Writable, part: Buffer): void {
    if (!this.#flush) {
      sink.cork();
      this.#flush = setTimeout(() => {
        this.#flush = undefined;
        sink.uncork();
      }, coalesceMs);
      this.#flush.unref();
    }
    sink.write(part);
  }
}
