import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { unzipSync, zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyBundle } from '../../server/reports/index.js';
import { backends } from '../support/backends.js';
import { recordViolation, seedSession, startTestApp, type TestApp } from '../support/app.js';
import { testdata } from '../support/testdata.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** `vigil bundle verify FILE` as a user runs it: its own process, nothing but the file. */
function cliVerify(file: string): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', path.join(root, 'server/cli/main.ts'), 'bundle', 'verify', file],
      { cwd: root, env: { ...process.env, LOG_LEVEL: 'silent' }, timeout: 60_000 },
      (error, stdout) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout }),
    );
  });
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Rebuilds a bundle with `change` applied and, unless told not to, a manifest that matches it. */
function tampered(
  zip: Uint8Array,
  change: (files: Record<string, Uint8Array>) => void,
  { fixManifest = true } = {},
): Uint8Array {
  const files = unzipSync(zip);
  change(files);
  if (fixManifest) {
    const lines = Object.keys(files)
      .filter((name) => name !== 'MANIFEST.sha256')
      .sort()
      .map((name) => `${sha256(files[name]!)}  ${name}`);
    files['MANIFEST.sha256'] = Buffer.from(`${lines.join('\n')}\n`);
  }
  return zipSync(files);
}

const editJson = (files: Record<string, Uint8Array>, name: string, edit: (value: any) => void) => {
  const value = JSON.parse(Buffer.from(files[name]!).toString('utf8'));
  edit(value);
  files[name] = Buffer.from(JSON.stringify(value));
};

describe.each(backends())('appeal bundle on $name', (backend) => {
  let test: TestApp;
  let tenant: { apiKey: string; tenantId: string };
  let other: { apiKey: string; tenantId: string };
  let bundle: Uint8Array;
  let sessionId: string;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-bundle-'));

  beforeAll(async () => {
    test = await startTestApp(backend);
    tenant = await test.createTenant();
    other = await test.createTenant();
    const seeded = await seedSession(test, tenant.apiKey);
    sessionId = seeded.id;
    const ref = { tenantId: tenant.tenantId, examId: seeded.examId, id: seeded.id };
    await recordViolation(test, ref, {
      type: 'multiple_faces',
      snapshots: [
        fs.readFileSync(testdata('human/person-lexi.jpg')),
        fs.readFileSync(testdata('human/group-1.jpg')),
      ],
    });
    await recordViolation(test, ref, { type: 'phone_detected', snapshots: [] });
    // Another session's activity in between: the bundle shows only its links' hashes.
    await seedSession(test, tenant.apiKey);
    await test.request('POST', `/api/v1/sessions/${seeded.id}/actions`, {
      key: tenant.apiKey,
      body: { action: 'flag', message: 'look later' },
    });
    const response = await fetch(`${test.url}/api/v1/sessions/${seeded.id}/bundle`, {
      headers: { 'x-api-key': tenant.apiKey },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/zip');
    bundle = new Uint8Array(await response.arrayBuffer());
  });
  afterAll(async () => {
    fs.rmSync(dir, { recursive: true, force: true });
    await test?.close();
  });

  it('holds the report, every evidence file, the audit entries with their links, and a manifest', () => {
    const files = unzipSync(bundle);
    const names = Object.keys(files).sort();
    expect(names.filter((n) => n.startsWith('evidence/'))).toHaveLength(2);
    expect(names).toEqual(
      expect.arrayContaining(['MANIFEST.sha256', 'report.json', 'audit/entries.json', 'audit/chain.json']),
    );
    const report = JSON.parse(Buffer.from(files['report.json']!).toString('utf8'));
    expect(report.session.id).toBe(sessionId);
    const entries = JSON.parse(Buffer.from(files['audit/entries.json']!).toString('utf8'));
    const chain = JSON.parse(Buffer.from(files['audit/chain.json']!).toString('utf8'));
    expect(entries.map((e: any) => e.action)).toEqual(
      expect.arrayContaining(['session.create', 'violation.open', 'session.flag']),
    );
    // The chain covers the other session's entry too, by its hashes only.
    expect(chain.length).toBeGreaterThan(entries.length);
    expect(Object.keys(chain[0]).sort()).toEqual(['hash', 'prevHash', 'seq']);
    const manifest = Buffer.from(files['MANIFEST.sha256']!).toString('utf8').trim().split('\n');
    expect(manifest).toHaveLength(names.length - 1);

    const check = verifyBundle(bundle);
    expect(check.problems).toEqual([]);
    expect(check.ok).toBe(true);
  });

  it('passes `vigil bundle verify` and prints what it checked', async () => {
    const file = path.join(dir, 'intact.zip');
    fs.writeFileSync(file, bundle);
    const result = await cliVerify(file);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/checked {2}manifest: \d+ files/);
    expect(result.stdout).toContain('checked  evidence: 2 files match');
    expect(result.stdout).toMatch(/checked {2}audit chain: \d+ links/);
    expect(result.stdout).toContain('OK:');
  }, 60_000);

  it('fails a tampered bundle, whatever was changed, even with a recomputed manifest', async () => {
    const evidenceName = Object.keys(unzipSync(bundle)).find((n) => n.startsWith('evidence/'))!;
    const cases: [string, Uint8Array, RegExp][] = [
      [
        'evidence swapped, manifest left',
        tampered(bundle, (f) => (f[evidenceName] = Buffer.from('another picture')), { fixManifest: false }),
        /sha256 differs from the manifest/,
      ],
      [
        'evidence swapped, manifest recomputed',
        tampered(bundle, (f) => (f[evidenceName] = Buffer.from('another picture'))),
        /not the evidence the report cites/,
      ],
      [
        'an audit entry rewritten',
        tampered(bundle, (f) =>
          editJson(f, 'audit/entries.json', (entries) => (entries[1].details.type = 'tab_hidden')),
        ),
        /hash does not match its content/,
      ],
      [
        'an audit entry left out of the chain',
        tampered(bundle, (f) => editJson(f, 'audit/chain.json', (chain) => chain.splice(1, 1))),
        /audit chain: seq \d+ is followed by \d+|not the chain's entry/,
      ],
      [
        'an audit entry dropped from report.json',
        tampered(bundle, (f) => editJson(f, 'report.json', (report) => report.auditEntries.pop())),
        /other audit entries/,
      ],
      ['not a zip', Buffer.from('PK but not really'), /not a readable ZIP/],
    ];
    for (const [what, zip, expected] of cases) {
      const check = verifyBundle(zip);
      expect(check.ok, what).toBe(false);
      expect(check.problems.join('\n'), what).toMatch(expected);
    }
    const file = path.join(dir, 'tampered.zip');
    fs.writeFileSync(file, cases[2]![1]);
    const result = await cliVerify(file);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('FAILED');
    expect(result.stdout).toContain('NOT OK');
  }, 60_000);

  it('gives another tenant 404 and a candidate 403', async () => {
    const foreign = await test.request<any>('GET', `/api/v1/sessions/${sessionId}/bundle`, {
      key: other.apiKey,
    });
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.code).toBe('not_found');
    const seeded = await seedSession(test, tenant.apiKey);
    const candidate = await test.request<any>('GET', `/api/v1/sessions/${seeded.id}/bundle`, {
      token: seeded.candidateToken,
    });
    expect(candidate.status).toBe(403);
  });
});
