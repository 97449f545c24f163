import { lookup } from 'node:dns/promises';
import { isForbiddenAddress } from '../webhooks/index.js';

/** A platform URL that leads into loopback, private or link-local space (SSRF guard). */
export class PrivateTargetRefused extends Error {
  override name = 'PrivateTargetRefused';
}

/**
 * Refuses a URL whose host resolves to a loopback, private, link-local or reserved address, unless
 * LTI_ALLOW_PRIVATE_TARGETS is set: platform URLs are chosen by a tenant (JWKS, token URL) or by
 * its platform (ACS URL), and Vigil must not fetch its own network for them. Checked when a
 * platform is registered and again before every request.
 */
export async function assertPublicTarget(url: string, allowPrivate: boolean): Promise<void> {
  if (allowPrivate) return;
  const host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
  let addresses: { address: string }[];
  try {
    addresses = await lookup(host, { all: true, verbatim: true });
  } catch {
    throw new PrivateTargetRefused(`${host} does not resolve`);
  }
  const bad = addresses.find((entry) => isForbiddenAddress(entry.address));
  if (addresses.length === 0 || bad) {
    throw new PrivateTargetRefused(
      `${host} resolves to ${bad?.address ?? 'nothing'}, a loopback, private, link-local or reserved address`,
    );
  }
}

/** fetch(), after the guard. */
export async function guardedFetch(url: string, init: RequestInit, allowPrivate: boolean): Promise<Response> {
  await assertPublicTarget(url, allowPrivate);
  return fetch(url, init);
}
