import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  describeRejections,
  ffmpegCandidates,
  findOnPath,
  packagedFfmpegPath,
  probeFfmpeg,
  resolveFfmpeg,
} from '../../server/sampler/ffmpeg-binary.js';
import { backends } from '../support/backends.js';
import { startTestApp, type TestApp } from '../support/app.js';

/**
 * Which ffmpeg the sampler runs, chosen by a live probe (VP8 and Opus over loopback RTP, decoded
 * and scaled with the sampler's own arguments), and how a node without one says so: `/readyz`
 * names the part and why. Runs on the system's ffmpeg and on the packaged one where each exists.
 */
const systemFfmpeg = findOnPath('ffmpeg');
/** tfjs-node is an optional dependency whose install downloads libtensorflow: absent offline. */
const tfjsNodeInstalled = (() => {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
})();
const packaged = packagedFfmpegPath();
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-ffmpeg-choice-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** An executable `ffmpeg` that prints a plausible version and then fails every real job. */
function fakeFfmpeg(): string {
  const bin = path.join(dir, 'fake-bin');
  fs.mkdirSync(bin, { recursive: true });
  const file = path.join(bin, 'ffmpeg');
  fs.writeFileSync(
    file,
    '#!/bin/sh\ncase "$*" in *-version*) echo "ffmpeg version 7.1 fake";; *-decoders*) echo " V....D vp8  VP8"; echo " A....D opus  Opus";; *) exit 1;; esac\n',
    { mode: 0o755 },
  );
  return bin;
}

describe('ffmpeg candidates', () => {
  it('tries the system ffmpeg first, then the packaged one; FFMPEG_PATH alone when set', () => {
    const bin = fakeFfmpeg();
    const listed = ffmpegCandidates({ PATH: bin });
    expect(listed[0]).toEqual({ path: path.join(bin, 'ffmpeg'), source: 'system' });
    if (packaged) expect(listed[1]).toEqual({ path: packaged, source: 'packaged' });
    expect(ffmpegCandidates({ PATH: bin, FFMPEG_PATH: '/opt/ff/ffmpeg' })).toEqual([
      { path: '/opt/ff/ffmpeg', source: 'FFMPEG_PATH' },
    ]);
    expect(ffmpegCandidates({ PATH: '/nonexistent' }).map((c) => c.source)).toEqual(
      packaged ? ['packaged'] : [],
    );
  });

  it('passes over a binary that claims a new version but cannot decode, by capability', async () => {
    const bin = fakeFfmpeg();
    const resolution = await resolveFfmpeg({ PATH: bin, FFMPEG_PATH: path.join(bin, 'ffmpeg') });
    expect(resolution.choice).toBeUndefined();
    expect(resolution.rejected).toHaveLength(1);
    expect(resolution.rejected[0]!.reason).toMatch(/ffmpeg version 7\.1 fake/);
  });

  it('says what a missing FFMPEG_PATH is and what was tried', async () => {
    const resolution = await resolveFfmpeg({ PATH: '/nonexistent', FFMPEG_PATH: '/nonexistent/ffmpeg' });
    expect(resolution.choice).toBeUndefined();
    expect(describeRejections(resolution)).toMatch(
      /FFMPEG_PATH ffmpeg \/nonexistent\/ffmpeg: does not run: .*ENOENT/,
    );
  });

  if (systemFfmpeg) {
    it(`chooses the system ffmpeg (${systemFfmpeg}) when it decodes VP8 and Opus from RTP`, async () => {
      const resolution = await resolveFfmpeg({ PATH: process.env.PATH });
      expect(resolution.choice).toMatchObject({
        path: systemFfmpeg,
        source: 'system',
        decoders: ['vp8', 'opus'],
      });
      expect(resolution.choice!.version).toMatch(/^ffmpeg version /);
    });
  } else {
    console.log(
      'no system ffmpeg on PATH: the system-ffmpeg probe is not declared here (the full CI leg runs it)',
    );
  }

  if (packaged) {
    // @ffmpeg-installer/linux-x64 4.1.0 ships a 2018 git build (N-47683): no -fps_mode, no
    // loopback-only SDP input, which the sampler no longer needs (its RTP relay feeds ffmpeg's
    // stdin). It is what `npm install` alone brings, so it must pass the same live probe.
    it('probes the packaged ffmpeg, which runs the sampler command line, and chooses it when alone', async () => {
      const probed = await probeFfmpeg(packaged);
      expect(probed.decoders).toEqual(['vp8', 'opus']);
      const resolution = await resolveFfmpeg({ PATH: '/nonexistent' });
      expect(resolution.rejected).toEqual([]);
      expect(resolution.choice).toMatchObject({ source: 'packaged', path: packaged });
    });
  } else {
    console.log('@ffmpeg-installer/ffmpeg is not installed (optional dependency): its probe is not declared');
  }
});

