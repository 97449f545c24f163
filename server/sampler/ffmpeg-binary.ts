/**
 * Which ffmpeg the sampler runs. Candidates, in order: `FFMPEG_PATH` (an override: when set it is
 * the only candidate), the system's `ffmpeg` on PATH, then the one inside the optional npm package
 * `@ffmpeg-installer/ffmpeg`. Each is chosen by what it can do, never by where it lives: a live
 * probe sends a VP8 and an Opus stream over loopback RTP through the tap's RTP relay and decodes
 * them with the sampler's own arguments (`inputArgs`, `videoOutputArgs` with scaling,
 * `audioOutputArgs`). The first
 * candidate that delivers a scaled frame and PCM wins; the others say why they were passed over.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  audioOutputArgs,
  frameSyncOption,
  inputArgs,
  videoOutputArgs,
  type FrameSyncOption,
} from './ffmpeg.js';
import { RtpRelay } from './rtp-relay.js';

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
  'install ffmpeg 4.0+ (Debian/Ubuntu: apt-get install ffmpeg; `npm install` brings one in the optional package @ffmpeg-installer/ffmpeg), or set FFMPEG_PATH to one that decodes VP8 and Opus; then run `npx vigil doctor`';

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

/** The decoders, the demuxers, then a live decode of both kinds; throws what fails. */
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
  const { stdout: demuxerList } = await run(ffmpegPath, ['-hide_banner', '-demuxers'], {
    timeout: 10_000,
    maxBuffer: 4 * 1024 * 1024,
  });
  const noDemuxer = ['ivf', 'ogg'].filter(
    (name) => !new RegExp(`^\\s*D\\S*\\s+${name}\\s`, 'm').test(demuxerList),
  );
  if (noDemuxer.length > 0) throw new Error(`no ${noDemuxer.join(' or ')} demuxer`);
  const sync = await frameSyncOption(ffmpegPath);
  await Promise.all([probeStream(ffmpegPath, 'video', sync), probeStream(ffmpegPath, 'audio', sync)]);
  return decoders;
}

const probeFrame = { width: 64, height: 48 };

/**
 * One stream through the sampler's real decode path: this binary encodes a test pattern (VP8) or
 * a tone (Opus) to RTP on loopback, the tap's RTP relay turns it into IVF or Ogg on the stdin of
 * a decoder run with the sampler's arguments. Passes when a whole scaled RGB frame, or 100 ms of
 * PCM, comes out.
 */
async function probeStream(
  ffmpegPath: string,
  kind: 'video' | 'audio',
  sync: FrameSyncOption,
): Promise<void> {
  const host = '127.0.0.1';
  const codec =
    kind === 'video'
      ? { name: 'VP8' as const, payloadType: 96, clockRate: 90_000 }
      : { name: 'opus' as const, payloadType: 111, clockRate: 48_000 };
  const relay = await RtpRelay.open(host, codec.name, codec.clockRate);
  const outputArgs = kind === 'video' ? videoOutputArgs(5, probeFrame, sync) : audioOutputArgs();
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
  const decoder = spawn(ffmpegPath, [...inputArgs(relay.format), ...outputArgs], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  relay.attach(decoder.stdin);
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
      // The sender repeats keyframes, so a decoder that starts late loses nothing.
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
            `rtp://${host}:${relay.port}?pkt_size=1200`,
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
    relay.close();
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
