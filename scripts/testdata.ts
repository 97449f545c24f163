/**
 * `npm run testdata`: fills the test data cache (~/.cache/vigil/testdata, or VIGIL_TESTDATA when
 * set) from each file's public source, for a checkout without ../shared/testdata beside it.
 *
 * The file list is test/fixtures/testdata-manifests/<folder>/manifest.csv, copies of the test
 * data's own manifests (file, repo, path, commit, blob, bytes, sha256). Each file is fetched from
 * `<source>/<repo>/<commit>/<path>` (source: VIGIL_TESTDATA_SOURCE, default GitHub's raw file
 * host), and kept only when its byte count and sha256 match; a file already there with the right
 * hash is not fetched again. Then the derived files the suites read are made with ffmpeg: the
 * clips as MP4 (the H.264 streams remuxed, not re-encoded) and the Foreman stills as JPEG.
 * Exits 1 when any file could not be had, naming each.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { testdataCacheDir } from '../server/doctor/testdata-location.js';
import { toolFfmpeg } from '../server/sampler/ffmpeg-binary.js';

const run = promisify(execFile);

export const defaultSource = 'https://raw.githubusercontent.com';
export const manifestsDir = path.resolve(import.meta.dirname, '../test/fixtures/testdata-manifests');

export interface ManifestRow {
  folder: string;
  file: string;
  repo: string;
  path: string;
  commit: string;
  bytes: number;
  sha256: string;
}

/** The rows of one manifest.csv (no quoted fields in these manifests; a bad row throws). */
export function parseManifest(folder: string, text: string): ManifestRow[] {
  const [header, ...lines] = text.trim().split(/\r?\n/);
  const columns = (header ?? '').split(',');
  const at = (name: string) => {
    const index = columns.indexOf(name);
    if (index < 0) throw new Error(`${folder}/manifest.csv: no "${name}" column`);
    return index;
  };
  const index = {
    file: at('file'),
    repo: at('repo'),
    path: at('path'),
    commit: at('commit'),
    bytes: at('bytes'),
    sha256: at('sha256'),
  };
  return lines.map((line, n) => {
    const cells = line.split(',');
    const row = {
      folder,
      file: cells[index.file] ?? '',
      repo: cells[index.repo] ?? '',
      path: cells[index.path] ?? '',
      commit: cells[index.commit] ?? '',
      bytes: Number(cells[index.bytes]),
      sha256: (cells[index.sha256] ?? '').toLowerCase(),
    };
    // The file name lands in the cache: no separators, no "..", a full hash and a byte count.
    if (!/^[\w.-]+$/.test(row.file) || row.file.startsWith('.') || !/^[0-9a-f]{64}$/.test(row.sha256)) {
      throw new Error(`${folder}/manifest.csv line ${n + 2}: bad file name or sha256`);
    }
    if (!Number.isInteger(row.bytes) || row.bytes < 0 || !row.repo || !row.path || !row.commit) {
      throw new Error(`${folder}/manifest.csv line ${n + 2}: missing repo, path, commit or bytes`);
    }
    return row;
  });
}

export function readManifests(dir = manifestsDir): ManifestRow[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && fs.existsSync(path.join(dir, entry.name, 'manifest.csv')))
    .flatMap((entry) =>
      parseManifest(entry.name, fs.readFileSync(path.join(dir, entry.name, 'manifest.csv'), 'utf8')),
    );
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

export type FetchOutcome = { row: ManifestRow } & (
  { status: 'present' | 'fetched' } | { status: 'failed'; reason: string }
);

