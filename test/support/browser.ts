import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { findOnPath } from '../../server/sampler/ffmpeg-binary.js';

export interface ChromiumChoice {
  executablePath: string;
  /** `system`: Debian's (or CHROMIUM_PATH); `packaged`: the headless shell inside @sparticuz/chromium. */
  source: 'CHROMIUM_PATH' | 'system' | 'packaged';
}

let choice: Promise<ChromiumChoice> | undefined;

/**
 * CHROMIUM_PATH, else the system's Chromium on PATH, else the one the dev
 * dependency @sparticuz/chromium ships brotli-compressed inside itself (unpacked to the temp
 * folder at first use, ~2 s). Both take the same fake camera and microphone flags; the packaged
 * one is a headless shell build (no GPU, no extensions), which these suites never need.
 */
export function chooseChromium(): Promise<ChromiumChoice> {
  choice ??= (async (): Promise<ChromiumChoice> => {
    if (process.env.CHROMIUM_PATH) {
      if (!fs.existsSync(process.env.CHROMIUM_PATH)) {
        throw new Error(`CHROMIUM_PATH=${process.env.CHROMIUM_PATH} does not exist`);
      }
      return { executablePath: process.env.CHROMIUM_PATH, source: 'CHROMIUM_PATH' };
    }
    // PATH only (Debian's is /usr/bin/chromium): CI's hidden-tools leg hides it by PATH.
    const system = findOnPath('chromium') ?? findOnPath('chromium-browser');
    if (system) return { executablePath: system, source: 'system' };
    try {
      const { default: packaged } = await import('@sparticuz/chromium');
      const executablePath = await whileHoldingUnpackLock(() => packaged.executablePath());
      return { executablePath, source: 'packaged' };
    } catch (error) {
      throw new Error(
        `no Chromium: none on PATH and @sparticuz/chromium did not unpack (${String(error)}); ` +
          "run `npm install` (it is a dev dependency), install Debian's chromium, or set CHROMIUM_PATH",
        { cause: error },
      );
    }
  })();
  return choice;
}

/**
 * The package unpacks into the temp folder and reuses what it finds there, so two test processes
 * starting together could launch a half-written binary: one unpacks while the others wait.
 */
async function whileHoldingUnpackLock<T>(work: () => Promise<T>): Promise<T> {
  const lock = path.join(os.tmpdir(), 'vigil-chromium-unpack.lock');
  for (let waited = 0; ; waited += 200) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch {
      // Held by another process; a lock older than two minutes is left over from a killed one.
      const age = Date.now() - (fs.statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 120_000 || waited > 120_000) fs.rmSync(lock, { recursive: true, force: true });
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  try {
    return await work();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * Chromium with a fake camera and microphone fed from files. Flags: no sandbox (root in CI), no
 * background networking (this machine has no internet), fake media devices without a
 * permission prompt.
 */
export async function launchChromium(
  media: { videoFile?: string; audioFile?: string } = {},
): Promise<Browser> {
  const { executablePath } = await chooseChromium();
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      '--autoplay-policy=no-user-gesture-required',
      ...(media.videoFile ? [`--use-file-for-fake-video-capture=${media.videoFile}`] : []),
      ...(media.audioFile ? [`--use-file-for-fake-audio-capture=${media.audioFile}`] : []),
    ],
  });
}
