import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { FrameSize } from './types.js';

const run = promisify(execFile);

/** PCM the audio tap delivers (what voice-activity detectors expect). */
export const audioSampleRate = 16_000;

/**
 * Checks that `ffmpegPath` runs and is 5.1 or newer (`-fps_mode`, stable SDP/RTP input);
 * fails at start-up with a message that says what to install, never later per tap.
 */
export async function checkFfmpeg(ffmpegPath: string): Promise<string> {
  let stdout: string;
  try {
    ({ stdout } = await run(ffmpegPath, ['-hide_banner', '-version'], { timeout: 10_000 }));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(
      `the frame sampler needs ffmpeg (Debian package "ffmpeg") at "${ffmpegPath}": ${reason}`,
      { cause: error },
    );
  }
  const version = /ffmpeg version n?(\d+)\.(\d+)/.exec(stdout);
  // Git builds ("N-112233-g…") carry no number and are newer than any release we need.
  if (version) {
    const major = Number(version[1]);
    const minor = Number(version[2]);
    if (major < 5 || (major === 5 && minor < 1)) {
      throw new Error(`the frame sampler needs ffmpeg 5.1 or newer; "${ffmpegPath}" is ${major}.${minor}`);
    }
  }
  return stdout.split('\n')[0] ?? 'ffmpeg';
}

/**
 * Input side: read the SDP file, receive RTP on 127.0.0.1 only (`localaddr`), answer RTCP to
 * where mediasoup's RTCP comes from. Not `filter_src`: it connects the socket to the SDP's
 * own address and port, which drops everything mediasoup sends. `fpsprobesize 0`: stream
 * analysis ends at the first decodable keyframe instead of buffering ~20 frames to guess a
 * frame rate (that cost ~0.8 s before the first frame); `nobuffer` is left out because it
 * throws away the probed packets, i.e. that very keyframe. One decoder thread: there are many
 * taps and each picture is small. After `listen_timeout` seconds without a packet ffmpeg
 * exits, so one left behind by a crashed server goes by itself (the tap restarts it quietly).
 */
export function inputArgs(sdpPath: string, host: string, listenTimeoutS: number): string[] {
  return [
    '-hide_banner',
    '-nostdin',
    '-nostats',
    '-loglevel',
    'level+info',
    '-threads',
    '1',
    '-protocol_whitelist',
    'file,udp,rtp',
    '-sdp_flags',
    'rtcp_to_source',
    '-localaddr',
    host,
    '-listen_timeout',
    String(listenTimeoutS),
    '-fpsprobesize',
    '0',
    '-flags',
    'low_delay',
    '-i',
    sdpPath,
  ];
}

/**
 * Video output: keep the first decoded frame of every 1/fps slot (`select`; unlike the `fps`
 * filter it never duplicates frames to fill a gap, so a stream that resumes after a stall
 * does not burst; a timestamp that jumps back restarts the slots), scale to fit `size`
 * keeping the aspect ratio and pad the rest black, so every frame has the same byte length
 * even when the browser changes resolution. Only selected frames are scaled and converted.
 */
export function videoOutputArgs(fps: number, size: FrameSize): string[] {
  const rate = Number(fps.toFixed(6));
  const slot = (time: string) => `floor(${time}*${rate})`;
  const select = `select='if(isnan(prev_selected_t),1,lt(t,prev_selected_t)+gte(${slot('t')},${slot('prev_selected_t')}+1))'`;
  const fit = `scale=${size.width}:${size.height}:force_original_aspect_ratio=decrease:flags=bilinear`;
  const pad = `pad=${size.width}:${size.height}:(ow-iw)/2:(oh-ih)/2:color=black`;
  return [
    '-an',
    '-sn',
    '-dn',
    '-filter_threads',
    '1',
    '-vf',
    `${select},${fit},${pad},setsar=1,format=rgb24`,
    '-fps_mode',
    'passthrough',
    // The rawvideo "encoder" does frame threading: with N threads it hands frame k out only
    // when frame k+N-1 arrives, i.e. whole sampling periods late. One thread: no delay.
    '-threads',
    '1',
    '-pix_fmt',
    'rgb24',
    '-f',
    'rawvideo',
    // Without it the tail of each frame (921600 mod 32768 bytes) waits in ffmpeg's output
    // buffer until the next frame: one whole sampling period of latency.
    '-flush_packets',
    '1',
    'pipe:1',
  ];
}

/** Audio output: 16 kHz mono s16le, flushed per packet (not held in a 32 KB buffer). */
export function audioOutputArgs(): string[] {
  return [
    '-vn',
    '-sn',
    '-dn',
    '-ac',
    '1',
    '-ar',
    String(audioSampleRate),
    '-f',
    's16le',
    '-flush_packets',
    '1',
    'pipe:1',
  ];
}
