/**
 * Raw RGB frames out of a video file through ffmpeg (the system's, else the packaged one: see
 * sampler/ffmpeg-binary.ts `toolFfmpeg`). Used by the accuracy benchmark and the tests on testdata/video; not on the live path,
 * where frames come from the media layer.
 */
import { spawn, spawnSync } from 'node:child_process';
import { toolFfmpeg } from '../sampler/ffmpeg-binary.js';

export interface VideoFrame {
  index: number;
  width: number;
  height: number;
  data: Uint8Array;
}

export function ffmpegAvailable(ffmpeg = toolFfmpeg()): boolean {
  return spawnSync(ffmpeg, ['-version'], { stdio: 'ignore' }).status === 0;
}

/** ffprobe where there is one; else ffmpeg's own stream line ("Video: h264 …, 352x288"). */
function probeSize(file: string, ffprobe: string): { width: number; height: number } {
  if (spawnSync(ffprobe, ['-version'], { stdio: 'ignore' }).error) {
    const { stderr } = spawnSync(toolFfmpeg(), ['-hide_banner', '-i', file], { encoding: 'utf8' });
    const size = /Stream #\d+:\d+.*Video: .*?, (\d+)x(\d+)/.exec(stderr ?? '');
    if (!size) throw new Error(`ffmpeg could not read ${file}: ${stderr || 'no video stream'}`);
    return { width: Number(size[1]), height: Number(size[2]) };
  }
  const probe = spawnSync(
    ffprobe,
    ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', file],
    { encoding: 'utf8' },
  );
  const [width, height] = (probe.stdout ?? '').trim().split(',').map(Number);
  if (probe.status !== 0 || !width || !height) {
    throw new Error(
      `ffprobe could not read ${file}: ${probe.stderr || probe.error?.message || 'no video stream'}`,
    );
  }
  return { width, height };
}

/** Frames in decoding order; `from`/`to` are frame indices (inclusive, exclusive). */
export async function* readVideoFrames(
  file: string,
  options: { from?: number; to?: number; ffmpeg?: string; ffprobe?: string } = {},
): AsyncGenerator<VideoFrame> {
  const { width, height } = probeSize(file, options.ffprobe ?? 'ffprobe');
  const size = width * height * 3;
  const from = options.from ?? 0;
  const to = options.to ?? Infinity;
  const child = spawn(
    options.ffmpeg ?? toolFfmpeg(),
    ['-v', 'error', '-i', file, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  let buffer: Buffer = Buffer.alloc(0);
  let index = 0;
  try {
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
      while (buffer.length >= size) {
        const frame = buffer.subarray(0, size);
        buffer = buffer.subarray(size);
        if (index >= from && index < to) yield { index, width, height, data: new Uint8Array(frame) };
        index += 1;
        if (index >= to) return;
      }
    }
    const code = await exited;
    if (code !== 0) throw new Error(`ffmpeg failed on ${file}: ${stderr.trim() || `exit code ${code}`}`);
  } finally {
    if (child.exitCode === null) child.kill();
  }
}
