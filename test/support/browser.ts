import fs from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Debian's Chromium with a fake camera and microphone fed from files. Flags: no sandbox (root in
 * CI), no background networking (this machine has no internet), fake media devices without a
 * permission prompt.
 */
export async function launchChromium(
  media: { videoFile?: string; audioFile?: string } = {},
): Promise<Browser> {
  if (!fs.existsSync(executablePath)) {
    throw new Error(
      `Chromium not found at ${executablePath}: install Debian's chromium (CI does) or set CHROMIUM_PATH`,
    );
  }
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
