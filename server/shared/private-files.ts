import fs from 'node:fs';
import path from 'node:path';

/** Owner-only modes for everything under DATA_DIR (database files, evidence, secrets). */
export const privateDirMode = 0o700;
export const privateFileMode = 0o600;

/**
 * Makes `root` and everything under it owner-only (directories 0700, files 0600) and returns how
 * many entries were looser. Symbolic links are left alone (their modes mean nothing).
 */
export function tightenTree(root: string): number {
  let loosened = 0;
  const stack = [root];
  while (stack.length > 0) {
    const current = stack.pop()!;
    let stat: fs.Stats;
    try {
      stat = fs.lstatSync(current);
    } catch {
      continue; // gone meanwhile
    }
    if (stat.isSymbolicLink()) continue;
    const wanted = stat.isDirectory() ? privateDirMode : privateFileMode;
    if ((stat.mode & 0o777 & ~wanted) !== 0) {
      loosened += 1;
      try {
        fs.chmodSync(current, wanted);
      } catch {
        // not ours to change (another owner): counted, reported by the caller
      }
    }
    if (stat.isDirectory()) {
      for (const entry of fs.readdirSync(current)) stack.push(path.join(current, entry));
    }
  }
  return loosened;
}

/**
 * Start-up check of DATA_DIR: created owner-only when missing; an existing tree that others can
 * read or write is reported (`warn`) and tightened.
 */
export function secureDataDir(dataDir: string, warn: (object: object, message: string) => void): void {
  fs.mkdirSync(dataDir, { recursive: true, mode: privateDirMode });
  const loosened = tightenTree(dataDir);
  if (loosened > 0) {
    warn(
      { dataDir, entries: loosened },
      'DATA_DIR held files or directories other users could read or write; made them owner-only (0700/0600)',
    );
  }
}
