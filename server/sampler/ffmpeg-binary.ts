/**
 * Which ffmpeg the sampler runs. Candidates, in order: `FFMPEG_PATH` (an override: when set it is
 * the only candidate), the system's `ffmpeg` on PATH, then the one inside the optional npm package
 * `@ffmpeg-installer/ffmpeg`. Each is chosen by what it can do, never by where it lives: a live
 * probe sends a VP8 and an Opus stream over loopback RTP and decodes them with the sampler's own
 * SDP and arguments (`inputArgs`, `videoOutputArgs` with scaling, `audioOutputArgs`). The first
 * candidate that delivers a scaled frame and PCM wins; the others say why they were passed over.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { audioOutputArgs, inputArgs, videoOutputArgs } from './ffmpeg.js';
import { leaseUdpPortPairs } from './ports.js';
import { tapSdp } from './sdp.js';

const run = promisify(execFile);

export type FfmpegSource = 'FFMPEG_PATH' | 'system' | 'packaged';

export interface FfmpegCandidate {
  path: string;
  source: FfmpegSource;
}

export interface FfmpegChoice extends FfmpegCandidate {
  /** First line of `ffmpeg -version`. */
  version: string;
  /** The decoders the sampler relies on, as this build names them. */
  decoders: string[];
}

export interface FfmpegRejection extends FfmpegCandidate {
  reason: string;
}

export interface FfmpegResolution {
  choice: FfmpegChoice | undefined;
  rejected: FfmpegRejection[];
}

export const packagedFfmpegName = '@ffmpeg-installer/ffmpeg';

/** What to do when no candidate qualifies (start-up line, doctor, /readyz all say the same). */
export const ffmpegFix =
  'install ffmpeg 5.1+ (Debian/Ubuntu: apt-get install ffmpeg), or set FFMPEG_PATH to one that decodes VP8 and Opus from RTP; then run `npx vigil doctor`';

