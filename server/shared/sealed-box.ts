import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * What the server must read again — webhook signing secrets, LTI tool keys, stored idempotent
 * responses — cannot be hashed, so it is stored sealed with AES-256-GCM as
 * `v1.<iv>.<tag>.<ciphertext>` (base64url). A context (the row's id) is bound as associated
 * data, so a sealed value copied into another row does not open.
 */
export function seal(key: Buffer, plaintext: string, context: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', ...[iv, cipher.getAuthTag(), body].map((part) => part.toString('base64url'))].join('.');
}

/** The plaintext, or undefined when sealed under another key or context, or tampered with. */
export function open(key: Buffer, sealed: string, context: string): string | undefined {
  const [version, iv, tag, body] = sealed.split('.');
  if (version !== 'v1' || !iv || !tag || !body) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString(
      'utf8',
    );
  } catch {
    // A wrong key or altered bytes fail authentication: the caller treats it as "nothing there".
    return undefined;
  }
}

/** A 32-byte key for one purpose, derived with HKDF-SHA256 from a server secret. */
export function deriveKey(secret: string, salt: string, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, salt, info, 32));
}
