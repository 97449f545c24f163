import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { FrameSize } from './types.js';

const run = promisify(execFile);

/** PCM the audio tap delivers (what voice-activity detectors expect). */
export const audioSampleRate = 16_000;

/**
 * Checks that `ffmpegPath` runs and is 4.0 or newer (`-filter_threads`, the IVF and Ogg
 * demuxers); fails at start-up with a message that says what to install, never later per tap.
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
  // Git builds ("N-112233-g…") carry no number; the capability probe (ffmpeg-binary.ts) decides.
  if (version && Number(version[1]) < 4) {
    throw new Error(
      `the frame sampler needs ffmpeg 4.0 or newer; "${ffmpegPath}" is ${version[1]}.${version[2]}`,
    );
  }
  return stdout.split('\n')[0] ?? 'ffmpeg';
}

/** How a build spells "pass every frame's timestamp through": `-fps_mode` since 5.1, `-vsync` before. */
export type FrameSyncOption = '-fps_mode' | '-vsync';

const syncOptions = new Map<string, Promise<FrameSyncOption>>();

/** The frame-sync option this binary understands (asked once per binary). */
export function frameSyncOption(ffmpegPath: string): Promise<FrameSyncOption> {
  let option = syncOptions.get(ffmpegPath);
  if (!option) {
    option = run(ffmpegPath, ['-hide_banner', '-h', 'long'], { timeout: 10_000, maxBuffer: 8 * 1024 * 1024 })
      .then(({ stdout }) => (stdout.includes('-fps_mode') ? '-fps_mode' : '-vsync'))
      .catch(() => '-fps_mode' as const);
    syncOptions.set(ffmpegPath, option);
  }
  return option;
}

/**
 * Input side: the container the tap's RTP relay writes on stdin (IVF for video, Ogg for Opus;
 * rtp-relay.ts), so ffmpeg opens no port and exits with its stdin. `fpsprobesize 0`: stream
 * analysis ends at the first decodable keyframe instead of buffering ~20 frames to guess a
 * frame rate (that cost ~0.8 s before the first frame); `nobuffer` is left out because it
 * throws away the probed packets, i.e. that very keyframe. One decoder thread: there are many
 * taps and each picture is small.
 */
export function inputArgs(format: 'ivf' | 'ogg'): string[] {
  return [
    '-hide_banner',
    '-nostdin',
    '-nostats',
    '-loglevel',
    'level+info',
    '-threads',
    '1',
    '-fpsprobesize',
    '0',
    '-flags',
    'low_delay',
    '-f',
    format,
    '-i',
    'pipe:0',
  ];
}

/**
 * Video output: keep the first decoded frame of every 1/fps slot (`select`; unlike the `fps`
 * filter it never duplicates frames to fill a gap, so a stream that resumes after a stall
 * does not burst; a timestamp that jumps back restarts the slots), scale to fit `size`
 * keeping the aspect ratio and pad the rest black, so every frame has the same byte length
 * even when the browser changes resolution. Only selected frames are scaled and converted.
 */
export function videoOutputArgs(fps: number, size: FrameSize, sync: FrameSyncOption = '-fps_mode'): string[] {
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
    sync,
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