describe.each(backends())('stream analysis status on $name', (backend) => {
  let off: TestApp;

  beforeAll(async () => {
    process.env.FFMPEG_PATH = path.join(dir, 'no-such-ffmpeg');
    try {
      off = await startTestApp(backend, {}, { media: true, analysis: true });
    } finally {
      delete process.env.FFMPEG_PATH;
    }
  });
  afterAll(() => off?.close());

  it('stays ready but names the degraded part, why, and the fix when no ffmpeg qualifies', async () => {
    const ready = await off.request<any>('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('ready');
    expect(ready.body.analysis).toMatchObject({ status: 'off', part: 'sampler' });
    expect(ready.body.analysis.reason).toMatch(/no-such-ffmpeg: does not run/);
    expect(ready.body.degraded).toEqual([
      { part: 'sampler', reason: ready.body.analysis.reason, fix: expect.stringMatching(/vigil doctor/) },
    ]);
    expect(off.app.sampler).toBeUndefined();
    expect(off.app.monitor).toBeUndefined();
  });

  it('reports analysis as disabled, not off, for a node built without media', async () => {
    const restOnly = await startTestApp(backend);
    try {
      const ready = await restOnly.request<any>('GET', '/readyz');
      expect(ready.body.analysis).toEqual({ status: 'disabled' });
      expect(ready.body.degraded).toBeUndefined();
    } finally {
      await restOnly.close();
    }
  });

  // Not storage matters: declared on the embedded leg only, to keep the file short.
  if (!tfjsNodeInstalled && backend.name === 'pglite') {
    it('names the engine, and why, when the analysis backend asked for does not load', async () => {
      const noEngine = await startTestApp(
        backend,
        { ANALYSIS_BACKEND: 'tfjs-node' },
        { media: true, analysis: true },
      );
      try {
        const ready = await noEngine.request<any>('GET', '/readyz');
        expect(ready.status).toBe(200);
        expect(ready.body.analysis).toMatchObject({ status: 'off', part: 'engine' });
        expect(ready.body.analysis.reason).toMatch(/analysis engine could not load: .*tfjs-node/);
        expect(ready.body.analysis.fix).toMatch(/ANALYSIS_BACKEND=wasm/);
        expect(noEngine.app.sampler).toBeUndefined();
      } finally {
        await noEngine.close();
      }
    }, 60_000);
  }

  if (systemFfmpeg && backend.name === 'pglite') {
    it('reports analysis on with the ffmpeg in use when one qualifies', async () => {
      const on = await startTestApp(backend, {}, { media: true, analysis: true });
      try {
        const ready = await on.request<any>('GET', '/readyz');
        expect(ready.body.analysis).toEqual({
          status: 'on',
          // auto: ONNX Runtime's native build loads from npm on this platform (linux x64).
          backend: 'onnx',
          ffmpeg: { source: 'system', version: expect.stringMatching(/^ffmpeg version /) },
        });
        expect(on.app.sampler).toBeDefined();
      } finally {
        await on.close();
      }
    }, 60_000);
  }
});
