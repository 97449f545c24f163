/**
 * One pre-encoded RTP stream copied to many mediasoup PlainTransports, each copy with its own
 * SSRC: a hundred synthetic cameras for the price of one ffmpeg and a UDP relay, so that a
 * benchmark measures the dashboard, not its stand-ins.
 */
import dgram from 'node:dgram';
import { freeUdpPort, startRtpSource, type RtpSource } from './rtp-source.js';

/** The SSRC sits at bytes 8–11 of every RTP header (RFC 3550, section 5.1). */
const SSRC_OFFSET = 8;

export class RtpFanout {
  readonly #inbound: dgram.Socket;
  readonly #outbound: dgram.Socket;
  readonly #source: RtpSource;
  readonly #targets: { port: number; ssrc: number }[] = [];

  private constructor(inbound: dgram.Socket, outbound: dgram.Socket, source: RtpSource) {
    this.#inbound = inbound;
    this.#outbound = outbound;
    this.#source = source;
    inbound.on('message', (packet) => {
      if (packet.length < 12) return;
      for (const target of this.#targets) {
        const copy = Buffer.from(packet);
        copy.writeUInt32BE(target.ssrc, SSRC_OFFSET);
        this.#outbound.send(copy, target.port, '127.0.0.1');
      }
    });
  }

  /** Starts ffmpeg sending `input` (from `encodeForRtp`) to the relay. */
  static async start(input: string, payloadType: number, maxSeconds: number): Promise<RtpFanout> {
    const bind = async (socket: dgram.Socket) => {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(0, '127.0.0.1', () => resolve());
      });
      return socket;
    };
    const inbound = await bind(dgram.createSocket('udp4'));
    const outbound = await bind(dgram.createSocket('udp4'));
    const source = startRtpSource({
      input,
      port: inbound.address().port,
      localPort: await freeUdpPort(),
      ssrc: 1,
      payloadType,
      maxSeconds,
    });
    return new RtpFanout(inbound, outbound, source);
  }

  /** Another copy of the stream, to a transport listening on `port`. */
  add(port: number, ssrc: number): void {
    this.#targets.push({ port, ssrc });
  }

  async close(): Promise<void> {
    await this.#source.stop();
    this.#inbound.close();
    this.#outbound.close();
  }
}
