import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export function sha256Hex(value: string | Buffer): string {
  return createHash('sha256').update(value).digest('hex');
}

export function constantTimeEqualHex(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * API keys look like `vgl_<prefix>_<secret>`: the 12-character prefix is stored in clear to
 * find the row, the whole key only as SHA-256 (256 random bits need no slow hash).
 */
export function generateApiKey(): { key: string; prefix: string; hash: string } {
  const prefix = randomBytes(9).toString('base64url');
  const key = `vgl_${prefix}_${randomBytes(32).toString('base64url')}`;
  return { key, prefix, hash: sha256Hex(key) };
}

const apiKeyPattern = /^vgl_([A-Za-z0-9_-]{12})_[A-Za-z0-9_-]{43}$/;

/** The lookup prefix of a well-formed key, or undefined for anything else. */
export function apiKeyPrefix(key: string): string | undefined {
  return apiKeyPattern.exec(key)?.[1];
}

export function generateRefreshToken(): { token: string; hash: string } {
  const token = `vrt_${randomBytes(32).toString('base64url')}`;
  return { token, hash: sha256Hex(token) };
}
