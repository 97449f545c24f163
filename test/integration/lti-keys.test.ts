import { describe, expect, it } from 'vitest';
import { PlatformKeySets, verifyIdToken } from '../../server/lti/id-token.js';
import { assertPublicTarget } from '../../server/lti/outbound.js';
import { LtiPlatform } from '../support/lti-platform.js';
import { KeySealer } from '../../server/lti/sealing.js';
import { policyFromSettings } from '../../server/lti/launch.js';
import { parseCookies, stateCookieName } from '../../server/lti/login.js';

const jwt = (secret: string) =>
  ({
    algorithm: 'HS256',
    secret,
    issuer: 'vigil',
    audience: 'vigil',
    accessTokenTtlSeconds: 900,
    refreshTokenTtlSeconds: 60,
  }) as const;

describe('LTI tool key sealing', () => {
  const sealer = new KeySealer(jwt('a'.repeat(40)));

  it('opens what it sealed, and nothing sealed for another key, context or secret', () => {
    const sealed = sealer.seal('{"d":"private"}', 'tenant/kid');
    expect(sealed).toMatch(/^v1\./);
    expect(sealed).not.toContain('private');
    expect(sealer.open(sealed, 'tenant/kid')).toBe('{"d":"private"}');
    expect(sealer.open(sealed, 'tenant/other-kid')).toBeUndefined();
    expect(new KeySealer(jwt('b'.repeat(40))).open(sealed, 'tenant/kid')).toBeUndefined();
    const [version, iv, tag, body] = sealed.split('.');
    const flipped = Buffer.from(body!, 'base64url');
    flipped[0] = flipped[0]! ^ 1;
    expect(
      sealer.open([version, iv, tag, flipped.toString('base64url')].join('.'), 'tenant/kid'),
    ).toBeUndefined();
    expect(sealer.open('garbage', 'tenant/kid')).toBeUndefined();
    // Two seals of the same text differ (fresh IV).
    expect(sealer.seal('x', 'c')).not.toBe(sealer.seal('x', 'c'));
  });

  it('cannot seal on a node without a signing secret', () => {
    const verifyOnly = new KeySealer({
      ...jwt('x'.repeat(40)),
      algorithm: 'RS256',
      publicKey: 'pem',
      privateKey: undefined,
    } as never);
    expect(verifyOnly.available).toBe(false);
    expect(() => verifyOnly.seal('x', 'c')).toThrow(/no JWT signing secret/);
  });
});

describe('LTI launch helpers', () => {
  it('maps proctoring_settings that hold a Vigil policy, and ignores anything else', () => {
    expect(policyFromSettings(JSON.stringify({ liveness: { required: true } })).liveness.required).toBe(true);
    for (const data of [
      undefined,
      'opaque platform text',
      '{"liveness":{"required":"yes"}}',
      '{"unknownKey":1}',
      '[]',
    ]) {
      expect(policyFromSettings(data)).toEqual(policyFromSettings(undefined));
    }
  });

  it('reads cookies and names each login its own cookie', () => {
    expect(parseCookies('a=1; b = 2;c=x=y; a=3')).toEqual({ a: '1', b: '2', c: 'x=y' });
    expect(parseCookies(undefined)).toEqual({});
    expect(stateCookieName('s1')).not.toBe(stateCookieName('s2'));
    expect(stateCookieName('s1')).toMatch(/^vigil_lti_[0-9a-f]{16}$/);
  });
});

describe('LTI SSRF guard', () => {
  it('refuses loopback, private and link-local targets unless allowed', async () => {
    for (const url of [
      'http://127.0.0.1/x',
      'http://[::1]/x',
      'http://10.0.0.1/x',
      'http://169.254.169.254/x',
      'http://localhost/x',
    ]) {
      await expect(assertPublicTarget(url, false), url).rejects.toThrow(/loopback, private/);
      await expect(assertPublicTarget(url, true)).resolves.toBeUndefined();
    }
    await expect(assertPublicTarget('http://93.184.216.34/x', false)).resolves.toBeUndefined();
    await expect(assertPublicTarget('http://no-such-host.invalid/x', false)).rejects.toThrow(
      /does not resolve/,
    );
  });

  it('never fetches a platform key set on loopback when private targets are not allowed', async () => {
    const platform = await LtiPlatform.start();
    try {
      const row = {
        id: '00000000-0000-4000-8000-000000000001',
        tenantId: '00000000-0000-4000-8000-000000000002',
        issuer: platform.issuer,
        clientId: platform.clientId,
        deploymentIds: [platform.deploymentId],
        authLoginUrl: `${platform.url}/auth`,
        jwksUrl: `${platform.url}/jwks`,
        accessTokenUrl: null,
        createdAt: new Date(),
      };
      const token = await platform.sign(platform.claims({}, 'n'));
      await expect(
        verifyIdToken(new PlatformKeySets({ allowPrivateTargets: false }), row, token, 'n'),
      ).rejects.toMatchObject({
        status: 401,
        reason: expect.stringMatching(/may not reach/),
      });
      expect(platform.jwksFetches).toBe(0);
      await expect(
        verifyIdToken(new PlatformKeySets({ allowPrivateTargets: true }), row, token, 'n'),
      ).resolves.toMatchObject({ sub: 'user-1' });
      expect(platform.jwksFetches).toBe(1);
    } finally {
      await platform.close();
    }
  });
});
