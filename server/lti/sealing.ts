import type { Config } from '../config/index.js';
import { deriveKey, openSealed, seal } from '../shared/index.js';

/**
 * Tool private keys are stored sealed (AES-256-GCM) under a key derived with HKDF from the
 * server's own JWT signing secret (JWT_SECRET, or JWT_PRIVATE_KEY with RS256): a copy of the
 * database alone cannot sign as the tool. Changing that secret makes the sealed keys unreadable
 * until each tenant's key is rotated (POST /api/v1/lti/keys/rotate).
 */
export class KeySealer {
  readonly #key: Buffer | undefined;

  constructor(jwt: Config['jwt']) {
    const material = jwt.algorithm === 'HS256' ? jwt.secret : jwt.privateKey;
    this.#key = material ? deriveKey(material, 'vigil-lti', 'lti tool key sealing v1') : undefined;
  }

  get available(): boolean {
    return this.#key !== undefined;
  }

  /** `v1.<iv>.<tag>.<ciphertext>` (base64url); `context` (kid, tenant) is bound as associated data. */
  seal(plaintext: string, context: string): string {
    return seal(this.#requireKey(), plaintext, context);
  }

  /** The plaintext, or undefined when the box was sealed under another secret (or tampered with). */
  open(sealed: string, context: string): string | undefined {
    return openSealed(this.#requireKey(), sealed, context);
  }

  #requireKey(): Buffer {
    if (!this.#key) throw new Error('this node has no JWT signing secret to seal LTI keys with');
    return this.#key;
  }
}
