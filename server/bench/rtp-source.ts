/**
 * Stand-ins for candidates' browsers, used by the benchmarks and the sampler tests: media
 * encoded once with Debian's ffmpeg and sent as plain RTP into a mediasoup PlainTransport.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { MediaService } from '../media/index.js';
import { toolFfmpeg } from '../sampler/index.js';
import { packageRoot } from '../shared/index.js';

const run = promisify(execFile);

/**
 * Speech for microphone streams: the checkout's committed fixture (made by
 * scripts/make-audio-fixtures.sh), else spoken by espeak-ng (Debian package "espeak-ng").
 */
export async function speechWav(dir: string): Promise<string> {
  const fixture = path.join(packageRoot(), 'test', 'fixtures', 'audio', 'speech.wav');
  if (fs.existsSync(fixture)) return fixture;
  const file = path.join(dir, 'speech.wav');
  const text =
    'Please keep your eyes on the screen. The exam has started. Read each question carefully before answering.';
  try {
    await run('espeak-ng', ['-s', '150', '-w', file, text], { timeout: 20_000 });
  } catch (error) {
    throw new Error(`espeak-ng (Debian package "espeak-ng") is needed for the audio tests: ${String(error)}`);
  }
  return file;
}

/** A free UDP port on 127.0.0.1 (probe-bound, then released for the caller to use). */
export async function freeUdpPort(): Promise<number> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => resolve());
  });
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

export interface RtpSource {
  pid: number;
  /** Stops sending (SIGKILL: a camera that vanishes). Resolves once the process is gone. */
  stop(): Promise<void>;
}

/**
 * Encodes a clip once, as a browser would send it: VP8 (keyframe every `gop` frames, since
 * ffmpeg as a sender ignores keyframe requests) in IVF, or Opus in Ogg. Sources then only
 * copy packets, so they stay steady and cheap on a busy 2-core machine.
 */
export async function encodeForRtp(
  kind: 'video' | 'audio',
  input: string,
  dir: string,
  gop = 12,
): Promise<string> {
  const output = path.join(dir, kind === 'video' ? `camera-gop${gop}.ivf` : 'microphone.ogg');
  const codec =
    kind === 'video'
      ? ['-an', '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '16', '-b:v', '400k']
          .concat(['-g', String(gop), '-keyint_min', String(gop), '-auto-alt-ref', '0'])
          .concat(['-pix_fmt', 'yuv420p'])
      : ['-vn', '-c:a', 'libopus', '-ar', '48000', '-ac', '2', '-b:a', '32k', '-application', 'voip'];
  await run(
    toolFfmpeg(),
    ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', '-i', input, ...codec, output],
    // Generous: on a shared 2-core machine under load a 12 s clip has taken over a minute.
    { timeout: 180_000 },
  );
  return output;
}

export interface RtpSourceOptions {
  /** A file from `encodeForRtp`, looped forever and sent at its own pace (`-re`). */
  input: string;
  /** Where the mediasoup PlainTransport listens. */
  port: number;
  /** Fixed source port, so a restarted source is the same remote tuple to a comedia transport. */
  localPort: number;
  ssrc: number;
  payloadType: number;
  /** Stop sending after this long (default 180 s). */
  maxSeconds?: number;
}

/**
 * A candidate stand-in: ffmpeg (Debian) sending a pre-encoded VP8 or Opus file as RTP, from
 * one fixed port and without RTCP (see below).
 */
export function startRtpSource(options: RtpSourceOptions): RtpSource {
  const url = `rtp://127.0.0.1:${options.port}?rtcpport=${options.port}&localrtpport=${options.localPort}&pkt_size=1200`;
  const child: ChildProcess = spawn(
    toolFfmpeg(),
    [
      '-hide_banner',
      '-nostdin',
      '-loglevel',
      'error',
      '-re',
      '-stream_loop',
      '-1',
      '-i',
      options.input,
      '-c',
      'copy',
      // A source left behind by a killed test run stops by itself.
      '-t',
      String(options.maxSeconds ?? 180),
      '-ssrc',
      String(options.ssrc),
      '-payload_type',
      String(options.payloadType),
      // Sender reports would leave from a second port, and a comedia transport locks onto
      // whichever tuple speaks first: send RTP only.
      '-rtpflags',
      'skip_rtcp',
      '-f',
      'rtp',
      url,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (child.pid === undefined) throw new Error('could not start ffmpeg as an RTP source');
  return {
    pid: child.pid,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** The payload types the senders above use (ffmpeg's RTP muxer is told them). */
export const rtpPayloadType = { video: 101, audio: 111 } as const;

/**
 * A candidate peer's camera or microphone fed by plain RTP from a sender above: a producer on a
 * free loopback port. Resolves to the port to send to.
 */
export async function ingestSynthetic(
  media: Pick<MediaService, 'ingestPlainRtp'>,
  peerId: string,
  kind: 'video' | 'audio',
  ssrc: number,
): Promise<number> {
  const target = await media.ingestPlainRtp(peerId, {
    kind,
    source: kind === 'video' ? 'camera' : 'microphone',
    rtpParameters: {
      codecs: [
        kind === 'video'
          ? { mimeType: 'video/VP8', payloadType: rtpPayloadType.video, clockRate: 90000 }
          : { mimeType: 'audio/opus', payloadType: rtpPayloadType.audio, clockRate: 48000, channels: 2 },
      ],
      encodings: [{ ssrc }],
    },
    listenInfo: { protocol: 'udp', ip: '127.0.0.1', port: await freeUdpPort() },
  });
  return target.port;
}
