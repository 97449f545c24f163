import { createHmac, randomBytes } from 'node:crypto';
import type { Config } from '../config/index.js';
import { AppError, deriveKey, openSealed, seal } from '../shared/index.js';

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
      ? deriveKey(material, 'vigil-webhooks', 'webhook signing secret sealing v1')
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
    return seal(this.#requireKey(), secret, endpointId);
  }

  /** The secret, or undefined when sealed under another server secret (or tampered with). */
  open(sealed: string, endpointId: string): string | undefined {
    return openSealed(this.#requireKey(), sealed, endpointId);
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
