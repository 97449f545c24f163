import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transitionSession } from '../../server/proctoring/index.js';
import { backends } from '../support/backends.js';
import { recordViolation, startTestApp, type TestApp } from '../support/app.js';
import {
  controlMediaType,
  LaunchDriver,
  LtiPlatform,
  sessionOfRedirect,
  type Launch,
  type SignOptions,
} from '../support/lti-platform.js';

/** The platform's side of the conversation: its JWKS (cache, rotation, outages) and its ACS. */
describe.each(backends())('LTI 1.3 platform key sets and Assessment Control on $name', (backend) => {
  let test: TestApp;
  let tenant: { apiKey: string; tenantId: string };
  let platform: LtiPlatform;
  const platforms: LtiPlatform[] = [];

  const newPlatform = async (apiKey = tenant.apiKey) => {
    const made = await LtiPlatform.start();
    platforms.push(made);
    made.useTool(test.url);
    const registered = await test.request<any>('POST', '/api/v1/lti/platforms', {
      key: apiKey,
      body: made.registration(),
    });
    expect(registered.status).toBe(201);
    return made;
  };

  let driver: LaunchDriver;
  const launchWith = (launch: Launch = {}, sign: SignOptions = {}, from = platform) =>
    driver.launch(from, launch, sign);
  const sessionOf = sessionOfRedirect;

  beforeAll(async () => {
    // The emulated platform is on loopback, which the SSRF guard refuses by default.
    test = await startTestApp(backend, { LTI_ALLOW_PRIVATE_TARGETS: 'true' });
    driver = new LaunchDriver(test.url);
    tenant = await test.createTenant();
    platform = await newPlatform();
  });
  afterAll(async () => {
    await Promise.all(platforms.map((p) => p.close()));
    await test?.close();
  });

  it('caches the platform key set and fetches it again when the platform rotates its key', async () => {
    const rotating = await newPlatform();
    for (const sub of ['k1', 'k2', 'k3']) {
      expect((await launchWith({ sub, resourceLinkId: 'link-keys' }, {}, rotating)).result.status).toBe(302);
    }
    expect(rotating.jwksFetches).toBe(1);
    await rotating.rotateKey();
    // After the refetch cooldown (3 s), a token with the new kid makes Vigil fetch the set again.
    await new Promise((resolve) => setTimeout(resolve, 3_100));
    expect((await launchWith({ sub: 'k4', resourceLinkId: 'link-keys' }, {}, rotating)).result.status).toBe(
      302,
    );
    expect(rotating.jwksFetches).toBe(2);
  });

  it('refuses with 401 when the platform key set is down or does not answer', async () => {
    const down = await newPlatform();
    down.jwksMode = 'error';
    const failed = await launchWith({}, {}, down);
    expect(failed.result.status).toBe(401);
    expect(failed.result.text).toMatch(/key set/);
    const hung = await newPlatform();
    hung.jwksMode = 'hang';
    const timedOut = await launchWith({}, {}, hung);
    expect(timedOut.result.status).toBe(401);
    expect(timedOut.result.text).toMatch(/did not answer in time/);
    // Back up: the next launch works (the failure was not cached).
    hung.jwksMode = 'ok';
    expect((await launchWith({}, {}, hung)).result.status).toBe(302);
  }, 20_000);

  it('sends proctor actions to the Assessment Control Service with a client-credentials token, retrying failures', async () => {
    const launch = {
      sub: 'controlled',
      resourceLinkId: 'link-acs',
      attemptNumber: 2,
      sessionData: 'acs-data',
    };
    const { sessionId } = sessionOf((await launchWith(launch)).result.location);
    const session = await test.request<any>('GET', `/api/v1/sessions/${sessionId}`, { key: tenant.apiKey });
    await transitionSession(
      test.app.context.db,
      test.app.context.events,
      { tenantId: tenant.tenantId, sessionId, actor: 'test', reason: 'test' },
      'in_progress',
    );
    await recordViolation(
      test,
      { tenantId: tenant.tenantId, examId: session.body.examId, id: sessionId },
      { type: 'fullscreen_exit', snapshots: [] },
    );
    platform.controlFailures = 1;
    const flagged = await test.request<any>('POST', `/api/v1/sessions/${sessionId}/actions`, {
      key: tenant.apiKey,
      body: { action: 'flag', message: 'Left fullscreen twice' },
    });
    expect(flagged.status).toBe(200);
    const view = () => test.request<any>('GET', `/api/v1/sessions/${sessionId}/lti`, { key: tenant.apiKey });
    await expect
      .poll(async () => (await view()).body.controlCalls[0]?.status, { timeout: 15_000, interval: 250 })
      .toBe('delivered');
    const call = (await view()).body.controlCalls[0];
    expect(call).toMatchObject({
      action: 'flag',
      attempts: 2,
      responseStatus: 200,
      platformStatus: 'flagged',
      error: null,
    });

    const received = platform.controls.find(
      (c) => c.body.action === 'flag' && (c.body.user as any).sub === 'controlled',
    )!;
    expect(received.contentType).toBe(controlMediaType);
    expect(received.body).toMatchObject({
      user: { iss: platform.issuer, sub: 'controlled' },
      resource_link: { id: 'link-acs' },
      attempt_number: 2,
      action: 'flag',
      incident_severity: 0.25,
      reason_code: '4',
      reason_msg: 'Left fullscreen twice',
    });
    expect(Date.parse(received.body.incident_time as string)).not.toBeNaN();
    const issued = platform.tokensIssued.find((t) => t.token === received.token)!;
    expect(issued.assertion).toMatchObject({
      iss: platform.clientId,
      sub: platform.clientId,
      aud: `${platform.url}/token`,
    });
    expect(platform.tokenRejected).toEqual([]);

    // warn is not an ACS action; terminate is.
    await test.request('POST', `/api/v1/sessions/${sessionId}/actions`, {
      key: tenant.apiKey,
      body: { action: 'warn', message: 'hi' },
    });
    await test.request('POST', `/api/v1/sessions/${sessionId}/actions`, {
      key: tenant.apiKey,
      body: { action: 'terminate' },
    });
    await expect
      .poll(async () => (await view()).body.controlCalls.map((c: any) => `${c.action}:${c.status}`), {
        timeout: 10_000,
      })
      .toEqual(['flag:delivered', 'terminate:delivered']);
    expect((await view()).body.controlCalls[1].platformStatus).toBe('terminated');
  });
});
