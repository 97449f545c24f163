import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { Config } from '../config/index.js';

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
    this.#key = material
      ? Buffer.from(hkdfSync('sha256', material, 'vigil-lti', 'lti tool key sealing v1', 32))
      : undefined;
  }

  get available(): boolean {
    return this.#key !== undefined;
  }

  /** `v1.<iv>.<tag>.<ciphertext>` (base64url); `context` (kid, tenant) is bound as associated data. */
  seal(plaintext: string, context: string): string {
    const key = this.#requireKey();
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(context));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ['v1', ...[iv, cipher.getAuthTag(), body].map((part) => part.toString('base64url'))].join('.');
  }

  /** The plaintext, or undefined when the box was sealed under another secret (or tampered with). */
  open(sealed: string, context: string): string | undefined {
    const [version, iv, tag, body] = sealed.split('.');
    if (version !== 'v1' || !iv || !tag || !body) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#requireKey(), Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(context));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString(
        'utf8',
      );
    } catch {
      return undefined;
    }
  }

  #requireKey(): Buffer {
    if (!this.#key) throw new Error('this node has no JWT signing secret to seal LTI keys with');
    return this.#key;
  }
}
