import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/browser.js';
import { seedSession, startTestApp, type TestApp } from '../support/app.js';
import { axeFindings } from '../support/pages.js';
import { fakeCameraY4m, fakeMicrophoneWav } from '../support/testdata.js';

/**
 * Both pages checked the way their users meet them: axe-core's WCAG 2.1 A/AA rules in real
 * Chromium, keyboard only (no mouse) for the candidate's way in and the proctor's sign-in, and
 * the layout shift a page makes while it fills with live content.
 */
describe('accessibility of the candidate page and the dashboard', () => {
  let test: TestApp;
  let browser: Browser;
  let apiKey: string;
  let tenantId: string;
  const shifts: Record<string, number> = {};

  beforeAll(async () => {
    test = await startTestApp({ name: 'pglite' }, {}, { media: true, analysis: false });
    ({ apiKey, tenantId } = await test.createTenant());
    browser = await launchChromium({
      videoFile: fakeCameraY4m('video/foreman_cif_299f.mp4', { seconds: 10 }),
      audioFile: fakeMicrophoneWav({ silenceSeconds: 10 }),
    });
  });

  afterAll(async () => {
    console.log(`cumulative layout shift: ${JSON.stringify(shifts)}`);
    await browser?.close();
    await test?.close();
  });

  /** A page that records its layout shifts from the start (Chromium's Layout Instability API). */
  async function openPage(url: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.addInitScript(() => {
      // Runs in the page, before its own scripts.
      const scope = globalThis as any;
      scope.__layoutShift = 0;
      new scope.PerformanceObserver((list: any) => {
        for (const entry of list.getEntries()) if (!entry.hadRecentInput) scope.__layoutShift += entry.value;
      }).observe({ type: 'layout-shift', buffered: true });
    });
    await page.goto(url);
    return page;
  }

  const layoutShift = (page: Page) => page.evaluate(() => (globalThis as any).__layoutShift as number);

  /** Presses Tab until the element matching `selector` has the focus; fails after `limit` presses. */
  async function tabTo(page: Page, selector: string, limit = 25): Promise<void> {
    for (let presses = 0; presses < limit; presses += 1) {
      await page.keyboard.press('Tab');
      if (await page.evaluate((sel) => (globalThis as any).document.activeElement?.matches(sel), selector))
        return;
    }
    throw new Error(`${selector} never took the focus after ${limit} Tab presses`);
  }

  it('lets a candidate join and finish with the keyboard alone, with no WCAG A/AA findings', async () => {
    const session = await seedSession(test, apiKey);
    const page = await openPage(`${test.url}/candidate?token=${encodeURIComponent(session.candidateToken)}`);
    await page.waitForSelector('[data-testid=join]');
    expect(await axeFindings(page)).toEqual([]);

    await tabTo(page, '[data-testid=join]');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid=status]:text-is("in_progress")', { timeout: 15_000 });
    expect(await axeFindings(page)).toEqual([]);
    // "Good" cumulative layout shift is below 0.1.
    shifts.candidateJoin = await layoutShift(page);
    expect(shifts.candidateJoin).toBeLessThan(0.1);

    // Finishing, by keyboard too: the button, then the confirmation it asks for.
    await tabTo(page, '[data-testid=finish]');
    await page.keyboard.press('Enter');
    expect(await axeFindings(page)).toEqual([]);
    await tabTo(page, '[data-testid=finish-confirm]');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid=status]:text-is("completed")', { timeout: 10_000 });
    const stored = await test.request<any>('GET', `/api/v1/sessions/${session.id}`, { key: apiKey });
    expect(stored.body.status).toBe('completed');
    await page.close();
  });

  it('lets a proctor sign in with the keyboard and watch a live tile, with no WCAG A/AA findings', async () => {
    const session = await seedSession(test, apiKey);
    const { email, password } = await test.createUser(tenantId, 'proctor');
    const candidate = await openPage(
      `${test.url}/candidate?token=${encodeURIComponent(session.candidateToken)}`,
    );
    await candidate.click('[data-testid=join]');
    await candidate.waitForSelector('[data-testid=status]:text-is("in_progress")', { timeout: 15_000 });

    const dashboard = await openPage(`${test.url}/proctor?exam=${session.examId}`);
    await dashboard.waitForSelector('#login-email', { state: 'visible' });
    expect(await axeFindings(dashboard)).toEqual([]);
    await tabTo(dashboard, '#login-email');
    await dashboard.keyboard.type(email);
    await dashboard.keyboard.press('Tab');
    await dashboard.keyboard.type(password);
    await dashboard.keyboard.press('Enter');

    await dashboard.waitForSelector(`[data-testid=tile][data-session="${session.id}"] video`, {
      timeout: 15_000,
    });
    await dashboard.waitForFunction(
      (id) =>
        ((globalThis as any).document.querySelector(`[data-testid=tile][data-session="${id}"] video`)
          ?.videoWidth ?? 0) > 0,
      session.id,
      { timeout: 15_000 },
    );
    expect(await axeFindings(dashboard)).toEqual([]);
    // The tile's actions are reachable from the keyboard.
    await tabTo(dashboard, `[data-testid=tile][data-session="${session.id}"] button`, 40);
    shifts.dashboardSignInToLiveTile = await layoutShift(dashboard);
    expect(shifts.dashboardSignInToLiveTile).toBeLessThan(0.1);
    await candidate.close();
    await dashboard.close();
  });
});
