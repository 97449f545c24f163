import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/browser.js';
import { seedSession, startTestApp, type TestApp } from '../support/app.js';
import { tilePlays } from '../support/pages.js';
import { fakeCameraY4m, fakeMicrophoneWav } from '../support/testdata.js';

/**
 * The whole live path in real Chromium: a candidate page with a fake camera (a real clip) and
 * microphone publishes through mediasoup; the proctor dashboard plays it and acts on it.
 * Timings measured here are printed for the issue note.
 */
describe('live session in Chromium', () => {
  let test: TestApp;
  let candidateBrowser: Browser;
  let proctorBrowser: Browser;
  let apiKey: string;
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    const videoFile = fakeCameraY4m('video/foreman_cif_299f.mp4', { seconds: 20 });
    const audioFile = fakeMicrophoneWav({
      speech: 'Vigil test. The quick brown fox jumps over the lazy dog.',
    });
    test = await startTestApp(
      { name: 'pglite' },
      {},
      {
        media: true,
        timings: {
          connection_lost: { openAfterMs: 1500, closeAfterMs: 0 },
          camera_off: { openAfterMs: 1000, closeAfterMs: 0 },
        },
      },
    );
    ({ apiKey } = await test.createTenant());
    [candidateBrowser, proctorBrowser] = await Promise.all([
      launchChromium({ videoFile, audioFile }),
      launchChromium(),
    ]);
  });

  afterAll(async () => {
    console.log(`e2e timings (ms): ${JSON.stringify(timings)}`);
    await candidateBrowser?.close();
    await proctorBrowser?.close();
    await test?.close();
  });

  const candidatePage = async (token: string): Promise<Page> => {
    const page = await candidateBrowser.newPage();
    page.on('pageerror', (error) => console.error('candidate page error:', error.message));
    await page.goto(`${test.url}/candidate?token=${encodeURIComponent(token)}`);
    return page;
  };

  it('plays the candidate on the dashboard, delivers a warning, and ends the session on terminate', async () => {
    const session = await seedSession(test, apiKey);
    const minted = await test.request<any>('POST', '/api/v1/proctor-tokens', {
      key: apiKey,
      body: { name: 'E2E Proctor', examIds: [session.examId] },
    });
    const dashboard = await proctorBrowser.newPage();
    dashboard.on('pageerror', (error) => console.error('dashboard page error:', error.message));
    await dashboard.goto(
      `${test.url}/proctor?token=${encodeURIComponent(minted.body.token)}&exam=${session.examId}`,
    );

    const candidate = await candidatePage(session.candidateToken);
    const joinedAt = Date.now();
    await candidate.click('[data-testid=join]');
    await candidate.waitForSelector('[data-testid=status]:text-is("in_progress")', { timeout: 15_000 });
    await tilePlays(dashboard, session.id);
    timings.joinToTilePlaying = Date.now() - joinedAt;

    // A second dashboard opened while the candidate is live: page load → video playing.
    const second = await proctorBrowser.newPage();
    const loadedAt = Date.now();
    await second.goto(
      `${test.url}/proctor?token=${encodeURIComponent(minted.body.token)}&exam=${session.examId}`,
    );
    await tilePlays(second, session.id);
    timings.dashboardLoadToTilePlaying = Date.now() - loadedAt;
    await second.close();

    const tile = dashboard.locator(`[data-testid=tile][data-session="${session.id}"]`);
    await tile.locator(`#warn-${session.id}`).fill('Please keep your eyes on your own screen');
    const warnedAt = Date.now();
    await tile.getByRole('button', { name: 'Warn', exact: true }).click();
    await candidate.waitForSelector(
      '[data-testid=proctor-message]:has-text("Please keep your eyes on your own screen")',
      {
        timeout: 5_000,
      },
    );
    timings.warningToCandidate = Date.now() - warnedAt;
    // VIGIL_SCREENSHOTS=dir keeps pictures of both pages, to look at what people see.
    const shots = process.env.VIGIL_SCREENSHOTS;
    if (shots) {
      await dashboard.screenshot({ path: `${shots}/dashboard-live.png` });
      await candidate.screenshot({ path: `${shots}/candidate-warned.png` });
    }

    await tile
      .getByRole('group', { name: 'Session actions' })
      .getByRole('button', { name: 'Terminate' })
      .click();
    await tile
      .getByRole('group', { name: 'Confirm termination' })
      .getByRole('button', { name: 'Terminate' })
      .click();
    await candidate.waitForSelector('[data-testid=status]:text-is("terminated")', { timeout: 5_000 });
    const stored = await test.request<any>('GET', `/api/v1/sessions/${session.id}`, { key: apiKey });
    expect(stored.body.status).toBe('terminated');
    await candidate.close();
    await dashboard.close();
  });

  it('reports camera_off when the camera track stops and connection_lost when the page goes away', async () => {
    const session = await seedSession(test, apiKey);
    const minted = await test.request<any>('POST', '/api/v1/proctor-tokens', {
      key: apiKey,
      body: { name: 'E2E Proctor 2' },
    });
    const dashboard = await proctorBrowser.newPage();
    await dashboard.goto(
      `${test.url}/proctor?token=${encodeURIComponent(minted.body.token)}&exam=${session.examId}`,
    );
    const candidate = await candidatePage(session.candidateToken);
    await candidate.click('[data-testid=join]');
    await tilePlays(dashboard, session.id);

    const stoppedAt = Date.now();
    await candidate.evaluate(() => {
      // Runs in the page: stop the camera as if it were unplugged.
      const videos = (globalThis as any).document.querySelectorAll('video');
      for (const video of videos) for (const track of video.srcObject?.getVideoTracks() ?? []) track.stop();
    });
    await dashboard.waitForSelector(
      `[data-testid=violation][data-session="${session.id}"][data-type=camera_off]`,
      { timeout: 15_000 },
    );
    timings.cameraStopToViolation = Date.now() - stoppedAt;
    await candidate.waitForSelector('[data-testid=violation][data-type=camera_off]', { timeout: 5_000 });

    const closedAt = Date.now();
    await candidate.close();
    await dashboard.waitForSelector(
      `[data-testid=violation][data-session="${session.id}"][data-type=connection_lost]`,
      {
        timeout: 20_000,
      },
    );
    timings.pageCloseToConnectionLost = Date.now() - closedAt;
    const violations = await test.request<any[]>('GET', `/api/v1/sessions/${session.id}/violations`, {
      key: apiKey,
    });
    expect(violations.body.map((v) => v.type)).toEqual(
      expect.arrayContaining(['camera_off', 'connection_lost']),
    );
    await dashboard.close();
  });
});
