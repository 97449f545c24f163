import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CheckResult } from '../../server/doctor/index.js';
import { resolveFfmpeg } from '../../server/sampler/index.js';
import { freeTcpPort, reserveRtcPorts, type RtcPortRange } from '../support/ports.js';

const root = path.resolve(import.meta.dirname, '../..');

/** `vigil doctor --json` as a user runs it, with this environment only. */
function doctor(env: Record<string, string | undefined>) {
  return new Promise<{ code: number | null; checks: CheckResult[]; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', path.join(root, 'server/cli/main.ts'), 'doctor', '--json'],
      {
        cwd: root,
        env: { HOME: process.env.HOME, LOG_LEVEL: 'silent', ...env },
        encoding: 'utf8',
        timeout: 120_000,
      },
      (error, stdout, stderr) => {
        const last = stdout.trim().split('\n').at(-1) ?? '{}';
        const parsed = JSON.parse(last) as { checks?: CheckResult[] };
        resolve({
          code: error ? (typeof error.code === 'number' ? error.code : null) : 0,
          checks: parsed.checks ?? [],
          stderr,
        });
      },
    );
  });
}

// The ffmpeg the server would choose here: the system's, else the one `npm install` brings
// (@ffmpeg-installer, optional); doctor fails, naming why, only where neither is usable.
const { choice: ffmpeg } = await resolveFfmpeg(process.env);

const statusOf = (checks: CheckResult[]) => Object.fromEntries(checks.map((c) => [c.name, c.status]));

describe('vigil doctor', () => {
  const dirs: string[] = [];
  const dataDir = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-doctor-'));
    dirs.push(dir);
    return dir;
  };
  const ranges: RtcPortRange[] = [];
  const rtcPorts = async () => {
    const range = await reserveRtcPorts();
    ranges.push(range);
    return range.env;
  };
  afterAll(() => {
    dirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true }));
    ranges.forEach((range) => range.release());
  });

  it(`reports this machine (ffmpeg ${ffmpeg ? 'usable' : 'unusable'}), with the configured database and Redis, and times the analysis`, async () => {
    const result = await doctor({
      PATH: process.env.PATH,
      DATA_DIR: dataDir(),
      DATABASE_URL: process.env.DATABASE_URL,
      REDIS_URL: process.env.REDIS_URL,
      ...(await rtcPorts()),
    });
    expect(result.stderr).toBe('');
    expect(statusOf(result.checks)).toEqual({
      node: 'pass',
      config: 'pass',
      database: 'pass',
      redis: 'pass',
      ffmpeg: ffmpeg ? 'pass' : 'fail',
      mediasoup: 'pass',
      analysis: 'pass',
      'rtc ports': 'pass',
      'data dir': 'pass',
    });
    expect(result.code).toBe(ffmpeg ? 0 : 1);
    const ffmpegCheck = result.checks.find((c) => c.name === 'ffmpeg')!;
    expect(ffmpegCheck.detail).toMatch(
      ffmpeg
        ? `${ffmpeg.version}, ${ffmpeg.source === 'packaged' ? 'packaged' : ffmpeg.source}`
        : /stream analysis is off: .*(does not run|no ffmpeg found)/,
    );
    const analysis = result.checks.find((c) => c.name === 'analysis')!;
    expect(analysis.detail).toMatch(/backend loads; \d+ ms a frame/);
  }, 150_000);

  it('fails, naming each part and its fix, without ffmpeg, database or Redis, and warns on a loose DATA_DIR and on media ports outgoing connections can take', async () => {
    const loose = dataDir();
    const ephemeralPort = await freeTcpPort();
    fs.chmodSync(loose, 0o755);
    const result = await doctor({
      PATH: path.join(loose, 'no-tools-here'), // nothing on PATH: no system ffmpeg
      // …and as if the optional package were not installed: the override is the only candidate.
      FFMPEG_PATH: path.join(loose, 'no-tools-here', 'ffmpeg'),
      DATA_DIR: loose,
      DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none',
      REDIS_URL: 'redis://127.0.0.1:1',
      // A port the kernel just handed out for a connection: inside its ephemeral range.
      RTC_MIN_PORT: String(ephemeralPort),
      RTC_MAX_PORT: String(ephemeralPort + 19),
      MEDIA_WORKERS: '1',
      ANALYSIS_BACKEND: 'wasm',
    });
    expect(result.code).toBe(1);
    const byName = Object.fromEntries(result.checks.map((c) => [c.name, c]));
    expect(byName.ffmpeg).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/FFMPEG_PATH ffmpeg .*no-tools-here\/ffmpeg: does not run/),
      fix: expect.stringContaining('apt-get install ffmpeg'),
    });
    expect(byName.database).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('not reachable'),
    });
    expect(byName.redis).toMatchObject({ status: 'fail', detail: expect.stringContaining('not reachable') });
    expect(byName['data dir']).toMatchObject({ status: 'warn', fix: `chmod -R go-rwx ${loose}` });
    const range = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
    const reserved = fs.readFileSync('/proc/sys/net/ipv4/ip_local_reserved_ports', 'utf8').trim();
    // (Unless this machine reserved that very port for something else.)
    if (!reserved.split(',').some((span) => span.includes(String(ephemeralPort)))) {
      expect(byName['rtc ports']).toMatchObject({
        status: 'warn',
        detail: expect.stringContaining(`inside the kernel's ephemeral range ${range[0]}-${range[1]}`),
        fix: expect.stringContaining(`net.ipv4.ip_local_reserved_ports=${ephemeralPort}-${ephemeralPort}`),
      });
    }
  }, 150_000);

  it('fails on a configuration error, naming the variable', async () => {
    const result = await doctor({ PATH: process.env.PATH, DATA_DIR: dataDir(), PORT: 'eighty' });
    expect(result.code).toBe(1);
    expect(result.checks.find((c) => c.name === 'config')).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('PORT'),
    });
  });
});