/** The first executable called `name` on PATH, as a shell would find it. */
export function findOnPath(name: string, pathVariable = process.env.PATH ?? ''): string | undefined {
  for (const dir of pathVariable.split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The binary inside `@ffmpeg-installer/ffmpeg`, or undefined when the optional package is absent. */
export function packagedFfmpegPath(): string | undefined {
  try {
    const required = createRequire(import.meta.url)(packagedFfmpegName) as { path?: unknown };
    return typeof required.path === 'string' && fs.existsSync(required.path) ? required.path : undefined;
  } catch {
    // The package (or its platform binary) is not installed: an optional dependency.
    return undefined;
  }
}

/** The candidates in the order they are tried. */
export function ffmpegCandidates(env: NodeJS.ProcessEnv = process.env): FfmpegCandidate[] {
  if (env.FFMPEG_PATH) return [{ path: env.FFMPEG_PATH, source: 'FFMPEG_PATH' }];
  const candidates: FfmpegCandidate[] = [];
  const system = findOnPath('ffmpeg', env.PATH ?? '');
  if (system) candidates.push({ path: system, source: 'system' });
  const packaged = packagedFfmpegPath();
  if (packaged) candidates.push({ path: packaged, source: 'packaged' });
  return candidates;
}

const probeTimeoutMs = 15_000;

/** Runs the live probe on one binary; resolves to its version and decoders, or throws why not. */
export async function probeFfmpeg(ffmpegPath: string): Promise<Omit<FfmpegChoice, keyof FfmpegCandidate>> {
  let versionOut: string;
  try {
    ({ stdout: versionOut } = await run(ffmpegPath, ['-hide_banner', '-version'], { timeout: 10_000 }));
  } catch (error) {
    throw new Error(`does not run: ${firstLine(error)}`, { cause: error });
  }
  // "ffmpeg version 5.1.9-0+deb12u1 Copyright (c) …": the version without the banner's tail.
  const version =
    (versionOut.split('\n')[0] ?? '').replace(/\s+(Copyright|https?:).*$/, '').trim() ||
    'ffmpeg (no version line)';
  try {
    return { version, decoders: await checkCapabilities(ffmpegPath) };
  } catch (error) {
    throw new Error(`${version}: ${firstLine(error)}`, { cause: error });
  }
}

/** The decoders, the command-line options, then a live decode of both kinds; throws what fails. */
async function checkCapabilities(ffmpegPath: string): Promise<string[]> {
  const { stdout: decoderList } = await run(ffmpegPath, ['-hide_banner', '-decoders'], {
    timeout: 10_000,
    maxBuffer: 4 * 1024 * 1024,
  });
  const decoders = ['vp8', 'opus'].filter((name) =>
    new RegExp(`^\\s*\\S+\\s+${name}\\s`, 'm').test(decoderList),
  );
  const missing = ['vp8', 'opus'].filter((name) => !decoders.includes(name));
  if (missing.length > 0) throw new Error(`no ${missing.join(' or ')} decoder`);
  const lacking = await missingOptions(ffmpegPath);
  if (lacking.length > 0) {
    throw new Error(`lacks ${lacking.join(', ')}, which the sampler uses (ffmpeg 5.1+ has them)`);
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vigil-ffmpeg-probe-'));
  try {
    await Promise.all([probeStream(ffmpegPath, 'video', dir), probeStream(ffmpegPath, 'audio', dir)]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return decoders;
}

/**
 * Options of the sampler's command line that older builds lack: `-localaddr` keeps the decoder's
 * RTP port on loopback (without it an old build listens on every interface), `-listen_timeout`
 * lets an orphaned decoder exit, `-fps_mode` replaced `-vsync`. Named here so the reason is clear.
 */
async function missingOptions(ffmpegPath: string): Promise<string[]> {
  const help = async (topic: string) =>
    (await run(ffmpegPath, ['-hide_banner', '-h', topic], { timeout: 10_000, maxBuffer: 8 * 1024 * 1024 }))
      .stdout;
  const [sdp, general] = await Promise.all([help('demuxer=sdp'), help('long')]);
  return [
    ...['localaddr', 'listen_timeout'].filter((o) => !sdp.includes(`-${o} `)).map((o) => `-${o} (SDP input)`),
    ...(general.includes('-fps_mode') ? [] : ['-fps_mode']),
  ];
}

const probeFrame = { width: 64, height: 48 };

/**
 * One stream through the sampler's real decode path: this binary encodes a test pattern (VP8) or
 * a tone (Opus) to RTP on loopback, and decodes it from the sampler's SDP with the sampler's
 * arguments. Passes when a whole scaled RGB frame, or 100 ms of PCM, comes out.
 */
async function probeStream(ffmpegPath: string, kind: 'video' | 'audio', dir: string): Promise<void> {
  const host = '127.0.0.1';
  const lease = await leaseUdpPortPairs(host, 1);
  const pair = lease.pairs[0]!;
  const codec =
    kind === 'video'
      ? { mimeType: 'video/VP8', payloadType: 96, clockRate: 90_000, parameters: {} }
      : { mimeType: 'audio/opus', payloadType: 111, clockRate: 48_000, channels: 2, parameters: {} };
  const sdpPath = path.join(dir, `${kind}.sdp`);
  await writeFile(
    sdpPath,
    tapSdp({
      kind,
      ip: host,
      rtpPort: pair.rtp,
      rtcpPort: pair.rtcp,
      rtpParameters: { codecs: [codec] },
    }),
  );
  const outputArgs = kind === 'video' ? videoOutputArgs(5, probeFrame) : audioOutputArgs();
  const wanted = kind === 'video' ? probeFrame.width * probeFrame.height * 3 : 3200;
  const source =
    kind === 'video'
      ? [
          '-f',
          'lavfi',
          '-i',
          'testsrc=size=160x120:rate=15',
          '-c:v',
          'libvpx',
          '-deadline',
          'realtime',
          '-g',
          '5',
        ]
      : ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-ac', '2', '-c:a', 'libopus'];
  lease.release();
  const decoder = spawn(ffmpegPath, [...inputArgs(sdpPath, host, 10), ...outputArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let sender: ReturnType<typeof spawn> | undefined;
  const stderr: string[] = [];
  const keep = (chunk: Buffer) => {
    stderr.push(...chunk.toString().split('\n').filter(Boolean));
    stderr.splice(0, Math.max(0, stderr.length - 20));
  };
  decoder.stderr.on('data', keep);
  try {
    await new Promise<void>((resolve, reject) => {
      let received = 0;
      const timer = setTimeout(
        () =>
          reject(new Error(`no decoded ${kind} within ${probeTimeoutMs / 1000} s (${lastError(stderr)})`)),
        probeTimeoutMs,
      );
      const done = (error?: Error) => {
        clearTimeout(timer);
        if (error) reject(error);
        else resolve();
      };
      decoder.stdout.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received >= wanted) done();
      });
      decoder.once('error', (error) => done(error));
      decoder.once('exit', (code) => {
        if (received < wanted) done(new Error(`${kind} decode exited ${code}: ${lastError(stderr)}`));
      });
      // The decoder needs a moment to parse the SDP and bind; the sender repeats keyframes, so
      // starting late loses nothing.
      setTimeout(() => {
        if (decoder.exitCode !== null) return;
        sender = spawn(
          ffmpegPath,
          [
            '-hide_banner',
            '-nostdin',
            '-loglevel',
            'error',
            '-re',
            ...source,
            '-t',
            '8',
            '-payload_type',
            String(codec.payloadType),
            '-f',
            'rtp',
            `rtp://${host}:${pair.rtp}?pkt_size=1200`,
          ],
          { stdio: ['ignore', 'ignore', 'pipe'] },
        );
        sender.stderr?.on('data', keep);
        sender.once('exit', (code) => {
          if (code !== 0 && code !== null)
            done(new Error(`the ${kind} probe sender failed: ${lastError(stderr)}`));
        });
      }, 300);
    });
  } finally {
    sender?.kill('SIGKILL');
    decoder.kill('SIGKILL');
  }
}

const lastError = (lines: string[]) =>
  lines
    .filter((line) => /error|unrecognized|not found|invalid|unknown/i.test(line))
    .slice(-2)
    .join(' | ') ||
  lines.slice(-2).join(' | ') ||
  'no output';

const firstLine = (error: unknown) =>
  (error instanceof Error ? error.message : String(error)).split('\n')[0]!;

/** Probes the candidates in order and keeps the first one that can do the sampler's job. */
export async function resolveFfmpeg(env: NodeJS.ProcessEnv = process.env): Promise<FfmpegResolution> {
  const rejected: FfmpegRejection[] = [];
  for (const candidate of ffmpegCandidates(env)) {
    try {
      return { choice: { ...candidate, ...(await probeFfmpeg(candidate.path)) }, rejected };
    } catch (error) {
      rejected.push({ ...candidate, reason: firstLine(error) });
    }
  }
  return { choice: undefined, rejected };
}

const memo = new Map<string, Promise<FfmpegResolution>>();

/** `resolveFfmpeg` once per process for the same FFMPEG_PATH and PATH (every app start asks). */
export function resolveFfmpegOnce(env: NodeJS.ProcessEnv = process.env): Promise<FfmpegResolution> {
  const key = `${env.FFMPEG_PATH ?? ''}\0${env.PATH ?? ''}`;
  let resolution = memo.get(key);
  if (!resolution) {
    resolution = resolveFfmpeg(env);
    memo.set(key, resolution);
  }
  return resolution;
}

/** One sentence for logs and /readyz: why no ffmpeg qualified. */
export function describeRejections(resolution: FfmpegResolution): string {
  if (resolution.rejected.length === 0) {
    return `no ffmpeg found (none on PATH, ${packagedFfmpegName} not installed)`;
  }
  return resolution.rejected
    .map((rejection) => `${rejection.source} ffmpeg ${rejection.path}: ${rejection.reason}`)
    .join('; ');
}

/** The sampler's ffmpeg, or an error that says what was tried and the fix. */
export async function requireSamplerFfmpeg(env: NodeJS.ProcessEnv = process.env): Promise<FfmpegChoice> {
  const resolution = await resolveFfmpegOnce(env);
  if (resolution.choice) return resolution.choice;
  throw new Error(`no usable ffmpeg: ${describeRejections(resolution)}. Fix: ${ffmpegFix}`);
}

/**
 * An ffmpeg for file work (test fixtures, benchmark senders): FFMPEG_PATH, the system's, the
 * packaged one, else plain "ffmpeg". Not probed: encoding and converting files needs none of the
 * sampler's RTP input options, so the packaged 2018 build serves here even where the sampler refuses it.
 */
export function toolFfmpeg(env: NodeJS.ProcessEnv = process.env): string {
  return env.FFMPEG_PATH || findOnPath('ffmpeg', env.PATH ?? '') || packagedFfmpegPath() || 'ffmpeg';
}