/** One file: kept if already right, else fetched, checked and moved into place atomically. */
async function fetchOne(row: ManifestRow, target: string, source: string): Promise<FetchOutcome> {
  const file = path.join(target, row.folder, row.file);
  if (fs.existsSync(file) && sha256(fs.readFileSync(file)) === row.sha256) return { row, status: 'present' };
  const url = `${source}/${row.repo}/${row.commit}/${row.path.split('/').map(encodeURIComponent).join('/')}`;
  let bytes: Uint8Array;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(60_000) });
    if (!response.ok) return { row, status: 'failed', reason: `${url}: HTTP ${response.status}` };
    bytes = new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    return {
      row,
      status: 'failed',
      reason: `${url}: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  if (bytes.length !== row.bytes) {
    return { row, status: 'failed', reason: `${url}: ${bytes.length} bytes, the manifest says ${row.bytes}` };
  }
  const actual = sha256(bytes);
  if (actual !== row.sha256) {
    return { row, status: 'failed', reason: `${url}: sha256 ${actual}, the manifest says ${row.sha256}` };
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const partial = `${file}.${process.pid}.partial`;
  fs.writeFileSync(partial, bytes);
  fs.renameSync(partial, file);
  return { row, status: 'fetched' };
}

/** Every manifest row into `target`, four at a time; the manifests are copied beside the files. */
export async function fetchTestdata(options: {
  target: string;
  source?: string;
  manifests?: string;
}): Promise<FetchOutcome[]> {
  const manifests = options.manifests ?? manifestsDir;
  const source = (options.source ?? defaultSource).replace(/\/+$/, '');
  const rows = readManifests(manifests);
  const outcomes: FetchOutcome[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < rows.length) {
        const row = rows[next++]!;
        outcomes.push(await fetchOne(row, options.target, source));
      }
    }),
  );
  for (const folder of new Set(rows.map((row) => row.folder))) {
    fs.mkdirSync(path.join(options.target, folder), { recursive: true });
    fs.copyFileSync(
      path.join(manifests, folder, 'manifest.csv'),
      path.join(options.target, folder, 'manifest.csv'),
    );
  }
  return outcomes;
}

/** Frame rates of the clips (raw H.264 carries none); the MP4s the suites read are these remuxed. */
const clipRates: Record<string, number> = {
  'foreman_cif_299f.264': 25,
  'zhling_720p_19f.264': 15,
  'cisco_men_whisper_640x320_9f.264': 25,
  'cisco_vt_2people_320x192_9f.264': 12,
  'ls_sva_d_qcif_1700f_montage.264': 25,
};

/** The Foreman stills the suites and doctor read (frame numbers of foreman_cif_299f). */
const foremanStills = [0, ...range(55, 95), ...range(150, 195), 250, 280];

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** The MP4s and stills, made with ffmpeg (system or packaged) from the fetched streams. */
export async function deriveVideo(target: string, ffmpeg = toolFfmpeg()): Promise<string[]> {
  const made: string[] = [];
  const video = path.join(target, 'video');
  for (const [clip, rate] of Object.entries(clipRates)) {
    const input = path.join(video, clip);
    const output = input.replace(/\.264$/, '.mp4');
    if (!fs.existsSync(input) || fs.existsSync(output)) continue;
    const partial = `${output}.${process.pid}.partial.mp4`;
    await run(
      ffmpeg,
      ['-hide_banner', '-loglevel', 'error', '-y', '-framerate', String(rate), '-i', input].concat([
        '-c',
        'copy',
        partial,
      ]),
    );
    fs.renameSync(partial, output);
    made.push(output);
  }
  const foreman = path.join(video, 'foreman_cif_299f.264');
  const stills = path.join(video, 'foreman_frames');
  if (fs.existsSync(foreman) && !fs.existsSync(stills)) {
    const partial = `${stills}.${process.pid}.partial`;
    fs.mkdirSync(partial, { recursive: true });
    const select = foremanStills.map((n) => `eq(n,${n})`).join('+');
    // `-vsync 0` (not `-fps_mode`): the packaged 2018 build knows only the older spelling.
    await run(
      ffmpeg,
      ['-hide_banner', '-loglevel', 'error', '-i', foreman, '-vf', `select='${select}'`].concat([
        '-vsync',
        '0',
        '-q:v',
        '2',
        path.join(partial, 'still_%03d.jpg'),
      ]),
    );
    // ffmpeg numbers its outputs 1, 2, …: rename them to the frame numbers they are.
    foremanStills.forEach((frame, i) => {
      const from = path.join(partial, `still_${String(i + 1).padStart(3, '0')}.jpg`);
      if (fs.existsSync(from))
        fs.renameSync(from, path.join(partial, `foreman_${String(frame).padStart(3, '0')}.jpg`));
    });
    fs.renameSync(partial, stills);
    made.push(stills);
  }
  return made;
}

async function main(): Promise<number> {
  const target = process.env.VIGIL_TESTDATA ? path.resolve(process.env.VIGIL_TESTDATA) : testdataCacheDir();
  console.log(`test data into ${target}`);
  const outcomes = await fetchTestdata({ target, source: process.env.VIGIL_TESTDATA_SOURCE });
  const failed = outcomes.filter((outcome) => outcome.status === 'failed');
  for (const outcome of failed) {
    if (outcome.status === 'failed')
      console.error(`FAILED ${outcome.row.folder}/${outcome.row.file}: ${outcome.reason}`);
  }
  const count = (status: FetchOutcome['status']) => outcomes.filter((o) => o.status === status).length;
  console.log(`${count('fetched')} fetched, ${count('present')} already there, ${failed.length} failed`);
  if (failed.length === 0) {
    for (const made of await deriveVideo(target)) console.log(`made ${made}`);
  }
  return failed.length === 0 ? 0 : 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === import.meta.filename) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
