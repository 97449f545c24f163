import path from 'node:path';
import os from 'node:os';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseChromium, launchChromium } from '../support/browser.js';
import { seedSession, startTestApp, type TestApp } from '../support/app.js';

/**
 * A node that cannot watch the streams says so on the dashboard: "Stream analysis is off: …"
 * with the reason from /readyz, so a proctor never takes silence for a clean exam. Runs on
 * whichever Chromium the suites use (system, or the packaged headless shell).
 */
describe('dashboard with stream analysis off', () => {
  let test: TestApp;
  let browser: Browser;

  beforeAll(async () => {
    process.env.FFMPEG_PATH = path.join(os.tmpdir(), 'vigil-no-such-ffmpeg');
    try {
      test = await startTestApp({ name: 'pglite' }, {}, { media: true, analysis: true });
    } finally {
      delete process.env.FFMPEG_PATH;
    }
    browser = await launchChromium();
    console.log(`Chromium for this suite: ${(await chooseChromium()).source}`);
  });
  afterAll(async () => {
    await browser?.close();
    await test?.close();
  });

  it('shows the banner with the reason and the fix', async () => {
    const { apiKey } = await test.createTenant();
    const session = await seedSession(test, apiKey);
    const minted = await test.request<any>('POST', '/api/v1/proctor-tokens', {
      key: apiKey,
      body: { name: 'Banner Proctor', examIds: [session.examId] },
    });
    const page = await browser.newPage();
    await page.goto(
      `${test.url}/proctor?token=${encodeURIComponent(minted.body.token)}&exam=${session.examId}`,
    );
    const banner = page.locator('[data-testid=analysis-banner]');
    await banner.waitFor({ state: 'visible', timeout: 15_000 });
    const text = await banner.textContent();
    expect(text).toMatch(/^Stream analysis is off: the frame sampler could not start: no usable ffmpeg/);
    expect(text).toMatch(/vigil-no-such-ffmpeg: does not run/);
    expect(text).toMatch(/npx vigil doctor/);
    await page.close();
  });
});
