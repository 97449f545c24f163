import fs from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/browser.js';
import { recordViolation, seedSession, startTestApp, type TestApp } from '../support/app.js';
import { axeFindings } from '../support/pages.js';
import { testdata } from '../support/testdata.js';

/** After the exam: the dashboard's review lists every session and opens one's record and evidence. */
describe('session review on the dashboard', () => {
  let test: TestApp;
  let browser: Browser;

  beforeAll(async () => {
    test = await startTestApp({ name: 'pglite' });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await test?.close();
  });

  it('lists the sessions most suspicious first and shows one with its violations and evidence', async () => {
    const { apiKey, tenantId } = await test.createTenant();
    const caught = await seedSession(test, apiKey);
    // A second candidate of the same exam, who never joined.
    const candidate = await test.request<any>('POST', `/api/v1/exams/${caught.examId}/candidates`, {
      key: apiKey,
      body: { externalId: 'quiet', name: 'Quiet Candidate' },
    });
    const quiet = await test.request<any>('POST', `/api/v1/exams/${caught.examId}/sessions`, {
      key: apiKey,
      body: { candidateId: candidate.body.id },
    });
    await recordViolation(
      test,
      { tenantId, examId: caught.examId, id: caught.id },
      { confidence: 0.93, snapshots: [fs.readFileSync(testdata('video/foreman_frames/foreman_000.jpg'))] },
    );
    await test.request('POST', `/api/v1/sessions/${caught.id}/actions`, {
      key: apiKey,
      body: { action: 'terminate', message: 'Second person in the room' },
    });
    const token = (
      await test.request<any>('POST', '/api/v1/proctor-tokens', {
        key: apiKey,
        body: { name: 'Reviewer', examIds: [caught.examId] },
      })
    ).body.token as string;

    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', (error) => console.error('review page error:', error.message));
    await page.goto(
      `${test.url}/proctor?token=${encodeURIComponent(token)}&exam=${caught.examId}&view=review`,
    );
    await page.waitForSelector('[data-testid=review-row]');
    const rows = await page.$$eval('[data-testid=review-row]', (nodes) =>
      nodes.map((node) => [node.getAttribute('data-session'), node.getAttribute('data-status')]),
    );
    expect(rows).toEqual([
      [caught.id, 'terminated'],
      [quiet.body.id, 'created'],
    ]);

    // Keyboard: Tab to the first row's Open button, Enter opens the record.
    for (let presses = 0; presses < 30; presses += 1) {
      await page.keyboard.press('Tab');
      const focused = await page.evaluate(() =>
        (globalThis as any).document.activeElement
          ?.closest('[data-testid=review-row]')
          ?.getAttribute('data-session'),
      );
      if (focused === caught.id) break;
    }
    await page.keyboard.press('Enter');
    const violation = page.locator('[data-testid=review-violation][data-type=multiple_faces]');
    await violation.waitFor();
    expect(await violation.textContent()).toContain('More than one person in view');
    expect(await page.locator('#detail-facts').textContent()).toContain('terminated');

    const shots = process.env.VIGIL_SCREENSHOTS;
    if (shots) await page.screenshot({ path: `${shots}/review.png` });
    await violation.getByRole('button', { name: 'snapshot 1' }).click();
    await page.waitForFunction(
      () => ((globalThis as any).document.querySelector('#evidence-body img')?.naturalWidth ?? 0) > 0,
      undefined,
      { timeout: 10_000 },
    );
    await page.keyboard.press('Escape');

    const findings = await axeFindings(page);
    expect(findings).toEqual([]);

    // The way back to the live view of the same exam.
    const back = new URL((await page.getAttribute('#mode-link', 'href'))!, test.url);
    expect(back.searchParams.get('view')).toBeNull();
    expect(back.searchParams.get('exam')).toBe(caught.examId);
    await page.close();
  });
});
