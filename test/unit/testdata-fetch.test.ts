import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchTestdata, parseManifest, readManifests } from '../../scripts/testdata.js';
import { testdataCacheDir, testdataCandidates } from '../../server/doctor/testdata-location.js';

/**
 * `npm run testdata` against a local file server standing in for the public sources (these
 * machines cannot reach them): every file checked by byte count and sha256, a bad one never
 * left in the cache, a present one not fetched again.
 */
const sha = (text: string) => createHash('sha256').update(text).digest('hex');
let dir: string;
let server: http.Server;
let source: string;
const requests: string[] = [];

/** What the "public source" serves, by URL path: /<repo>/<commit>/<path>. */
const served: Record<string, string> = {
  '/acme/faces/c0ffee/samples/a.jpg': 'jpeg bytes of a',
  '/acme/faces/c0ffee/samples/b%20c.jpg': 'tampered bytes',
  '/acme/faces/c0ffee/samples/short.jpg': 'short',
};

function manifest(rows: string[]): string {
  return ['file,repo,path,commit,blob,bytes,sha256', ...rows].join('\n');
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-testdata-fetch-'));
  server = http.createServer((request, response) => {
    requests.push(request.url ?? '');
    const body = served[request.url ?? ''];
    response.writeHead(body === undefined ? 404 : 200).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  source = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const faces = path.join(dir, 'manifests', 'faces');
  fs.mkdirSync(faces, { recursive: true });
  fs.writeFileSync(
    path.join(faces, 'manifest.csv'),
    manifest([
      `a.jpg,acme/faces,samples/a.jpg,c0ffee,x,15,${sha('jpeg bytes of a')}`,
      `bc.jpg,acme/faces,samples/b c.jpg,c0ffee,x,14,${sha('original bytes')}`,
      `short.jpg,acme/faces,samples/short.jpg,c0ffee,x,99,${sha('short')}`,
      `gone.jpg,acme/faces,samples/gone.jpg,c0ffee,x,1,${sha('x')}`,
    ]),
  );
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('npm run testdata', () => {
  it('keeps only files whose size and sha256 match the manifest, and says why the others failed', async () => {
    const target = path.join(dir, 'cache');
    const outcomes = await fetchTestdata({ target, source, manifests: path.join(dir, 'manifests') });
    const byFile = Object.fromEntries(outcomes.map((o) => [o.row.file, o]));
    expect(byFile['a.jpg']).toMatchObject({ status: 'fetched' });
    expect(fs.readFileSync(path.join(target, 'faces', 'a.jpg'), 'utf8')).toBe('jpeg bytes of a');
    expect(byFile['bc.jpg']).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(/sha256 [0-9a-f]{64}, the manifest says/),
    });
    expect(byFile['short.jpg']).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(/5 bytes, the manifest says 99/),
    });
    expect(byFile['gone.jpg']).toMatchObject({ status: 'failed', reason: expect.stringMatching(/HTTP 404/) });
    // Nothing unverified is left behind, and the manifest is copied beside the files.
    expect(fs.readdirSync(path.join(target, 'faces')).sort()).toEqual(['a.jpg', 'manifest.csv']);
    // The path is URL-encoded per segment.
    expect(requests).toContain('/acme/faces/c0ffee/samples/b%20c.jpg');
  });

  it('does not fetch a file that is already there with the right hash, and replaces a corrupt one', async () => {
    const target = path.join(dir, 'cache-2');
    fs.mkdirSync(path.join(target, 'faces'), { recursive: true });
    fs.writeFileSync(path.join(target, 'faces', 'a.jpg'), 'corrupt');
    await fetchTestdata({ target, source, manifests: path.join(dir, 'manifests') });
    expect(fs.readFileSync(path.join(target, 'faces', 'a.jpg'), 'utf8')).toBe('jpeg bytes of a');
    requests.length = 0;
    const again = await fetchTestdata({ target, source, manifests: path.join(dir, 'manifests') });
    expect(again.find((o) => o.row.file === 'a.jpg')).toMatchObject({ status: 'present' });
    expect(requests).not.toContain('/acme/faces/c0ffee/samples/a.jpg');
  });

  it('fails on an unreachable source, naming the URL', async () => {
    const outcomes = await fetchTestdata({
      target: path.join(dir, 'cache-3'),
      source: 'http://127.0.0.1:1',
      manifests: path.join(dir, 'manifests'),
    });
    expect(outcomes.every((o) => o.status === 'failed')).toBe(true);
    expect(outcomes[0]).toMatchObject({
      reason: expect.stringMatching(/^http:\/\/127\.0\.0\.1:1\/acme\/faces/),
    });
  });

  it('refuses manifest rows that would write outside the cache or carry no full hash', () => {
    expect(() => parseManifest('x', manifest([`../evil,acme/r,p,c,b,1,${sha('x')}`]))).toThrow(
      /bad file name/,
    );
    expect(() => parseManifest('x', manifest(['a.jpg,acme/r,p,c,b,1,abc']))).toThrow(
      /bad file name or sha256/,
    );
    expect(() => parseManifest('x', manifest([`a.jpg,acme/r,p,c,b,lots,${sha('x')}`]))).toThrow(/bytes/);
    expect(() => parseManifest('x', 'file,repo\na.jpg,r')).toThrow(/no "path" column/);
  });

  it("lists every file of the repository's copies of the test data manifests", () => {
    const rows = readManifests();
    expect(new Set(rows.map((row) => row.folder))).toEqual(new Set(['human', 'pairs', 'spoof', 'video']));
    expect(rows.find((row) => row.file === 'foreman_cif_299f.264')).toMatchObject({
      repo: 'cisco/openh264',
      bytes: 620090,
    });
  });
});

describe('test data lookup', () => {
  it('is VIGIL_TESTDATA, then ../shared/testdata, then the cache', () => {
    const env = { VIGIL_TESTDATA: '/data/td', HOME: '/home/u' };
    const [first, second, third] = testdataCandidates(env);
    expect(first).toBe('/data/td');
    expect(second).toMatch(/[\\/]shared[\\/]testdata$/);
    expect(third).toBe('/home/u/.cache/vigil/testdata');
    expect(testdataCandidates({ HOME: '/home/u' })).toHaveLength(2);
    expect(testdataCacheDir({ XDG_CACHE_HOME: '/xdg', HOME: '/home/u' })).toBe('/xdg/vigil/testdata');
  });
});
