import { timingSafeEqual } from 'node:crypto';
import { createRemoteJWKSet, customFetch, errors, jwtVerify, type JWTPayload } from 'jose';
import type { ltiPlatforms } from '../db/index.js';
import { claim, claimProblem, launchClaimsSchema, type LaunchClaims } from './claims.js';
import { guardedFetch, PrivateTargetRefused } from './outbound.js';
import { LtiRefusal } from './refusal.js';

type PlatformRow = typeof ltiPlatforms.$inferSelect;
type RemoteKeySet = ReturnType<typeof createRemoteJWKSet>;

/** Clock difference tolerated between the platform and Vigil. */
export const clockSkewSeconds = 30;
/** An id_token older than this is refused even if its `exp` is later (a launch is used at once). */
const maxTokenAge = '10 minutes';

/**
 * The platforms' JWKS, fetched on first use and cached (jose refetches when a token names a
 * `kid` the cached set lacks, at most once per cooldown: a platform that rotated its key is
 * picked up within seconds, and forged kids cannot make Vigil hammer the platform).
 */
export class PlatformKeySets {
  readonly #sets = new Map<string, { url: string; set: RemoteKeySet }>();
  readonly #options: { timeoutMs: number; cooldownMs: number; allowPrivate: boolean };

  constructor(options: { timeoutMs?: number; cooldownMs?: number; allowPrivateTargets: boolean }) {
    this.#options = {
      timeoutMs: options.timeoutMs ?? 5_000,
      cooldownMs: options.cooldownMs ?? 3_000,
      allowPrivate: options.allowPrivateTargets,
    };
  }

  of(platform: PlatformRow): RemoteKeySet {
    const known = this.#sets.get(platform.id);
    if (known && known.url === platform.jwksUrl) return known.set;
    const set = createRemoteJWKSet(new URL(platform.jwksUrl), {
      timeoutDuration: this.#options.timeoutMs,
      cooldownDuration: this.#options.cooldownMs,
      cacheMaxAge: 10 * 60 * 1000,
      [customFetch]: (url, init) => guardedFetch(url, init, this.#options.allowPrivate),
    });
    this.#sets.set(platform.id, { url: platform.jwksUrl, set });
    return set;
  }
}

/** Verifies a launch's id_token as OIDC and LTI 1.3 require; throws a 401 LtiRefusal saying why. */
export async function verifyIdToken(
  keySets: PlatformKeySets,
  platform: PlatformRow,
  idToken: string,
  expectedNonce: string,
): Promise<LaunchClaims> {
  const refuse = (reason: string) => new LtiRefusal(401, reason, platform);
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(idToken, keySets.of(platform), {
      algorithms: ['RS256'],
      issuer: platform.issuer,
      audience: platform.clientId,
      clockTolerance: clockSkewSeconds,
      maxTokenAge,
      requiredClaims: ['iat', 'exp', 'nonce', 'sub'],
    }));
  } catch (error) {
    throw refuse(describeVerifyError(error));
  }
  // With several audiences, OIDC requires `azp` to name us; when present it must always.
  const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if (audiences.length > 1 && payload.azp === undefined) {
    throw refuse('the launch names several audiences but no authorized party (azp)');
  }
  if (payload.azp !== undefined && payload.azp !== platform.clientId) {
    throw refuse('the launch was issued to another tool (azp)');
  }
  if (typeof payload.nonce !== 'string' || !sameText(payload.nonce, expectedNonce)) {
    throw refuse('the launch does not belong to this sign-in (nonce mismatch or replay)');
  }
  const parsed = launchClaimsSchema.safeParse(payload);
  if (!parsed.success) throw refuse(claimProblem(parsed.error));
  const deploymentId = parsed.data[claim.deploymentId];
  if (!platform.deploymentIds.includes(deploymentId)) {
    throw refuse('this deployment of the platform is not registered with Vigil');
  }
  return { ...payload, ...parsed.data };
}

function describeVerifyError(error: unknown): string {
  if (error instanceof PrivateTargetRefused)
    return "the platform's key set is on a network Vigil may not reach";
  if (error instanceof errors.JWTExpired) return 'the launch has expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case 'iss':
        return 'the launch was issued by another platform (iss)';
      case 'aud':
        return 'the launch was issued to another tool (aud)';
      case 'iat':
        return 'the launch was issued too long ago or in the future (iat)';
      default:
        return `the launch is missing or has a wrong ${error.claim} claim`;
    }
  }
  if (error instanceof errors.JWKSNoMatchingKey) {
    return "the launch is signed with a key the platform's key set does not list (kid)";
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'the launch signature does not verify';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'the launch is not signed with RS256';
  if (error instanceof errors.JWKSTimeout) return "the platform's key set did not answer in time";
  if (error instanceof errors.JWKSInvalid || error instanceof errors.JOSEError) {
    if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid)
      return 'the launch token is malformed';
    return "the platform's key set could not be used";
  }
  // fetch() failing (connection refused, DNS) surfaces as a plain TypeError.
  if (error instanceof TypeError) return "the platform's key set could not be fetched";
  return 'the launch token could not be verified';
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
