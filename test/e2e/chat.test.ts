import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/browser.js';
import { seedSession, startTestApp, type TestApp } from '../support/app.js';
import { axeFindings } from '../support/pages.js';
import { fakeCameraY4m, fakeMicrophoneWav } from '../support/testdata.js';

/**
 * Chat in real Chromium: the proctor writes, the candidate answers and raises a hand, both
 * pages show the conversation (as text, never markup), a private note stays on the dashboard,
 * and the review shows the conversation and the note after the session.
 */
describe('chat and notes in Chromium', () => {
  let test: TestApp;
  let candidateBrowser: Browser;
  let proctorBrowser: Browser;
  let apiKey: string;

  beforeAll(async () => {
    const videoFile = fakeCameraY4m('video/foreman_cif_299f.mp4', { seconds: 5 });
    const audioFile = fakeMicrophoneWav({ silenceSeconds: 5 });
    test = await startTestApp({ name: 'pglite' }, {}, { media: true });
    ({ apiKey } = await test.createTenant());
    [candidateBrowser, proctorBrowser] = await Promise.all([
      launchChromium({ videoFile, audioFile }),
      launchChromium(),
    ]);
  });

  afterAll(async () => {
    await candidateBrowser?.close();
    await proctorBrowser?.close();
    await test?.close();
  });

  it('carries messages and a raised hand both ways, keeps notes private, and shows both in the review', async () => {
    const session = await seedSession(test, apiKey);
    const minted = await test.request<any>('POST', '/api/v1/proctor-tokens', {
      key: apiKey,
      body: { name: 'E2E Proctor', examIds: [session.examId] },
    });
    const base = `${test.url}/proctor?token=${encodeURIComponent(minted.body.token)}&exam=${session.examId}`;
    const dashboard = await proctorBrowser.newPage();
    dashboard.on('pageerror', (error) => console.error('dashboard page error:', error.message));
    await dashboard.goto(base);
    const candidate = await candidateBrowser.newPage();
    candidate.on('pageerror', (error) => console.error('candidate page error:', error.message));
    await candidate.goto(`${test.url}/candidate?token=${encodeURIComponent(session.candidateToken)}`);
    await candidate.click('[data-testid=join]');
    await candidate.waitForSelector('[data-testid=status]:text-is("in_progress")', { timeout: 15_000 });

    // The proctor writes; markup arrives as the literal text.
    const markup = '<b>Please</b> look at the camera';
    await dashboard.waitForSelector(`[data-testid=chat-to] option[value="${session.id}"]`, {
      state: 'attached',
    });
    await dashboard.selectOption('[data-testid=chat-to]', session.id);
    await dashboard.fill('[data-testid=chat-text]', markup);
    await dashboard.click('[data-testid=chat-send]');
    const received = candidate.locator('[data-testid=chat-message][data-from=proctor] .chat-text');
    await received.waitFor({ timeout: 5_000 });
    expect(await received.textContent()).toBe(markup);
    expect(await candidate.locator('[data-testid=chat-log] b').count()).toBe(0);

    // The candidate answers (two lines) and raises a hand.
    await candidate.fill('[data-testid=chat-text]', 'Sorry, my lamp fell.\nBack now.');
    await candidate.click('[data-testid=chat-send]');
    await candidate.waitForSelector('[data-testid=chat-message][data-from=candidate][data-kind=message]');
    await candidate.click('[data-testid=raise-hand]');
    await candidate.waitForSelector('[data-testid=chat-message][data-kind=help]');

    const answer = dashboard.locator(
      `[data-testid=chat-message][data-session="${session.id}"][data-from=candidate][data-kind=message] .chat-text`,
    );
    await answer.waitFor({ timeout: 5_000 });
    expect(await answer.textContent()).toBe('Sorry, my lamp fell.\nBack now.');
    await dashboard.waitForSelector(
      `[data-testid=chat-message][data-session="${session.id}"][data-kind=help]`,
      { timeout: 5_000 },
    );
    await dashboard.waitForSelector('[data-testid=help-alert]:has-text("needs help")');
    expect(await dashboard.locator('[data-testid=chat-message]').count()).toBe(3);
    // The raised hand marks the tile until a proctor answers.
    const tile = `[data-testid=tile][data-session="${session.id}"]`;
    await dashboard.waitForSelector(`${tile}[data-help]`, { state: 'attached' });

    // A private note: on the dashboard, never on the candidate's page.
    await dashboard.fill('[data-testid=note-text]', 'Lamp fell over; believable.');
    await dashboard.click('[data-testid=note-save]');
    await dashboard.waitForSelector('[data-testid=note]:has-text("Lamp fell over")', { timeout: 5_000 });

    expect(await axeFindings(dashboard)).toEqual([]);
    await dashboard.fill('[data-testid=chat-text]', 'Coming to you.');
    await dashboard.click('[data-testid=chat-send]');
    await dashboard.waitForSelector(`${tile}:not([data-help])`, { state: 'attached' });
    expect(await axeFindings(candidate)).toEqual([]);

    // A reloaded candidate page shows the conversation again.
    await candidate.reload();
    await candidate.click('[data-testid=join]');
    await candidate.waitForFunction(
      () => (globalThis as any).document.querySelectorAll('[data-testid=chat-message]').length === 4,
      undefined,
      { timeout: 10_000 },
    );
    expect(await candidate.content()).not.toContain('Lamp fell over');

    // The review shows the conversation and the note, in order.
    await test.request('POST', `/api/v1/sessions/${session.id}/actions`, {
      key: apiKey,
      body: { action: 'complete' },
    });
    const review = await proctorBrowser.newPage();
    await review.goto(`${base}&view=review`);
    await review.click(`[data-testid=review-row][data-session="${session.id}"] button`);
    const messages = review.locator('[data-testid=review-messages] [data-testid=chat-message]');
    await messages.first().waitFor({ timeout: 5_000 });
    expect(
      await messages.evaluateAll((items) => items.map((item) => item.getAttribute('data-kind'))),
    ).toEqual(['message', 'message', 'help', 'message']);
    expect(await review.locator('[data-testid=review-messages] .chat-text').first().textContent()).toBe(
      markup,
    );
    expect(await review.locator('[data-testid=review-notes] [data-testid=note]').textContent()).toContain(
      'Lamp fell over',
    );
    // A reviewer adds a note after the exam.
    await review.fill('[data-testid=review-note-text]', 'Cleared after review.');
    await review.click('[data-testid=review-note-save]');
    await review.waitForSelector(
      '[data-testid=review-notes] [data-testid=note]:has-text("Cleared after review")',
    );
    expect(await review.locator('[data-testid=review-notes] [data-testid=note]').count()).toBe(2);
    expect(await axeFindings(review)).toEqual([]);
  });
});
