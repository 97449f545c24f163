import fs from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/browser.js';
import { recordViolation, seedSession, startTestApp, type TestApp } from '../support/app.js';
import { axeFindings } from '../support/pages.js';
import { testdata } from '../support/testdata.js';

/** The review queue, the explained score and a reviewer's decisions on the dashboard's review view. */
describe('human review on the dashboard', () => {
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

  it('queues the flagged session only, explains its score, and takes a dismissal out of it', async () => {
    const { apiKey, tenantId } = await test.createTenant();
    const flagged = await seedSession(test, apiKey);
    const candidate = await test.request<any>('POST', `/api/v1/exams/${flagged.examId}/candidates`, {
      key: apiKey,
      body: { externalId: 'honest', name: 'Honest Candidate' },
    });
    const honest = await test.request<any>('POST', `/api/v1/exams/${flagged.examId}/sessions`, {
      key: apiKey,
      body: { candidateId: candidate.body.id },
    });
    await recordViolation(
      test,
      { tenantId, examId: flagged.examId, id: flagged.id },
      { confidence: 1, snapshots: [fs.readFileSync(testdata('video/foreman_frames/foreman_000.jpg'))] },
    );
    await test.request('PUT', `/api/v1/candidates/${flagged.candidateId}/profile`, {
      key: apiKey,
      body: { gazeExempt: true },
    });
    const token = (
      await test.request<any>('POST', '/api/v1/proctor-tokens', {
        key: apiKey,
        body: { name: 'Reviewer', examIds: [flagged.examId] },
      })
    ).body.token as string;

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (error) => console.error('review page error:', error.message));
    await page.goto(
      `${test.url}/proctor?token=${encodeURIComponent(token)}&exam=${flagged.examId}&view=review`,
    );
    const queued = page.locator('[data-testid=queue-item]');
    await queued.first().waitFor();
    expect(await queued.evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-session')))).toEqual([
      flagged.id,
    ]);
    expect(await queued.first().textContent()).toContain('score 15.0');
    expect(honest.body.id).toBeDefined();

    await queued
      .first()
      .getByRole('button', { name: /^Review the session of/ })
      .click();
    const explanation = page.locator('[data-testid=explanation][data-type=multiple_faces]');
    await explanation.waitFor();
    expect(await explanation.textContent()).toMatch(
      /faces in view.*15 points \(high, weight 15 × confidence 100 ?%\)/,
    );
    expect(await page.locator('[data-testid=score-plot] rect[data-type=multiple_faces]').count()).toBe(1);
    // The proctor sees the candidate's accommodations.
    expect(await page.locator('[data-testid=accommodations]').textContent()).toContain(
      'No looking-away checks',
    );
    expect(await axeFindings(page)).toEqual([]);

    // A decision needs its reason.
    const violation = page.locator('[data-testid=review-violation][data-type=multiple_faces]');
    await violation.locator('[data-testid=decide-dismissed]').click();
    await page.waitForSelector('#decision-error:has-text("reason")');
    await page.fill('[data-testid=decision-note]', 'The second face is a poster behind the candidate');
    await violation.locator('[data-testid=decide-dismissed]').click();
    await page.waitForSelector(
      '[data-testid=review-violation] [data-testid=decision][data-decision=dismissed]',
    );
    await page.waitForSelector('#queue-status:has-text("Nothing waits")');
    expect(await page.locator('[data-testid=queue-item]').count()).toBe(0);
    const stored = await test.request<any>('GET', `/api/v1/sessions/${flagged.id}`, { key: apiKey });
    expect(stored.body.suspicionScore).toBe(0);
    const reviews = await test.request<any[]>('GET', `/api/v1/sessions/${flagged.id}/reviews`, {
      key: apiKey,
    });
    expect(reviews.body).toEqual([
      expect.objectContaining({
        decision: 'dismissed',
        note: 'The second face is a poster behind the candidate',
        reviewer: 'proctor:Reviewer',
      }),
    ]);
    await page.close();
  });

  it("shows the candidate their own record in plain words, with the review's outcome and how to appeal", async () => {
    const { apiKey, tenantId } = await test.createTenant();
    const seeded = await seedSession(test, apiKey);
    const ref = { tenantId, examId: seeded.examId, id: seeded.id };
    const faces = await recordViolation(test, ref, { type: 'multiple_faces', confidence: 1, snapshots: [] });
    await recordViolation(test, ref, { type: 'tab_hidden', confidence: 1, snapshots: [] });
    await test.request('PUT', `/api/v1/candidates/${seeded.candidateId}/profile`, {
      key: apiKey,
      body: { speechAllowed: true },
    });
    const user = await test.createUser(tenantId, 'admin');
    const login = await test.request<any>('POST', '/api/v1/auth/token', {
      body: { email: user.email, password: user.password },
    });
    await test.request('POST', `/api/v1/sessions/${seeded.id}/reviews`, {
      token: login.body.accessToken,
      body: { violationId: faces.violation.id, decision: 'dismissed', note: 'Private reviewer reasoning' },
    });
    await test.request('POST', `/api/v1/sessions/${seeded.id}/actions`, {
      key: apiKey,
      body: { action: 'terminate' },
    });

    const page = await browser.newPage();
    page.on('pageerror', (error) => console.error('outcome page error:', error.message));
    await page.goto(`${test.url}/candidate/outcome?token=${encodeURIComponent(seeded.candidateToken)}`);
    await page.waitForSelector('[data-testid=outcome-item][data-type=multiple_faces]');
    expect(await page.locator('[data-testid=outcome-status]').textContent()).toContain(
      'your session ended (terminated)',
    );
    const dismissed = page.locator('[data-testid=outcome-item][data-type=multiple_faces]');
    expect(await dismissed.getAttribute('data-review')).toBe('dismissed');
    expect(await dismissed.textContent()).toContain('does not count against you');
    expect(await page.locator('[data-testid=outcome-item][data-type=tab_hidden]').textContent()).toContain(
      'Not reviewed yet',
    );
    expect(await page.locator('[data-testid=outcome-review]').textContent()).toBe(
      'A person reviewed 1 of 2 notices: 1 dismissed as not a problem, 1 not reviewed yet.',
    );
    expect(await page.locator('[data-testid=outcome-score]').textContent()).toContain('5 of 100');
    expect(await page.locator('[data-testid=outcome-accommodations]').textContent()).toContain(
      'Speech allowed',
    );
    expect(await page.locator('[data-testid=appeal]').textContent()).toContain('npx vigil bundle verify');
    // Staff notes and names stay with the staff.
    const body = (await page.textContent('body')) ?? '';
    expect(body).not.toContain('Private reviewer reasoning');
    expect(body).not.toContain('user:');
    expect(await axeFindings(page)).toEqual([]);

    // Only the candidate's own token opens it; staff get 403, a bad token 401.
    const staff = await test.request<any>('GET', '/api/v1/candidate/outcome', { key: apiKey });
    expect(staff.status).toBe(403);
    await page.goto(`${test.url}/candidate/outcome?token=not-a-token`);
    await page.waitForSelector('[data-testid=outcome-status]:has-text("could not be shown")');
    await page.close();
  });
});
