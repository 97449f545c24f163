#!/usr/bin/env node
// The `vigil` command. Runs the compiled CLI; `npm install` builds it (the `prepare` script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/server/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  console.error('vigil: dist/ is missing. Run `npm run build` (npm install does it for you).');
  process.exit(1);
}
await import(entry.href);
