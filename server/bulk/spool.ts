import fs from 'node:fs';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError, privateDirMode, privateFileMode } from '../shared/index.js';

/** Where an import's uploaded files wait until it has been processed: `$DATA_DIR/bulk/<jobId>`. */
export function jobDir(dataDir: string, jobId: string): string {
  return path.join(dataDir, 'bulk', jobId);
}

export async function makeJobDir(dataDir: string, jobId: string): Promise<string> {
  const dir = jobDir(dataDir, jobId);
  await fs.promises.mkdir(dir, { recursive: true, mode: privateDirMode });
  return dir;
}

export async function removeJobDir(dataDir: string, jobId: string): Promise<void> {
  await fs.promises.rm(jobDir(dataDir, jobId), { recursive: true, force: true });
}

/**
 * Streams an upload to `file` (owner-only), never holding it in memory; more than `maxBytes`
 * is 413 `payload_too_large`, naming `what`.
 */
export async function spool(source: Readable, file: string, maxBytes: number, what: string): Promise<number> {
  let bytes = 0;
  const limit = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      if (bytes > maxBytes) {
        callback(
          new AppError(
            'payload_too_large',
            `${what} may be at most ${Math.round(maxBytes / 1024 / 1024)} MB`,
          ),
        );
      } else callback(null, chunk);
    },
  });
  await pipeline(source, limit, fs.createWriteStream(file, { mode: privateFileMode }));
  return bytes;
}
