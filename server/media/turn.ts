import { createHmac } from 'node:crypto';

export interface IceServer {
  urls: string[];
  username: string;
  credential: string;
}

/**
 * Short-lived TURN credentials in coturn's REST-API scheme (`use-auth-secret`): the username
 * carries the expiry, the password is an HMAC of it, so nothing is stored per user.
 */
export function turnCredentials(
  turn: { urls: string[]; secret: string; ttlSeconds: number },
  label: string,
): IceServer[] {
  const username = `${Math.floor(Date.now() / 1000) + turn.ttlSeconds}:${label}`;
  const credential = createHmac('sha1', turn.secret).update(username).digest('base64');
  return [{ urls: turn.urls, username, credential }];
}
