import { describe, expect, it } from 'vitest';
import { entryHash, genesisHash } from '../../server/audit/chain.js';
import { hashPassword, verifyPassword } from '../../server/auth/passwords.js';
import { apiKeyPrefix, generateApiKey, generateRefreshToken, sha256Hex } from '../../server/auth/secrets.js';
import { canTransition, statusAfterAction } from '../../server/proctoring/session-state.js';
import { policySchema } from '../../server/proctoring/policy.js';
import { backoffMs, canonicalJson } from '../../server/shared/index.js';

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: undefined }], c: null } })).toBe(
      '{"a":{"c":null,"d":[3,{"z":1}]},"b":1}',
    );
  });
  it('gives equal values the same text regardless of key order', () => {
    expect(canonicalJson({ x: 1, y: 'é' })).toBe(canonicalJson({ y: 'é', x: 1 }));
  });
  it('refuses numbers JSON cannot carry', () => {
    expect(() => canonicalJson({ n: Number.NaN })).toThrow();
  });
});

describe('audit entry hash', () => {
  const fields = {
    id: '6f0b5a0e-3d1c-4c55-9c1a-1b7a1c3b9e10',
    seq: 1,
    at: new Date('2026-01-01T00:00:00.000Z'),
    tenant: '9b1f4a4e-1111-4c55-9c1a-1b7a1c3b9e10',
    actor: 'cli',
    action: 'exam.create',
    target: null,
    details: { title: 'x' },
  };
  it('changes with any field and with the previous hash', () => {
    const base = entryHash(genesisHash, fields);
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(entryHash(genesisHash, { ...fields, seq: 2 })).not.toBe(base);
    expect(entryHash(genesisHash, { ...fields, details: { title: 'y' } })).not.toBe(base);
    expect(entryHash('f'.repeat(64), fields)).not.toBe(base);
    expect(entryHash(genesisHash, { ...fields, details: { title: 'x' } })).toBe(base);
  });
});

describe('secrets', () => {
  it('generates API keys whose prefix can be parsed back and whose hash is SHA-256', () => {
    const { key, prefix, hash } = generateApiKey();
    expect(apiKeyPrefix(key)).toBe(prefix);
    expect(hash).toBe(sha256Hex(key));
    expect(apiKeyPrefix(`${key}x`)).toBeUndefined();
    expect(apiKeyPrefix('vgl_short_key')).toBeUndefined();
  });
  it('generates distinct refresh tokens', () => {
    expect(generateRefreshToken().token).not.toBe(generateRefreshToken().token);
  });
  it('hashes passwords with scrypt and verifies them', async () => {
    const stored = await hashPassword('correct horse battery staple');
    expect(stored).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(await verifyPassword('correct horse battery staple', stored)).toBe(true);
    expect(await verifyPassword('Correct horse battery staple', stored)).toBe(false);
    expect(await verifyPassword('x', 'md5$abc')).toBe(false);
  });
});

describe('session state machine', () => {
  it('follows the contract', () => {
    expect(canTransition('created', 'verifying')).toBe(true);
    expect(canTransition('verifying', 'in_progress')).toBe(true);
    expect(canTransition('in_progress', 'paused')).toBe(true);
    expect(canTransition('paused', 'in_progress')).toBe(true);
    expect(canTransition('created', 'paused')).toBe(false);
    expect(canTransition('terminated', 'in_progress')).toBe(false);
    expect(canTransition('completed', 'terminated')).toBe(false);
  });
  it('maps proctor actions to target statuses', () => {
    expect(statusAfterAction('pause')).toBe('paused');
    expect(statusAfterAction('terminate')).toBe('terminated');
    expect(statusAfterAction('warn')).toBeNull();
  });
});

describe('exam policy', () => {
  it('fills every default from an empty object', () => {
    const policy = policySchema.parse({});
    expect(policy).toMatchObject({
      identity: { required: true },
      browser: { maxDisplays: 1 },
      rules: {},
      autoTerminateScore: null,
    });
  });
  it('rejects unknown keys and out-of-range values', () => {
    expect(policySchema.safeParse({ identity: { treshold: 1 } }).success).toBe(false);
    expect(policySchema.safeParse({ rules: { not_a_type: {} } }).success).toBe(false);
    expect(policySchema.safeParse({ gaze: { maxYawDegrees: 500 } }).success).toBe(false);
  });
});

describe('backoffMs', () => {
  it('starts at the minimum, doubles with each failure and stops at the maximum', () => {
    const range = { minMs: 250, maxMs: 10_000 };
    expect([0, 1, 2, 3, 5, 6, 40].map((failures) => backoffMs(failures, range))).toEqual([
      250, 500, 1000, 2000, 8000, 10_000, 10_000,
    ]);
  });
});
