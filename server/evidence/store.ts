import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { privateDirMode, privateFileMode } from '../shared/index.js';

export interface StoredObject {
  sha256: string;
  size: number;
  storageKey: string;
}

/**
 * Where evidence bytes live. Keys are content addresses, so an S3-compatible store can
 * implement the same calls with PUT/GET/HEAD/DELETE on `storageKey`.
 */
export interface EvidenceStore {
  put(bytes: Buffer): Promise<StoredObject>;
  get(storageKey: string): Promise<Buffer>;
  has(storageKey: string): Promise<boolean>;
  /** Removes the bytes; removing what is not there is not an error. */
  delete(storageKey: string): Promise<void>;
}

/** Files under `root/ab/cd/<sha256>`, written atomically (temp file + rename). */
export class LocalEvidenceStore implements EvidenceStore {
  readonly #root: string;

  constructor(root: string) {
    this.#root = root;
  }

  async put(bytes: Buffer): Promise<StoredObject> {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const storageKey = `${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}`;
    const file = this.#file(storageKey);
    if (!(await this.has(storageKey))) {
      await fs.mkdir(path.dirname(file), { recursive: true, mode: privateDirMode });
      const temporary = `${file}.${process.pid}.${Date.now()}.tmp`;
      await fs.writeFile(temporary, bytes, { mode: privateFileMode });
      await fs.rename(temporary, file);
    }
    return { sha256, size: bytes.length, storageKey };
  }

  get(storageKey: string): Promise<Buffer> {
    return fs.readFile(this.#file(storageKey));
  }

  async has(storageKey: string): Promise<boolean> {
    try {
      await fs.access(this.#file(storageKey));
      return true;
    } catch {
      return false;
    }
  }

  async delete(storageKey: string): Promise<void> {
    await fs.rm(this.#file(storageKey), { force: true });
  }

  #file(storageKey: string): string {
    if (!/^[0-9a-f]{2}\/[0-9a-f]{2}\/[0-9a-f]{64}$/.test(storageKey))
      throw new Error('malformed storage key');
    return path.join(this.#root, storageKey);
  }
}
