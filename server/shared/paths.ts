import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cachedRoot: string | undefined;

/**
 * The folder holding Vigil's package.json. Code runs from `server/` (tsx, tests) or from
 * `dist/server/` (built), so assets such as `drizzle/` are found relative to this root.
 */
export function packageRoot(): string {
  if (cachedRoot) return cachedRoot;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json')) || !fs.existsSync(path.join(dir, 'drizzle'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find the Vigil package root');
    dir = parent;
  }
  cachedRoot = dir;
  return dir;
}
