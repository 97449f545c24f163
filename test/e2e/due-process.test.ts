import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProctoringEvents, ViolationRules, defaultPolicy } from '../../server/proctoring/index.js';
import { createLogger } from '../../server/shared/index.js';
import { launchChromium } from '../support/browser.js';
import { seedSession, startTestApp, type TestApp } from '../support/app.js';
import { connect, request } from '../support/sockets.js';
import { fakeCameraY4m, fakeMicrophoneWav } from '../support/testdata.js';

/**
 * One cause, one violation, and no flag for what did not happen, in real Chromium: an honest
 * candidate who finishes has no violation, a page that goes away is only `connection_lost`, a
 * camera that stops while the page stays is `camera_off`, and a page that never entered
 * fullscreen is shown how instead of being flagged.
 */
describe('due process in Chromium: no false flags', () => {
  let test: TestApp;
  let browser: Browser;
  let apiKey: string;
  let tenantId: string;
  /** The default camera_off countdown (3 s) is kept, so a second violation would have time to open. */
  const cameraOffMs = 3000;

  beforeAll(async () => {
    const videoFile = fakeCameraY4m('video/foreman_cif_299f.mp4', { seconds: 20 });
    const audioFile = fakeMicrophoneWav({ silenceSeconds: 10 });
    test = await startTestApp(
      { name: 'pglite' },
      {},
      { media: true, timings: { connection_lost: { openAfterMs: 1500, closeAfterMs: 0 } } },
    );
    ({ apiKey, tenantId } = await test.createTenant());
    browser = await launchChromium({ videoFile, audioFile });
  });

  afterAll(async () => {
    await browser?.close();
    await test?.close();
  });

  const violationTypes = async (sessionId: string): Promise<string[]> => {
    const response = await test.request<any[]>('GET', `/api/v1/sessions/${sessionId}/violations`, {
      key: apiKey,
    });
    expect(response.status).toBe(200);
    return response.body.map((v) => v.type as string);
  };

  const waitForTypes = async (sessionId: string, wanted: string, timeoutMs: number) => {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if ((await violationTypes(sessionId)).includes(wanted)) return;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error(
      `no ${wanted} within ${timeoutMs} ms; saw ${JSON.stringify(await violationTypes(sessionId))}`,
    );
  };

  /** A candidate page joined and sharing its camera and microphone. */
  const joined = async (token: string, init?: () => void): Promise<Page> => {
    const page = await browser.newPage();
    page.on('pageerror', (error) => console.error('candidate page error:', error.message));
    if (init) await page.addInitScript(init);
    await page.goto(`${test.url}/candidate?token=${encodeURIComponent(token)}`);
    await page.click('[data-testid=join]');
    await page.waitForSelector('[data-testid=status]:text-is("in_progress")', { timeout: 15_000 });
    await page.waitForSelector('#media-state[data-ok=true]', { timeout: 15_000 });
    return page;
  };

  const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('ends an honest session finished with "Finish exam" with no violation at all', async () => {
    const session = await seedSession(test, apiKey);
    const page = await joined(session.candidateToken);
    await settle(cameraOffMs + 1000);
    await page.click('[data-testid=finish]');
    await page.click('[data-testid=finish-confirm]');
    await page.waitForSelector('[data-testid=status]:text-is("completed")', { timeout: 10_000 });
    // The page drops its media and then its socket (5 s later): none of that is a violation.
    await settle(5000 + cameraOffMs + 1000);
    await page.close();
    await settle(2500);
    expect(await violationTypes(session.id)).toEqual([]);
    const stored = await test.request<any>('GET', `/api/v1/sessions/${session.id}`, { key: apiKey });
    expect(stored.body).toMatchObject({ status: 'completed', suspicionScore: 0, violationCounts: {} });
    // Review load: an honest session does not land in the review queue.
    const queue = await test.request<any[]>('GET', `/api/v1/exams/${session.examId}/review-queue`, {
      key: apiKey,
    });
    expect(queue.status).toBe(200);
    expect(queue.body.filter((item) => item.sessionId === session.id)).toEqual([]);
    console.log(`review load (honest e2e path): ${queue.body.length}/1 honest sessions queued`);
  });

  it('gives a page that goes away exactly connection_lost, not also camera_off or mic_off', async () => {
    const session = await seedSession(test, apiKey);
    const page = await joined(session.candidateToken);
    await page.close();
    await waitForTypes(session.id, 'connection_lost', 10_000);
    // Long enough for a camera_off / mic_off countdown to have opened one, had it run.
    await settle(cameraOffMs + 2000);
    expect(await violationTypes(session.id)).toEqual(['connection_lost']);
  });

  it('gives a camera that stops while the page stays camera_off, once', async () => {
    const session = await seedSession(test, apiKey);
    const page = await joined(session.candidateToken);
    await page.evaluate(() => {
      // Runs in the page: stop the camera as if it were unplugged.
      const videos = (globalThis as any).document.querySelectorAll('video');
      for (const video of videos) for (const track of video.srcObject?.getVideoTracks() ?? []) track.stop();
    });
    await waitForTypes(session.id, 'camera_off', 15_000);
    await page.waitForSelector('[data-testid=violation][data-type=camera_off]', { timeout: 5_000 });
    await settle(2000);
    expect(await violationTypes(session.id)).toEqual(['camera_off']);

    // The proctor's tile says why the score is what it is.
    const minted = await test.request<any>('POST', '/api/v1/proctor-tokens', {
      key: apiKey,
      body: { name: 'Tile reader', examIds: [session.examId] },
    });
    const dashboard = await browser.newPage();
    await dashboard.goto(
      `${test.url}/proctor?token=${encodeURIComponent(minted.body.token)}&exam=${session.examId}`,
    );
    const tile = dashboard.locator(`[data-testid=tile][data-session="${session.id}"]`);
    await tile.getByText('Why this score').click();
    await tile.locator('[data-testid=tile-explanation] li:has-text("The camera sent no picture")').waitFor();
    expect(await tile.locator('[data-testid=tile-explanation]').textContent()).toMatch(
      /The camera sent no picture.*: 15 pts/,
    );
    await dashboard.close();
    await page.close();
  });

  it('shows how to enter fullscreen when the browser refuses it, and flags nothing', async () => {
    const session = await seedSession(test, apiKey);
    const page = await joined(session.candidateToken, () => {
      // Runs in the page: a browser (or an embedding frame) that refuses fullscreen.
      (globalThis as any).Element.prototype.requestFullscreen = () =>
        Promise.reject(new TypeError('Permissions check failed'));
    });
    await page.waitForSelector('[data-testid=fullscreen-help]', { state: 'visible', timeout: 5_000 });
    await page
      .getByRole('button', { name: 'Enter fullscreen' })
      .waitFor({ state: 'visible', timeout: 3_000 });
    // A fullscreen change the page was never part of reports nothing.
    await page.evaluate(() => (globalThis as any).document.dispatchEvent(new Event('fullscreenchange')));
    await settle(1500);
    expect(await violationTypes(session.id)).toEqual([]);
    await page.close();
  });

  it('per policy, does not start a page that cannot enter fullscreen, and skips it for a noFullscreen candidate', async () => {
    const exam = await test.request<any>('POST', '/api/v1/exams', {
      key: apiKey,
      body: {
        title: 'Fullscreen exam',
        durationMinutes: 60,
        policy: { browser: { fullscreenToStart: true } },
      },
    });
    const sessionFor = async (name: string) => {
      const candidate = await test.request<any>('POST', `/api/v1/exams/${exam.body.id}/candidates`, {
        key: apiKey,
        body: { externalId: name, name },
      });
      const session = await test.request<any>('POST', `/api/v1/exams/${exam.body.id}/sessions`, {
        key: apiKey,
        body: { candidateId: candidate.body.id },
      });
      return { candidateId: candidate.body.id as string, ...session.body };
    };
    const refusing = () => {
      // Runs in the page: a browser that refuses fullscreen.
      (globalThis as any).Element.prototype.requestFullscreen = () =>
        Promise.reject(new TypeError('Permissions check failed'));
    };
    const open = async (token: string) => {
      const page = await browser.newPage();
      await page.addInitScript(refusing);
      const settings = page.waitForResponse((r) => r.url().includes('/api/v1/candidate/settings'));
      await page.goto(`${test.url}/candidate?token=${encodeURIComponent(token)}`);
      expect((await settings).status()).toBe(200);
      return page;
    };
    const statusOf = async (id: string) =>
      (await test.request<any>('GET', `/api/v1/sessions/${id}`, { key: apiKey })).body.status;

    const staff = await test.request<any>('GET', '/api/v1/candidate/settings', { key: apiKey });
    expect(staff.status).toBe(403);
    const blocked = await sessionFor('Needs Fullscreen');
    const page = await open(blocked.candidateToken);
    await page.click('[data-testid=join]');
    await page.waitForSelector('#setup-error:has-text("starts in fullscreen")');
    await page.waitForSelector('[data-testid=fullscreen-help]', { state: 'visible' });
    await settle(1000);
    expect(await statusOf(blocked.id)).toBe('created');
    // Once the browser does enter fullscreen, Join starts the exam.
    await page.evaluate(() => {
      const scope = globalThis as any;
      scope.Element.prototype.requestFullscreen = function () {
        Object.defineProperty(scope.document, 'fullscreenElement', { configurable: true, get: () => this });
        return Promise.resolve();
      };
    });
    await page.click('[data-testid=join]');
    await page.waitForSelector('[data-testid=status]:text-is("in_progress")', { timeout: 15_000 });
    expect(await violationTypes(blocked.id)).toEqual([]);
    await page.close();

    const accommodated = await sessionFor('No Fullscreen');
    await test.request('PUT', `/api/v1/candidates/${accommodated.candidateId}/profile`, {
      key: apiKey,
      body: { noFullscreen: true },
    });
    const free = await open(accommodated.candidateToken);
    await free.click('[data-testid=join]');
    await free.waitForSelector('[data-testid=status]:text-is("in_progress")', { timeout: 15_000 });
    expect(await free.locator('[data-testid=fullscreen-help]').isHidden()).toBe(true);
    await free.close();
  });

  it('counts a tab switch that takes the page out of fullscreen as tab_hidden only', async () => {
    const session = await seedSession(test, apiKey);
    const page = await joined(session.candidateToken);
    await page.evaluate(() => {
      // Runs in the page: the browser's own sequence, in fullscreen, then a switch to another tab
      // (it leaves fullscreen first and hides the page right after).
      const doc = (globalThis as any).document;
      let element: unknown = doc.documentElement;
      let hidden = false;
      Object.defineProperty(doc, 'fullscreenElement', { configurable: true, get: () => element });
      Object.defineProperty(doc, 'hidden', { configurable: true, get: () => hidden });
      doc.dispatchEvent(new Event('fullscreenchange'));
      element = null;
      doc.dispatchEvent(new Event('fullscreenchange'));
      hidden = true;
      doc.dispatchEvent(new Event('visibilitychange'));
    });
    await waitForTypes(session.id, 'tab_hidden', 5_000);
    await settle(1500);
    expect(await violationTypes(session.id)).toEqual(['tab_hidden']);
    // Leaving fullscreen with the page in view is fullscreen_exit.
    await page.evaluate(() => {
      const doc = (globalThis as any).document;
      let element: unknown = doc.documentElement;
      Object.defineProperty(doc, 'fullscreenElement', { configurable: true, get: () => element });
      Object.defineProperty(doc, 'hidden', { configurable: true, get: () => false });
      doc.dispatchEvent(new Event('visibilitychange'));
      doc.dispatchEvent(new Event('fullscreenchange'));
      element = null;
      setTimeout(() => doc.dispatchEvent(new Event('fullscreenchange')), 1200);
    });
    await waitForTypes(session.id, 'fullscreen_exit', 5_000);
    expect((await violationTypes(session.id)).sort()).toEqual(['fullscreen_exit', 'tab_hidden']);
    await page.close();
  });

  it('takes fullscreen_exit only after fullscreen was entered (the server checks too)', async () => {
    const session = await seedSession(test, apiKey);
    const socket = await connect(test.url, '/candidate', session.candidateToken);
    try {
      const at = () => new Date().toISOString();
      expect(await request(socket, 'client:signal', { type: 'fullscreen_exit', at: at(), seq: 1 })).toEqual({
        ok: true,
        data: { duplicate: false, inert: 'never_in_fullscreen' },
      });
      await settle(500);
      expect(await violationTypes(session.id)).toEqual([]);
      await request(socket, 'client:signal', { type: 'fullscreen_enter', at: at(), seq: 2 });
      expect(await request(socket, 'client:signal', { type: 'fullscreen_exit', at: at(), seq: 3 })).toEqual({
        ok: true,
        data: { duplicate: false },
      });
      await waitForTypes(session.id, 'fullscreen_exit', 5_000);
    } finally {
      socket.close();
    }
  });

  it('lets no other origin reopen a media violation while the page is gone', async () => {
    // The analysis reports camera_off when frames stop coming, which they do when the page goes.
    const rules = new ViolationRules({
      db: test.app.context.db,
      events: new ProctoringEvents(),
      logger: createLogger('silent'),
      timings: {
        connection_lost: { openAfterMs: 200, closeAfterMs: 0 },
        camera_off: { openAfterMs: 200, closeAfterMs: 0 },
        mic_off: { openAfterMs: 200, closeAfterMs: 0 },
      },
    });
    try {
      const seeded = await seedSession(test, apiKey);
      const session = { tenantId, examId: seeded.examId, sessionId: seeded.id, policy: defaultPolicy() };
      rules.report(session, 'connection_lost', true);
      rules.report(session, 'camera_off', true, { origin: 'analysis' });
      rules.report(session, 'mic_off', true);
      await settle(800);
      expect(await violationTypes(seeded.id)).toEqual(['connection_lost']);
      // Back: the camera that is still off now counts, once for both origins.
      rules.report(session, 'connection_lost', false);
      rules.report(session, 'camera_off', true);
      await settle(800);
      expect((await violationTypes(seeded.id)).sort()).toEqual(['camera_off', 'connection_lost', 'mic_off']);
    } finally {
      rules.close();
    }
  });
});
