import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import type { Config } from '../config/index.js';
import { AppError } from '../shared/index.js';

/**
 * Signing secrets must be used again to sign, so they cannot be hashed: they are stored sealed
 * (AES-256-GCM) under a key derived with HKDF from the server's JWT signing secret (JWT_SECRET,
 * or JWT_PRIVATE_KEY with RS256), the endpoint id bound as associated data. A copy of the
 * database alone cannot sign deliveries; changing that server secret means rotating each
 * endpoint's secret (`rotate-secret` cannot read the old one and starts afresh).
 */
export class SecretBox {
  readonly #key: Buffer | undefined;

  constructor(jwt: Config['jwt']) {
    const material = jwt.algorithm === 'HS256' ? jwt.secret : jwt.privateKey;
    this.#key = material
      ? Buffer.from(hkdfSync('sha256', material, 'vigil-webhooks', 'webhook signing secret sealing v1', 32))
      : undefined;
  }

  /** A fingerprint of the sealing key (not the key): which node can open what. */
  get keyId(): string {
    return createHmac('sha256', this.#requireKey()).update('vigil webhook key id').digest('hex').slice(0, 16);
  }

  /** False on a node holding only a JWT public key: it can neither register nor deliver. */
  get available(): boolean {
    return this.#key !== undefined;
  }

  /** `v1.<iv>.<tag>.<ciphertext>` (base64url). */
  seal(secret: string, endpointId: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#requireKey(), iv);
    cipher.setAAD(Buffer.from(endpointId));
    const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return ['v1', ...[iv, cipher.getAuthTag(), body].map((part) => part.toString('base64url'))].join('.');
  }

  /** The secret, or undefined when sealed under another server secret (or tampered with). */
  open(sealed: string, endpointId: string): string | undefined {
    const [version, iv, tag, body] = sealed.split('.');
    if (version !== 'v1' || !iv || !tag || !body) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#requireKey(), Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(endpointId));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString(
        'utf8',
      );
    } catch {
      // A wrong key or altered bytes fail authentication: the caller treats it as "no secret".
      return undefined;
    }
  }

  #requireKey(): Buffer {
    if (!this.#key) {
      throw new AppError('unavailable', 'webhooks need JWT_SECRET or JWT_PRIVATE_KEY on this node');
    }
    return this.#key;
  }
}

/** A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes. */
export function generateSigningSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}
