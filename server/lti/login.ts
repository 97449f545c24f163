import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { eq, lt } from 'drizzle-orm';
import { z } from 'zod';
import { ltiLoginStates, type Database } from '../db/index.js';
import { findPlatform } from './platforms.js';
import { LtiRefusal } from './refusal.js';

/** How long a browser has from login initiation to the launch post (the user may need to sign in). */
export const loginStateTtlMs = 10 * 60 * 1000;

const param = z.string().min(1).max(2000);
export const loginParams = z.object({
  iss: param,
  login_hint: param,
  target_link_uri: z.url({ protocol: /^https?$/ }).max(2000),
  lti_message_hint: param.optional(),
  client_id: param.optional(),
  lti_deployment_id: param.optional(),
});
export type LoginParams = z.infer<typeof loginParams>;

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

/** Each login gets its own cookie (concurrent logins in two tabs do not clobber each other). */
export function stateCookieName(state: string): string {
  return `vigil_lti_${sha256(state).slice(0, 16)}`;
}

export interface LoginRedirect {
  location: string;
  cookie: string;
}

/**
 * OIDC third-party login initiation: remembers a fresh `state` (bound to this browser by a
 * cookie) and `nonce`, and sends the browser to the platform's authorization endpoint.
 */
export async function initiateLogin(
  db: Database,
  params: LoginParams,
  launchUrl: string,
): Promise<LoginRedirect> {
  const platform = await findPlatform(db, params.iss, params.client_id);
  if (platform === 'ambiguous') {
    throw new LtiRefusal(400, 'the login names an issuer with several registrations but no client_id');
  }
  if (!platform) throw new LtiRefusal(401, 'this learning platform is not registered with Vigil');
  if (params.lti_deployment_id !== undefined && !platform.deploymentIds.includes(params.lti_deployment_id)) {
    throw new LtiRefusal(401, 'this deployment of the platform is not registered with Vigil', platform);
  }
  const state = randomBytes(32).toString('base64url');
  const nonce = randomBytes(32).toString('base64url');
  const browser = randomBytes(32).toString('base64url');
  await db.insert(ltiLoginStates).values({
    stateHash: sha256(state),
    platformId: platform.id,
    browserHash: sha256(browser),
    nonce,
    expiresAt: new Date(Date.now() + loginStateTtlMs),
  });
  const target = new URL(platform.authLoginUrl);
  const query: Record<string, string> = {
    scope: 'openid',
    response_type: 'id_token',
    response_mode: 'form_post',
    prompt: 'none',
    client_id: platform.clientId,
    redirect_uri: launchUrl,
    login_hint: params.login_hint,
    state,
    nonce,
    ...(params.lti_message_hint !== undefined ? { lti_message_hint: params.lti_message_hint } : {}),
  };
  for (const [name, value] of Object.entries(query)) target.searchParams.set(name, value);
  // SameSite=None so the cookie comes back on the platform's cross-site form post (which needs Secure).
  const cookie = `${stateCookieName(state)}=${browser}; Path=/lti; Max-Age=${loginStateTtlMs / 1000}; HttpOnly; Secure; SameSite=None`;
  return { location: target.toString(), cookie };
}

export interface ConsumedState {
  platformId: string;
  nonce: string;
  expired: boolean;
  /** Whether this browser holds the cookie set when the login started. */
  sameBrowser: boolean;
}

/** Takes the state out of the store (a state works once) and says whether it is still good. */
export async function consumeState(
  db: Database,
  state: string,
  cookies: Record<string, string>,
): Promise<ConsumedState> {
  const [row] = await db
    .delete(ltiLoginStates)
    .where(eq(ltiLoginStates.stateHash, sha256(state)))
    .returning();
  if (!row) throw new LtiRefusal(401, 'the sign-in state is unknown or was already used');
  const browser = cookies[stateCookieName(state)];
  return {
    platformId: row.platformId,
    nonce: row.nonce,
    expired: row.expiresAt.getTime() < Date.now(),
    sameBrowser: browser !== undefined && sameHex(sha256(browser), row.browserHash),
  };
}

/** Drops the states nobody came back with. */
export async function sweepExpiredStates(db: Database): Promise<void> {
  await db.delete(ltiLoginStates).where(lt(ltiLoginStates.expiresAt, new Date()));
}

function sameHex(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}

/** The Cookie header as name → value (first one wins, as browsers send the most specific first). */
export function parseCookies(header: string | undefined): Record<string, string> {
  const cookies: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at <= 0) continue;
    const name = part.slice(0, at).trim();
    if (!(name in cookies)) cookies[name] = part.slice(at + 1).trim();
  }
  return cookies;
}
