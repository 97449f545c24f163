/**
 * Issue 9: `kill -9` of the server on the embedded database mid-write, restarted the way the
 * shipped container runs it: as PID 1 of a fresh PID namespace (`unshare`), so the crashed
 * process's lock names the new process's PID. It must start again, with every acknowledged
 * write intact.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../server/shared/index.js';
import { freeTcpPort, reserveRtcPorts, type RtcPortRange } from '../support/ports.js';

const root = packageRoot();
const cliArgs = ['--import', 'tsx', path.join(root, 'server/cli/main.ts')];
const canUnshare =
  process.platform === 'linux' &&
  spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true'], { stdio: 'ignore' }).status === 0;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.runIf(canUnshare)('kill -9 on PGlite, restarted as PID 1 again (PID namespace)', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-crash-'));
  const children: ChildProcess[] = [];
  const ranges: RtcPortRange[] = [];
  afterAll(() => {
    for (const child of children) child.kill('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
    ranges.forEach((range) => range.release());
  });

  const env = (port: number, rtc: Record<string, string> = {}) => ({
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    ...rtc,
  });

  /** `vigil serve` as PID 1 of a new PID namespace; resolves once /healthz answers. */
  const serveAsPid1 = async (port: number) => {
    // A fresh RTC range each start: the crashed namespace's media worker may not be gone yet.
    const range = await reserveRtcPorts();
    ranges.push(range);
    const child = spawn(
      'unshare',
      ['--pid', '--fork', '--mount-proc', process.execPath, ...cliArgs, 'serve'],
      {
        cwd: root,
        env: env(port, range.env),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    children.push(child);
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    for (let attempt = 0; attempt < 150; attempt += 1) {
      const health = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
      if (health?.ok) return { child, output: () => output };
      if (child.exitCode !== null) break;
      await sleep(200);
    }
    throw new Error(`vigil serve did not start:\n${output}`);
  };
  /** SIGKILL the namespace's PID 1 (the server): every process in the namespace goes with it. */
  const crash = async (unshare: ChildProcess) => {
    const [pid] = execFileSync('ps', ['-o', 'pid=', '--ppid', String(unshare.pid)], { encoding: 'utf8' })
      .split('\n')
      .map((line) => Number(line.trim()))
      .filter((value) => value > 0);
    const exited = new Promise((resolve) => unshare.once('exit', resolve));
    process.kill(pid!, 'SIGKILL');
    await exited;
  };

  it('starts again over the stale lock and keeps every acknowledged write', async () => {
    const port = await freeTcpPort();
    const first = await serveAsPid1(port);
    const created = spawnSync(process.execPath, [...cliArgs, 'apikey', 'create', '--name', 'Crash test'], {
      cwd: root,
      env: env(port),
      encoding: 'utf8',
    });
    const key = /vgl_[A-Za-z0-9_-]+/.exec(created.stdout)?.[0];
    expect(key, created.stdout + created.stderr).toBeDefined();

    // Writes in flight when the server dies: the acknowledged ones must survive.
    const acknowledged: string[] = [];
    let writing = true;
    const writer = (async () => {
      for (let index = 0; writing; index += 1) {
        const answer = await fetch(`http://127.0.0.1:${port}/api/v1/exams`, {
          method: 'POST',
          headers: { 'x-api-key': key!, 'content-type': 'application/json' },
          body: JSON.stringify({ title: `exam ${index}`, durationMinutes: 5 }),
        }).catch(() => undefined);
        if (answer?.status === 201) acknowledged.push(((await answer.json()) as { id: string }).id);
        else if (!answer) return;
      }
    })();
    while (acknowledged.length < 5) await sleep(50);
    await crash(first.child);
    writing = false;
    await writer;
    expect(fs.existsSync(path.join(dataDir, 'pg.lock'))).toBe(true);

    const second = await serveAsPid1(port);
    try {
      for (const id of acknowledged) {
        const exam = await fetch(`http://127.0.0.1:${port}/api/v1/exams/${id}`, {
          headers: { 'x-api-key': key! },
        });
        expect(exam.status, second.output()).toBe(200);
      }
    } finally {
      second.child.kill('SIGTERM');
      await crash(second.child).catch(() => undefined);
    }
  }, 120_000);
});
