import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../server/config/index.js';

const dataDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-config-'));

describe('loadConfig', () => {
  it('applies the contract defaults', () => {
    const config = loadConfig({ DATA_DIR: dataDir() });
    expect(config).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      publicUrl: 'http://localhost:8080',
      databaseUrl: undefined,
      redisUrl: undefined,
      rtc: { announcedIp: '127.0.0.1', minPort: 40000, maxPort: 49999, workers: os.availableParallelism() },
      analysis: { backend: 'auto', monitorFps: 1, challengeFps: 10 },
    });
    expect(config.jwt).toMatchObject({ algorithm: 'HS256', issuer: 'vigil', audience: 'vigil' });
  });

  it('generates a development JWT secret once and reuses it', () => {
    const dir = dataDir();
    const first = loadConfig({ DATA_DIR: dir });
    const second = loadConfig({ DATA_DIR: dir });
    expect(first.jwt.algorithm === 'HS256' && first.jwt.secret.length).toBeGreaterThanOrEqual(32);
    expect(second.jwt).toEqual(first.jwt);
    expect(fs.statSync(path.join(dir, 'jwt-secret')).mode & 0o777).toBe(0o600);
  });

  it('requires JWT_SECRET in production and accepts one', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', DATA_DIR: dataDir() })).toThrow(/JWT_SECRET/);
    const config = loadConfig({ NODE_ENV: 'production', DATA_DIR: dataDir(), JWT_SECRET: 's'.repeat(32) });
    expect(config.jwt).toMatchObject({ algorithm: 'HS256', secret: 's'.repeat(32) });
  });

  it('selects RS256 when keys are given, unescaping \\n', () => {
    const config = loadConfig({
      DATA_DIR: dataDir(),
      JWT_PUBLIC_KEY: '-----BEGIN PUBLIC KEY-----\\nabc\\n-----END PUBLIC KEY-----',
    });
    expect(config.jwt.algorithm).toBe('RS256');
    expect(config.jwt.algorithm === 'RS256' && config.jwt.publicKey).toContain('\nabc\n');
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['DATABASE_URL', 'mysql://localhost/db'],
    ['REDIS_URL', 'http://localhost'],
    ['MEDIA_WORKERS', '0'],
    ['ANALYSIS_BACKEND', 'cuda'],
    ['MONITOR_FPS', '-1'],
    ['JWT_SECRET', 'too-short'],
    ['PUBLIC_URL', 'not a url'],
    ['LOG_LEVEL', 'loud'],
  ])('rejects %s=%s naming the variable', (name, value) => {
    expect(() => loadConfig({ DATA_DIR: dataDir(), [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ DATA_DIR: dataDir(), [name]: value })).toThrow(name);
  });

  it('keeps evidence forever by default and takes EVIDENCE_RETENTION_DAYS in whole days', () => {
    expect(loadConfig({ DATA_DIR: dataDir() }).evidenceRetentionDays).toBeUndefined();
    expect(loadConfig({ DATA_DIR: dataDir(), EVIDENCE_RETENTION_DAYS: '30' }).evidenceRetentionDays).toBe(30);
    for (const bad of ['0', '-1', '2.5', 'month']) {
      expect(() => loadConfig({ DATA_DIR: dataDir(), EVIDENCE_RETENTION_DAYS: bad })).toThrow(
        /EVIDENCE_RETENTION_DAYS/,
      );
    }
  });

  it('rejects an inverted RTC port range', () => {
    expect(() => loadConfig({ DATA_DIR: dataDir(), RTC_MIN_PORT: '5000', RTC_MAX_PORT: '4000' })).toThrow(
      /RTC_MIN_PORT/,
    );
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ DATA_DIR: dataDir(), PORT: '', DATABASE_URL: '' })).toMatchObject({
      port: 8080,
      databaseUrl: undefined,
    });
  });
});

describe('TURN settings', () => {
  it('parses TURN_URLS with TURN_SECRET and derives coturn REST credentials', async () => {
    const { turnCredentials } = await import('../../server/media/turn.js');
    const config = loadConfig({
      DATA_DIR: dataDir(),
      TURN_URLS: 'turns:turn.example.org:443?transport=tcp, turn:turn.example.org:3478',
      TURN_SECRET: 'a-long-enough-shared-secret',
    });
    expect(config.turn?.urls).toEqual([
      'turns:turn.example.org:443?transport=tcp',
      'turn:turn.example.org:3478',
    ]);
    const [server] = turnCredentials(config.turn!, 'session-1');
    expect(server?.username).toMatch(/^\d+:session-1$/);
    expect(Number(server!.username.split(':')[0])).toBeGreaterThan(Date.now() / 1000);
    const { createHmac } = await import('node:crypto');
    expect(server?.credential).toBe(
      createHmac('sha1', 'a-long-enough-shared-secret').update(server!.username).digest('base64'),
    );
  });

  it('rejects TURN_URLS without a secret or with a non-TURN URL', () => {
    expect(() => loadConfig({ DATA_DIR: dataDir(), TURN_URLS: 'turn:x:3478' })).toThrow(/TURN_SECRET/);
    expect(() =>
      loadConfig({ DATA_DIR: dataDir(), TURN_URLS: 'http://x', TURN_SECRET: 's'.repeat(20) }),
    ).toThrow(/TURN_URLS/);
  });
});
