import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { z } from 'zod';
import type { ltiPlatforms } from '../db/index.js';
import { controlScope } from './claims.js';
import { guardedFetch } from './outbound.js';
import type { ToolKeys } from './tool-keys.js';

type PlatformRow = typeof ltiPlatforms.$inferSelect;

const tokenResponse = z.object({
  access_token: z.string().min(1).max(10_000),
  token_type: z.string().optional(),
  expires_in: z.number().positive().optional(),
});

/** Requests to a platform give up after this long (a hung platform must not hold the loop). */
export const platformRequestTimeoutMs = 10_000;

/**
 * OAuth 2 client credentials with a JWT client assertion (LTI Security Framework): the tool signs
 * `{iss: sub: clientId, aud: token URL}` with its key and gets a bearer token for the ACS scope.
 * Tokens are cached per platform until shortly before they expire.
 */
export class PlatformTokens {
  readonly #keys: ToolKeys;
  readonly #allowPrivate: boolean;
  readonly #cache = new Map<string, { token: string; expiresAt: number }>();

  constructor(keys: ToolKeys, options: { allowPrivateTargets: boolean }) {
    this.#keys = keys;
    this.#allowPrivate = options.allowPrivateTargets;
  }

  async token(platform: PlatformRow): Promise<string> {
    const cached = this.#cache.get(platform.id);
    if (cached && cached.expiresAt > Date.now()) return cached.token;
    if (!platform.accessTokenUrl) throw new Error('the platform has no access token URL registered');
    const signing = await this.#keys.signingKey(platform.tenantId);
    const assertion = await new SignJWT({ jti: randomUUID() })
      .setProtectedHeader({ alg: 'RS256', kid: signing.kid, typ: 'JWT' })
      .setIssuer(platform.clientId)
      .setSubject(platform.clientId)
      .setAudience(platform.accessTokenUrl)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(signing.key);
    const response = await guardedFetch(
      platform.accessTokenUrl,
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: assertion,
          scope: controlScope,
        }),
        signal: AbortSignal.timeout(platformRequestTimeoutMs),
      },
      this.#allowPrivate,
    );
    if (!response.ok) throw new Error(`the token endpoint answered ${response.status}`);
    const parsed = tokenResponse.safeParse(await response.json().catch(() => null));
    if (!parsed.success) throw new Error('the token endpoint answered without an access_token');
    const lifetimeMs = (parsed.data.expires_in ?? 3600) * 1000;
    this.#cache.set(platform.id, {
      token: parsed.data.access_token,
      expiresAt: Date.now() + Math.max(0, lifetimeMs - 30_000),
    });
    return parsed.data.access_token;
  }

  /** Forgets a token the platform refused. */
  forget(platformId: string): void {
    this.#cache.delete(platformId);
  }
}
