import { eq } from 'drizzle-orm';
import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ltiLoginStates, ltiToolKeys } from '../../server/db/index.js';
import { KeySealer, registerPlatform, ToolKeys } from '../../server/lti/index.js';
import { transitionSession } from '../../server/proctoring/index.js';
import { backends } from '../support/backends.js';
import { seedSession, startTestApp, type TestApp } from '../support/app.js';
import {
  ap,
  lti,
  LaunchDriver,
  LtiPlatform,
  sessionOfRedirect,
  type Launch,
  type SignOptions,
} from '../support/lti-platform.js';

describe.each(backends())('LTI 1.3 Proctoring Services on $name', (backend) => {
  let test: TestApp;
  let tenant: { apiKey: string; tenantId: string };
  let other: { apiKey: string; tenantId: string };
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
  const login = (from: LtiPlatform, launch: Launch = {}) => driver.login(from, launch);
  const postLaunch = (form: Record<string, string>, cookie?: string) => driver.postLaunch(form, cookie);
  const launchWith = (launch: Launch = {}, sign: SignOptions = {}, from = platform) =>
    driver.launch(from, launch, sign);
  const sessionOf = sessionOfRedirect;

  const refusals = async (apiKey = tenant.apiKey) => {
    const audit = await test.request<any[]>('GET', '/api/v1/audit?limit=1000', { key: apiKey });
    return audit.body
      .filter((entry) => entry.action === 'lti.launch.refused')
      .map((entry) => entry.details.reason as string);
  };

  beforeAll(async () => {
    // The emulated platform is on loopback, which the SSRF guard refuses by default.
    test = await startTestApp(backend, { LTI_ALLOW_PRIVATE_TARGETS: 'true' });
    driver = new LaunchDriver(test.url);
    tenant = await test.createTenant();
    other = await test.createTenant();
    platform = await newPlatform();
  });
  afterAll(async () => {
    await Promise.all(platforms.map((p) => p.close()));
    await test?.close();
  });

  it('registers platforms per tenant with the tool URLs, and refuses bad, duplicate and foreign requests', async () => {
    const listed = await test.request<any[]>('GET', '/api/v1/lti/platforms', { key: tenant.apiKey });
    expect(listed.status).toBe(200);
    expect(listed.body).toHaveLength(1);
    expect(listed.body[0]).toMatchObject({
      issuer: platform.issuer,
      clientId: platform.clientId,
      deploymentIds: [platform.deploymentId],
      tool: {
        loginUrl: `${test.url}/lti/login`,
        launchUrl: `${test.url}/lti/launch`,
        jwksUrl: `${test.url}/lti/jwks`,
      },
    });
    const theirs = await test.request<any[]>('GET', '/api/v1/lti/platforms', { key: other.apiKey });
    expect(theirs.body).toEqual([]);

    const duplicate = await test.request<any>('POST', '/api/v1/lti/platforms', {
      key: other.apiKey,
      body: platform.registration(),
    });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.error.code).toBe('conflict');

    for (const body of [
      { ...platform.registration(), jwksUrl: 'ftp://example.test/jwks' },
      { ...platform.registration(), deploymentIds: [] },
      { ...platform.registration(), clientId: undefined },
      { ...platform.registration(), extra: 1 },
    ]) {
      const bad = await test.request<any>('POST', '/api/v1/lti/platforms', { key: tenant.apiKey, body });
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe('invalid_input');
    }
    const anonymous = await test.request<any>('POST', '/api/v1/lti/platforms', {
      body: platform.registration(),
    });
    expect(anonymous.status).toBe(401);
    const proctor = await test.request<any>('POST', '/api/v1/proctor-tokens', {
      key: tenant.apiKey,
      body: { name: 'P' },
    });
    const asProctor = await test.request<any>('GET', '/api/v1/lti/platforms', { token: proctor.body.token });
    expect(asProctor.status).toBe(403);

    const removable = await LtiPlatform.start();
    platforms.push(removable);
    const created = await test.request<any>('POST', '/api/v1/lti/platforms', {
      key: tenant.apiKey,
      body: removable.registration(),
    });
    const foreignDelete = await test.request<any>('DELETE', `/api/v1/lti/platforms/${created.body.id}`, {
      key: other.apiKey,
    });
    expect(foreignDelete.status).toBe(404);
    const deleted = await test.request('DELETE', `/api/v1/lti/platforms/${created.body.id}`, {
      key: tenant.apiKey,
    });
    expect(deleted.status).toBe(204);
    // Without LTI_ALLOW_PRIVATE_TARGETS, URLs Vigil would fetch must not lead into its own network.
    const apiKeyPrincipal = {
      kind: 'apiKey',
      tenantId: tenant.tenantId,
      clientId: 'test',
      name: 'test',
    } as const;
    for (const jwksUrl of [
      'http://127.0.0.1:9/jwks',
      'http://169.254.169.254/latest',
      'http://[::1]/k',
      'http://localhost/k',
    ]) {
      await expect(
        registerPlatform(
          test.app.context.db,
          apiKeyPrincipal,
          { ...removable.registration(), jwksUrl },
          test.url,
          false,
        ),
      ).rejects.toMatchObject({ code: 'unprocessable', message: expect.stringMatching(/^jwksUrl: /) });
    }
    await expect(
      registerPlatform(
        test.app.context.db,
        apiKeyPrincipal,
        {
          ...removable.registration(),
          accessTokenUrl: 'http://10.1.2.3/token',
          jwksUrl: 'http://93.184.216.34/jwks',
        },
        test.url,
        false,
      ),
    ).rejects.toMatchObject({
      code: 'unprocessable',
      message: expect.stringMatching(/^accessTokenUrl: .*10\.1\.2\.3/),
    });

    const doc = await test.request<any>('GET', '/api/v1/openapi.json');
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/lti/platforms',
        '/api/v1/lti/platforms/{id}',
        '/api/v1/lti/start-assessment',
      ]),
    );
    const again = await test.request<any>('DELETE', `/api/v1/lti/platforms/${created.body.id}`, {
      key: tenant.apiKey,
    });
    expect(again.status).toBe(404);
  });

  it('starts the OIDC login: a 302 to the platform with state, nonce and a SameSite=None cookie; bad logins are pages', async () => {
    const step = await login(platform, { sub: 'login-user' });
    expect(`${step.location.origin}${step.location.pathname}`).toBe(`${platform.url}/auth`);
    expect(Object.fromEntries(step.location.searchParams)).toMatchObject({
      scope: 'openid',
      response_type: 'id_token',
      response_mode: 'form_post',
      prompt: 'none',
      client_id: platform.clientId,
      redirect_uri: `${test.url}/lti/launch`,
      login_hint: 'login-user',
    });
    expect(step.state.length).toBeGreaterThanOrEqual(40);
    expect(step.nonce.length).toBeGreaterThanOrEqual(40);
    const cookieHeader = (await fetch(platform.loginUrl(), { redirect: 'manual' })).headers.get(
      'set-cookie',
    )!;
    expect(cookieHeader).toMatch(/; Secure/);
    expect(cookieHeader).toMatch(/; SameSite=None/);
    expect(cookieHeader).toMatch(/; HttpOnly/);

    // The same login as a form post (platforms may use either).
    const posted = await fetch(`${test.url}/lti/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URL(platform.loginUrl()).searchParams,
    });
    expect(posted.status).toBe(302);

    const cases: [string, number][] = [
      [
        `/lti/login?iss=${encodeURIComponent('https://unknown.example')}&login_hint=x&target_link_uri=${encodeURIComponent(test.url)}`,
        401,
      ],
      [
        `/lti/login?iss=${encodeURIComponent(platform.issuer)}&target_link_uri=${encodeURIComponent(test.url)}`,
        400,
      ],
      [`/lti/login?iss=${encodeURIComponent(platform.issuer)}&login_hint=x&target_link_uri=not-a-url`, 400],
      [
        `/lti/login?iss=${encodeURIComponent(platform.issuer)}&login_hint=x&target_link_uri=${encodeURIComponent(test.url)}&lti_deployment_id=nope`,
        401,
      ],
    ];
    for (const [path, status] of cases) {
      const response = await fetch(`${test.url}${path}`, { redirect: 'manual' });
      expect(response.status, path).toBe(status);
      expect(response.headers.get('content-type')).toMatch(/text\/html/);
      expect(await response.text()).toMatch(/data-testid="lti-message"/);
    }
  });

  it('LtiStartProctoring: one exam per link, a candidate per user, a session per attempt; a relaunch finds it again', async () => {
    const first = await launchWith({ sub: 'ada', resourceLinkId: 'link-map', attemptNumber: 1 });
    expect(first.result.status).toBe(302);
    const ada = sessionOf(first.result.location);
    const again = await launchWith({ sub: 'ada', resourceLinkId: 'link-map', attemptNumber: 1 });
    expect(sessionOf(again.result.location).sessionId).toBe(ada.sessionId);
    const bob = sessionOf(
      (await launchWith({ sub: 'bob', resourceLinkId: 'link-map', attemptNumber: 1 })).result.location,
    );

    const adaSession = await test.request<any>('GET', `/api/v1/sessions/${ada.sessionId}`, {
      key: tenant.apiKey,
    });
    const bobSession = await test.request<any>('GET', `/api/v1/sessions/${bob.sessionId}`, {
      key: tenant.apiKey,
    });
    expect(adaSession.body.status).toBe('created');
    expect(bobSession.body.examId).toBe(adaSession.body.examId);
    expect(bobSession.body.candidateId).not.toBe(adaSession.body.candidateId);
    const exam = await test.request<any>('GET', `/api/v1/exams/${adaSession.body.examId}`, {
      key: tenant.apiKey,
    });
    expect(exam.body.title).toBe('Final exam');
    const candidate = await test.request<any>('GET', `/api/v1/candidates/${adaSession.body.candidateId}`, {
      key: tenant.apiKey,
    });
    expect(candidate.body).toMatchObject({ externalId: 'ada', name: 'Grace Hopper' });

    const view = await test.request<any>('GET', `/api/v1/sessions/${ada.sessionId}/lti`, {
      key: tenant.apiKey,
    });
    expect(view.body).toMatchObject({
      resourceLinkId: 'link-map',
      userSub: 'ada',
      attemptNumber: 1,
      assessmentControl: true,
    });
    const foreign = await test.request<any>('GET', `/api/v1/sessions/${ada.sessionId}/lti`, {
      key: other.apiKey,
    });
    expect(foreign.status).toBe(404);

    // proctoring_settings holding a Vigil policy is honoured.
    const strict = await launchWith({
      sub: 'cy',
      resourceLinkId: 'link-strict',
      proctoringSettings: JSON.stringify({ liveness: { required: true } }),
    });
    const strictSession = await test.request<any>(
      'GET',
      `/api/v1/sessions/${sessionOf(strict.result.location).sessionId}`,
      { key: tenant.apiKey },
    );
    const strictExam = await test.request<any>('GET', `/api/v1/exams/${strictSession.body.examId}`, {
      key: tenant.apiKey,
    });
    expect(strictExam.body.policy.liveness.required).toBe(true);
  });

  it('refuses replayed, misaddressed, expired, badly signed and incomplete launches with 401 pages and audits each', async () => {
    const base = { resourceLinkId: 'link-bad' };
    const expectRefused = async (
      result: { status: number; text: string; headers: Headers },
      status = 401,
    ) => {
      expect(result.status).toBe(status);
      expect(result.headers.get('content-type')).toMatch(/text\/html/);
      expect(result.text).toMatch(/data-testid="lti-message"/);
      expect(result.text).not.toMatch(/at .*\.ts:/); // no stack traces
    };

    // Replay: the same form again (state used), then the same id_token with a fresh state (nonce).
    const good = await launchWith({ ...base, sub: 'replay' });
    expect(good.result.status).toBe(302);
    await expectRefused(
      await postLaunch({ id_token: good.idToken, state: good.step.state }, good.step.cookie),
    );
    const fresh = await login(platform, base);
    await expectRefused(await postLaunch({ id_token: good.idToken, state: fresh.state }, fresh.cookie));

    // State: unknown, another browser's (no cookie / wrong cookie), expired.
    const step = await login(platform, base);
    const token = await platform.sign(platform.claims(base, step.nonce));
    await expectRefused(await postLaunch({ id_token: token, state: 'made-up-state' }, step.cookie));
    await expectRefused(await postLaunch({ id_token: token, state: step.state }));
    const wrongCookie = await login(platform, base);
    await expectRefused(
      await postLaunch(
        { id_token: await platform.sign(platform.claims(base, wrongCookie.nonce)), state: wrongCookie.state },
        `${wrongCookie.cookie.split('=')[0]}=forged`,
      ),
    );
    const stale = await login(platform, base);
    await test.app.context.db
      .update(ltiLoginStates)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(ltiLoginStates.nonce, stale.nonce));
    await expectRefused(
      await postLaunch(
        { id_token: await platform.sign(platform.claims(base, stale.nonce)), state: stale.state },
        stale.cookie,
      ),
    );

    // Token: expired, issued in the future, foreign key, unknown kid, wrong issuer and audience.
    await expectRefused((await launchWith(base, { iatOffsetSeconds: -900, expiresInSeconds: 300 })).result);
    await expectRefused((await launchWith(base, { iatOffsetSeconds: 600 })).result);
    await expectRefused((await launchWith(base, { foreignKey: true, kid: platform.kid })).result);
    await expectRefused((await launchWith(base, { kid: 'no-such-kid' })).result);
    await expectRefused((await launchWith(base, { issuer: 'https://elsewhere.example' })).result);
    await expectRefused((await launchWith(base, { audience: 'another-tool' })).result);
    await expectRefused((await launchWith(base, { audience: [platform.clientId, 'another-tool'] })).result);
    await expectRefused(
      (await launchWith(base, { audience: [platform.clientId, 'another-tool'], azp: 'another-tool' })).result,
    );
    // An audience array with azp naming Vigil is fine.
    expect(
      (
        await launchWith(
          { ...base, sub: 'azp' },
          { audience: [platform.clientId, 'x'], azp: platform.clientId },
        )
      ).result.status,
    ).toBe(302);

    // Claims: deployment, version, message type, missing ones.
    await expectRefused(
      (await launchWith({ ...base, extra: { [`${lti}deployment_id`]: 'not-registered' } })).result,
    );
    await expectRefused((await launchWith({ ...base, extra: { [`${lti}version`]: '1.1' } })).result);
    await expectRefused(
      (await launchWith({ ...base, extra: { [`${lti}message_type`]: 'LtiResourceLinkRequest' } })).result,
    );
    for (const missing of [
      `${lti}resource_link`,
      `${ap}attempt_number`,
      `${ap}start_assessment_url`,
      `${lti}message_type`,
    ]) {
      await expectRefused((await launchWith({ ...base, extra: { [missing]: undefined } })).result);
    }
    await expectRefused((await launchWith({ ...base, extra: { nonce: undefined } })).result);

    // Malformed forms are 400; a platform's own error is 401.
    await expectRefused(await postLaunch({ state: 'x' }), 400);
    await expectRefused(await postLaunch({}), 400);
    await expectRefused(await postLaunch({ error: 'login_required', state: 'x' }), 401);
    await expectRefused(
      await postLaunch({ id_token: 'not.a.jwt', state: (await login(platform, base)).state }),
      401,
    );

    const reasons = await refusals();
    for (const expected of [
      /nonce/,
      /another browser/,
      /expired/,
      /iat/,
      /signature does not verify/,
      /does not list \(kid\)/,
      /another platform \(iss\)/,
      /another tool \(aud\)/,
      /no authorized party/,
      /another tool \(azp\)/,
      /deployment/,
      /version/,
      /message type/,
      /missing the .*resource_link claim/,
      /missing the .*start_assessment_url claim/,
    ]) {
      expect(
        reasons.some((reason) => expected.test(reason)),
        String(expected),
      ).toBe(true);
    }
    // Nothing of it reached the other tenant.
    expect(await refusals(other.apiKey)).toEqual([]);
  });

  it('signs LtiStartAssessment with the tenant key once in progress; session_data and attempt_number come back exactly', async () => {
    const sessionData = `{"exam":"é ü","n":[1,2]}  trailing`;
    const started = await launchWith({
      sub: 'start',
      resourceLinkId: 'link-start',
      attemptNumber: 3,
      sessionData,
    });
    const { token, sessionId } = sessionOf(started.result.location);
    const early = await test.request<any>('POST', '/api/v1/lti/start-assessment', { token });
    expect(early.status).toBe(409);
    await transitionSession(
      test.app.context.db,
      test.app.context.events,
      { tenantId: tenant.tenantId, sessionId, actor: 'test', reason: 'test' },
      'in_progress',
    );
    const form = await test.request<any>('POST', '/api/v1/lti/start-assessment', { token });
    expect(form.status).toBe(200);
    expect(form.body.url).toBe(`${platform.url}/start-assessment`);
    const received = await fetch(form.body.url, {
      method: 'POST',
      body: new URLSearchParams(form.body.fields),
    });
    expect(received.status).toBe(200);
    const { payload, header } = platform.started.at(-1)!;
    expect(header.alg).toBe('RS256');
    expect(payload).toMatchObject({
      iss: platform.clientId,
      aud: platform.issuer,
      [`${lti}message_type`]: 'LtiStartAssessment',
      [`${lti}version`]: '1.3.0',
      [`${lti}deployment_id`]: platform.deploymentId,
      [`${lti}resource_link`]: { id: 'link-start', title: 'Final exam' },
      [`${ap}verified_user`]: {},
      [`${ap}end_assessment_return`]: true,
    });
    expect(payload[`${ap}session_data`]).toBe(sessionData);
    expect(payload[`${ap}attempt_number`]).toBe(3);
    expect(typeof payload.nonce).toBe('string');
    expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(600);

    // Not an LTI session: 404; an API key is not a candidate: 403.
    const plain = await seedSession(test, tenant.apiKey);
    expect(
      (await test.request<any>('POST', '/api/v1/lti/start-assessment', { token: plain.candidateToken }))
        .status,
    ).toBe(404);
    expect(
      (await test.request<any>('POST', '/api/v1/lti/start-assessment', { key: tenant.apiKey })).status,
    ).toBe(403);

    // Rotation: a new kid signs; the old one stays published, private keys are stored sealed.
    const jwksBefore = (await (await fetch(`${test.url}/lti/jwks`)).json()) as { keys: any[] };
    const rotated = await test.request<any>('POST', '/api/v1/lti/keys/rotate', { key: tenant.apiKey });
    expect(rotated.status).toBe(200);
    expect(rotated.body.previousKid).toBe(header.kid);
    const jwks = (await (await fetch(`${test.url}/lti/jwks`)).json()) as { keys: any[] };
    const kids = jwks.keys.map((key: any) => key.kid);
    expect(kids).toContain(rotated.body.kid);
    expect(kids).toContain(header.kid);
    expect(jwks.keys.length).toBe(jwksBefore.keys.length + 1);
    for (const key of jwks.keys) expect(key.d).toBeUndefined();
    const next = await test.request<any>('POST', '/api/v1/lti/start-assessment', { token });
    expect(decodeProtectedHeader(next.body.fields.JWT).kid).toBe(rotated.body.kid);
    const stored = await test.app.context.db
      .select()
      .from(ltiToolKeys)
      .where(eq(ltiToolKeys.tenantId, tenant.tenantId));
    for (const row of stored) {
      expect(row.sealedPrivateJwk).toMatch(/^v1\./);
      expect(row.sealedPrivateJwk).not.toMatch(/"d"/);
    }
    // A node with another JWT secret cannot open the key, and must not replace it either.
    const stranger = new ToolKeys(
      test.app.context.db,
      new KeySealer({
        ...test.app.context.config.jwt,
        algorithm: 'HS256',
        secret: 'another-secret-'.repeat(3),
      }),
    );
    expect(await stranger.canSign(tenant.tenantId)).toBe(false);
    await expect(stranger.signingKey(tenant.tenantId)).rejects.toMatchObject({ code: 'unavailable' });
    const own = new ToolKeys(test.app.context.db, new KeySealer(test.app.context.config.jwt));
    expect(await own.canSign(tenant.tenantId)).toBe(true);
    expect((await own.signingKey(tenant.tenantId)).kid).toBe(rotated.body.kid);
  });

  it('LtiEndAssessment completes the session and audits it; an unknown attempt is a 404 page', async () => {
    const launch = { sub: 'ender', resourceLinkId: 'link-end', attemptNumber: 1 };
    const { sessionId } = sessionOf((await launchWith(launch)).result.location);
    await transitionSession(
      test.app.context.db,
      test.app.context.events,
      { tenantId: tenant.tenantId, sessionId, actor: 'test', reason: 'test' },
      'in_progress',
    );
    const ended = await launchWith({ ...launch, messageType: 'LtiEndAssessment' });
    expect(ended.result.status).toBe(200);
    expect(ended.result.text).toMatch(/has ended/);
    const session = await test.request<any>('GET', `/api/v1/sessions/${sessionId}`, { key: tenant.apiKey });
    expect(session.body.status).toBe('completed');
    const audit = await test.request<any[]>('GET', '/api/v1/audit?limit=1000', { key: tenant.apiKey });
    expect(
      audit.body.some((entry) => entry.action === 'lti.end_assessment' && entry.target === sessionId),
    ).toBe(true);
    // A relaunch of the ended attempt is refused; an attempt Vigil never saw is unknown.
    expect((await launchWith(launch)).result.status).toBe(409);
    expect(
      (await launchWith({ ...launch, attemptNumber: 9, messageType: 'LtiEndAssessment' })).result.status,
    ).toBe(404);
  });
});
