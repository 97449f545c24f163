import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config/index.js';
import {
  defaultRetryScheduleMs,
  isForbiddenAddress,
  nextRetryDelayMs,
  parseRetryAfter,
  SecretBox,
  signatureOf,
  signedHeaders,
} from '../../server/webhooks/index.js';

const hour = 3_600_000;

describe('webhook retry schedule', () => {
  const total = (random: () => number) => {
    let sum = 0;
    for (let attempt = 1; ; attempt += 1) {
      const delay = nextRetryDelayMs(attempt, defaultRetryScheduleMs, undefined, random);
      if (delay === undefined) return { sum, attempts: attempt };
      sum += delay;
    }
  };

  it('retries first within 10 s, then ever later, for at least 24 h whatever the jitter', () => {
    for (const random of [() => 0, () => 0.5, () => 0.999999]) {
      expect(nextRetryDelayMs(1, defaultRetryScheduleMs, undefined, random)).toBeLessThanOrEqual(10_000);
      const { sum, attempts } = total(random);
      expect(sum).toBeGreaterThanOrEqual(24 * hour);
      expect(attempts).toBe(defaultRetryScheduleMs.length + 1);
    }
    for (let attempt = 2; attempt <= defaultRetryScheduleMs.length; attempt += 1) {
      expect(defaultRetryScheduleMs[attempt - 1]).toBeGreaterThanOrEqual(
        defaultRetryScheduleMs[attempt - 2]!,
      );
    }
  });

  it('lets a longer Retry-After win, capped at 24 h', () => {
    expect(nextRetryDelayMs(1, [1000], 30_000, () => 0.5)).toBe(30_000);
    expect(nextRetryDelayMs(1, [60_000], 1000, () => 0.5)).toBe(60_000);
    expect(nextRetryDelayMs(1, [1000], 100 * hour, () => 0.5)).toBe(24 * hour);
    expect(nextRetryDelayMs(2, [1000], 30_000)).toBeUndefined();
  });

  it('reads Retry-After as seconds or an HTTP date, and ignores garbage', () => {
    expect(parseRetryAfter('120')).toBe(120_000);
    const now = Date.parse('2026-12-02T00:00:00Z');
    expect(parseRetryAfter('Wed, 02 Dec 2026 00:01:00 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});

describe('webhook SSRF address check', () => {
  it.each([
    '127.0.0.1',
    '127.8.9.10',
    '10.0.0.1',
    '172.16.0.1',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '::1',
    '::',
    'fe80::1',
    'fd00:ec2::254',
    '::ffff:127.0.0.1',
    '::ffff:10.1.2.3',
    'not-an-ip',
  ])('refuses %s', (address) => {
    expect(isForbiddenAddress(address)).toBe(true);
  });

  it.each(['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8'])('allows %s', (address) => {
    expect(isForbiddenAddress(address)).toBe(false);
  });
});

describe('webhook signing', () => {
  const secret = `whsec_${randomBytes(32).toString('base64')}`;

  it('signs exactly as the standardwebhooks reference library does', () => {
    const body = JSON.stringify({
      type: 'session.started',
      timestamp: new Date().toISOString(),
      data: { a: 'é' },
    });
    const now = new Date();
    const seconds = Math.floor(now.getTime() / 1000);
    expect(signatureOf(secret, 'msg_1', seconds, body)).toBe(new Webhook(secret).sign('msg_1', now, body));
    const headers = signedHeaders([secret], 'msg_1', seconds, body);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('puts one signature per secret, space-separated, during a rotation', () => {
    const next = `whsec_${randomBytes(32).toString('base64')}`;
    const body = '{"type":"session.paused"}';
    const headers = signedHeaders([next, secret], 'msg_2', Math.floor(Date.now() / 1000), body);
    expect(headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(() => new Webhook(next).verify(body, headers)).not.toThrow();
    expect(() => new Webhook(secret).verify(body, headers)).not.toThrow();
  });
});

describe('webhook secret sealing', () => {
  const config = (secret: string) =>
    loadConfig({ NODE_ENV: 'test', JWT_SECRET: secret, DATA_DIR: '/tmp/vigil-unit-unused' }).jwt;

  it('opens what it sealed, for the same endpoint only, and not under another server secret', () => {
    const box = new SecretBox(config('a'.repeat(40)));
    const sealed = box.seal('whsec_abc', 'endpoint-1');
    expect(sealed).not.toContain('abc');
    expect(box.open(sealed, 'endpoint-1')).toBe('whsec_abc');
    expect(box.open(sealed, 'endpoint-2')).toBeUndefined();
    expect(new SecretBox(config('b'.repeat(40))).open(sealed, 'endpoint-1')).toBeUndefined();
    expect(box.open('v1.garbage', 'endpoint-1')).toBeUndefined();
  });
});
