import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/** scripts/hide-media-tools.sh, which CI's Node.js-only run puts on PATH. */
const script = path.resolve(import.meta.dirname, '../../scripts/hide-media-tools.sh');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-hide-tools-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function tool(folder: string, name: string): string {
  fs.mkdirSync(folder, { recursive: true });
  const file = path.join(folder, name);
  fs.writeFileSync(file, `#!/bin/sh\necho ${folder}\n`, { mode: 0o755 });
  return file;
}

describe('hide-media-tools.sh', () => {
  it('links every executable on PATH except the media and browser tools, first on PATH winning', () => {
    const first = path.join(dir, 'first');
    const second = path.join(dir, 'second');
    for (const name of ['ffmpeg', 'ffprobe', 'chromium', 'espeak-ng', 'sox', 'nginx', 'node-ish'])
      tool(first, name);
    tool(second, 'node-ish');
    tool(second, 'only-here');
    fs.writeFileSync(path.join(first, 'not-executable'), 'x', { mode: 0o644 });
    const bin = path.join(dir, 'bin');
    const printed = execFileSync('bash', [script], {
      env: { PATH: `${first}:${second}:/usr/bin:/bin`, VIGIL_HIDDEN_BIN: bin },
      encoding: 'utf8',
    }).trim();
    expect(printed).toBe(bin);
    for (const hidden of ['ffmpeg', 'ffprobe', 'chromium', 'espeak-ng', 'sox', 'nginx']) {
      expect(fs.existsSync(path.join(bin, hidden)), hidden).toBe(false);
    }
    expect(fs.readlinkSync(path.join(bin, 'node-ish'))).toBe(path.join(first, 'node-ish'));
    expect(fs.readlinkSync(path.join(bin, 'only-here'))).toBe(path.join(second, 'only-here'));
    expect(fs.existsSync(path.join(bin, 'not-executable'))).toBe(false);
    // What runs under that PATH: the kept tools, and the shell's own (bash came from /usr/bin).
    expect(
      execFileSync('sh', ['-c', 'command -v ffmpeg || echo none'], {
        env: { PATH: bin },
        encoding: 'utf8',
      }).trim(),
    ).toBe('none');
  });
});
