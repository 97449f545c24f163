import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../support/backends.js';
import { launchChromium } from '../support/browser.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { ap, controlMediaType, lti, LtiPlatform } from '../support/lti-platform.js';

/**
 * The LMS path in real Chromium: the platform's link → OIDC login → launch → candidate page →
 * join → the page posts LtiStartAssessment to the platform (verified there against /lti/jwks) →
 * LtiEndAssessment completes the session; a second attempt is terminated by a proctor and the
 * platform's Assessment Control Service hears of it with a valid token.
 */
describe.each(backends())('LTI launch in Chromium on $name', (backend) => {
  let test: TestApp;
  let apiKey: string;
  let platform: LtiPlatform;
  let browser: Browser;
  let context: BrowserContext;

  beforeAll(async () => {
    test = await startTestApp(backend, { LTI_ALLOW_PRIVATE_TARGETS: 'true' }, { media: true });
    ({ apiKey } = await test.createTenant());
    platform = await LtiPlatform.start();
    platform.useTool(test.url);
    const registered = await test.request('POST', '/api/v1/lti/platforms', {
      key: apiKey,
      body: platform.registration(),
    });
    expect(registered.status).toBe(201);
    browser = await launchChromium();
    context = await browser.newContext();
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await platform?.close();
    await test?.close();
  });

  /** Follows the platform's link to the candidate page; returns the page and its session id. */
  const openFromPlatform = async (launch: Parameters<LtiPlatform['loginUrl']>[0]) => {
    const page = await context.newPage();
    page.on('pageerror', (error) => console.error('candidate page error:', error.message));
    await page.goto(platform.loginUrl(launch));
    await page.waitForURL(/\/candidate\?token=/, { timeout: 15_000 });
    const token = new URL(page.url()).searchParams.get('token')!;
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as {
      sid: string;
    };
    return { page, sessionId: claims.sid };
  };

  const joinAndWait = async (page: Page) => {
    await page.click('[data-testid=join]');
    await page.waitForSelector('[data-testid=status]:text-is("in_progress")', { timeout: 20_000 });
  };

  it('launches, hands over with LtiStartAssessment, and completes on LtiEndAssessment', async () => {
    const sessionData = `session-${Date.now()}: keep me exactly`;
    const launch = { sub: 'e2e-student', resourceLinkId: 'e2e-link', attemptNumber: 1, sessionData };
    const { page, sessionId } = await openFromPlatform(launch);

    const assessmentWindow = context.waitForEvent('page', { timeout: 20_000 });
    await joinAndWait(page);
    const assessment = await assessmentWindow;
    await assessment.waitForSelector('[data-testid=assessment]', { timeout: 15_000 });
    await page.waitForSelector('[data-testid=lti-notice]');
    expect(platform.startRejected).toEqual([]);
    expect(platform.started).toHaveLength(1);
    const { payload } = platform.started[0]!;
    expect(payload).toMatchObject({
      iss: platform.clientId,
      aud: platform.issuer,
      [`${lti}message_type`]: 'LtiStartAssessment',
      [`${lti}version`]: '1.3.0',
      [`${lti}deployment_id`]: platform.deploymentId,
      [`${lti}resource_link`]: { id: 'e2e-link' },
      [`${ap}session_data`]: sessionData,
      [`${ap}attempt_number`]: 1,
      [`${ap}verified_user`]: {},
    });
    // The candidate page keeps streaming while the assessment is open.
    const live = await test.request<any>('GET', `/api/v1/sessions/${sessionId}`, { key: apiKey });
    expect(live.body.status).toBe('in_progress');

    const end = await context.newPage();
    await end.goto(platform.loginUrl({ ...launch, messageType: 'LtiEndAssessment' }));
    await end.waitForSelector('[data-testid=lti-title]:has-text("has ended")', { timeout: 15_000 });
    await page.waitForSelector('[data-testid=status]:text-is("completed")', { timeout: 10_000 });
    const ended = await test.request<any>('GET', `/api/v1/sessions/${sessionId}`, { key: apiKey });
    expect(ended.body.status).toBe('completed');
    await Promise.all([page.close(), assessment.close(), end.close()]);
  });

  it('a second attempt terminated by a proctor reaches the platform through the Assessment Control Service', async () => {
    const { page, sessionId } = await openFromPlatform({
      sub: 'e2e-student',
      resourceLinkId: 'e2e-link',
      attemptNumber: 2,
    });
    const assessmentWindow = context.waitForEvent('page', { timeout: 20_000 });
    await joinAndWait(page);
    const assessment = await assessmentWindow;
    const terminated = await test.request<any>('POST', `/api/v1/sessions/${sessionId}/actions`, {
      key: apiKey,
      body: { action: 'terminate', message: 'Ended by the proctor' },
    });
    expect(terminated.status).toBe(200);
    await page.waitForSelector('[data-testid=status]:text-is("terminated")', { timeout: 10_000 });
    await expect.poll(() => platform.controls.length, { timeout: 15_000 }).toBe(1);
    const call = platform.controls[0]!;
    expect(call.contentType).toBe(controlMediaType);
    expect(call.body).toMatchObject({
      user: { iss: platform.issuer, sub: 'e2e-student' },
      resource_link: { id: 'e2e-link' },
      attempt_number: 2,
      action: 'terminate',
      reason_msg: 'Ended by the proctor',
    });
    // The bearer token came from the token endpoint, for the ACS scope, against a verified assertion.
    const issued = platform.tokensIssued.find((t) => t.token === call.token);
    expect(issued?.scope).toBe('https://purl.imsglobal.org/spec/lti-ap/scope/control.all');
    const view = await test.request<any>('GET', `/api/v1/sessions/${sessionId}/lti`, { key: apiKey });
    expect(view.body.controlCalls).toMatchObject([
      { action: 'terminate', status: 'delivered', platformStatus: 'terminated' },
    ]);
    await Promise.all([page.close(), assessment.close()]);
  });
});
