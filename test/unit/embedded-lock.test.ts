import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../server/db/index.js';
import { lockEmbeddedDatabase, processStartTime } from '../../server/db/embedded-lock.js';

describe('embedded database lock (issue 9, defect 4)', () => {
  const cleanup: (() => void)[] = [];
  afterEach(() => {
    for (const step of cleanup.splice(0).reverse()) step();
  });
  const tempDir = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-lock-'));
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    return dir;
  };
  const liveSleeper = () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    cleanup.push(() => child.kill('SIGKILL'));
    return child.pid!;
  };

  it('opens PGlite over a lock left by a crashed process whose PID is now ours (PID 1 in a container)', async () => {
    const dataDir = tempDir();
    fs.writeFileSync(path.join(dataDir, 'pg.lock'), String(process.pid));
    const database = await openDatabase({ dataDir });
    try {
      await database.migrate();
      expect(await database.isReady()).toBe(true);
      // And while it is open, a second open in this process is refused.
      await expect(openDatabase({ dataDir })).rejects.toMatchObject({ code: 'unavailable' });
    } finally {
      await database.close();
    }
    expect(fs.existsSync(path.join(dataDir, 'pg.lock'))).toBe(false);
  }, 60_000);

  it('takes over a lock whose PID was reused by another live process, not one still held', () => {
    const lockFile = path.join(tempDir(), 'pg.lock');
    const pid = liveSleeper();
    const start = processStartTime(pid);
    expect(start).toBeDefined();
    // Recorded with another start time: the holder is gone and the PID was reused.
    fs.writeFileSync(lockFile, `${pid}\n${Number(start) - 1000}\n`);
    const release = lockEmbeddedDatabase(lockFile);
    expect(fs.readFileSync(lockFile, 'utf8').split('\n')[0]).toBe(String(process.pid));
    release();
    // Recorded with its real start time: that process holds the lock.
    fs.writeFileSync(lockFile, `${pid}\n${start}\n`);
    expect(() => lockEmbeddedDatabase(lockFile)).toThrow(/in use by process/);
  });

  it('writes the lock owner-only', () => {
    const lockFile = path.join(tempDir(), 'pg.lock');
    const release = lockEmbeddedDatabase(lockFile);
    cleanup.push(release);
    expect(fs.statSync(lockFile).mode & 0o777).toBe(0o600);
  });
});
