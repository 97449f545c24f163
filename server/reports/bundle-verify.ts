/**
 * Offline check of an appeal bundle: needs nothing but the file. It recomputes every hash the
 * bundle states (the manifest's, the evidence files' content addresses, each audit entry's
 * chain hash) and follows the chain links between the session's entries.
 *
 * What it proves: the files are the ones the manifest names, the evidence is the evidence the
 * report cites, and the audit entries are unaltered links of one unbroken chain. What it cannot
 * prove alone: that someone who rewrote everything consistently did not; for that compare the
 * last entry's hash with the tenant's `GET /api/v1/audit` (the chain only ever grows).
 */
import { createHash } from 'node:crypto';
import { unzipSync } from 'fflate';
import { entryHash } from '../audit/chain.js';
import type { AuditEntry } from '../audit/index.js';
import { bundlePaths, type ChainLink } from './bundle.js';

export interface BundleCheck {
  ok: boolean;
  /** What was checked and held, one line each. */
  checked: string[];
  /** What failed, one line each. */
  problems: string[];
}

/** The bundle's entries are the report's audit entries, as the API shows them. */
type EntryLike = AuditEntry;

interface ReportLike {
  session?: { id?: string };
  violations?: { evidence?: { id: string; sha256: string; purgedAt?: string }[] }[];
  auditEntries?: { hash: string }[];
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function parse<T>(files: Record<string, Uint8Array>, path: string, problems: string[]): T | undefined {
  const bytes = files[path];
  if (!bytes) {
    problems.push(`${path} is missing`);
    return undefined;
  }
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as T;
  } catch {
    problems.push(`${path} is not valid JSON`);
    return undefined;
  }
}

export function verifyBundle(zip: Uint8Array): BundleCheck {
  const checked: string[] = [];
  const problems: string[] = [];
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(zip);
  } catch (error) {
    return { ok: false, checked, problems: [`not a readable ZIP file (${(error as Error).message})`] };
  }

  checkManifest(files, checked, problems);
  const report = parse<ReportLike>(files, bundlePaths.report, problems);
  const entries = parse<EntryLike[]>(files, bundlePaths.entries, problems);
  const chain = parse<ChainLink[]>(files, bundlePaths.chain, problems);
  if (report) checkEvidence(files, report, checked, problems);
  if (entries && chain) checkAudit(entries, chain, report, checked, problems);
  return { ok: problems.length === 0, checked, problems };
}

function checkManifest(files: Record<string, Uint8Array>, checked: string[], problems: string[]): void {
  const manifest = files[bundlePaths.manifest];
  if (!manifest) return void problems.push(`${bundlePaths.manifest} is missing`);
  const listed = new Set<string>();
  for (const line of Buffer.from(manifest).toString('utf8').split('\n')) {
    if (!line.trim()) continue;
    const match = /^([0-9a-f]{64}) {2}(.+)$/.exec(line);
    if (!match) {
      problems.push(`${bundlePaths.manifest}: unreadable line "${line.slice(0, 80)}"`);
      continue;
    }
    const [, hash, path] = match as unknown as [string, string, string];
    listed.add(path);
    const bytes = files[path];
    if (!bytes) problems.push(`${path} is listed in the manifest but missing`);
    else if (sha256(bytes) !== hash) problems.push(`${path}: sha256 differs from the manifest`);
  }
  for (const path of Object.keys(files)) {
    if (path !== bundlePaths.manifest && !listed.has(path) && !path.endsWith('/'))
      problems.push(`${path} is in the bundle but not in the manifest`);
  }
  checked.push(`manifest: ${listed.size} files, each sha256 recomputed`);
}

function checkEvidence(
  files: Record<string, Uint8Array>,
  report: ReportLike,
  checked: string[],
  problems: string[],
): void {
  let count = 0;
  let purged = 0;
  const cited = new Set<string>();
  for (const violation of report.violations ?? []) {
    for (const item of violation.evidence ?? []) {
      const path = Object.keys(files).find((name) =>
        name.startsWith(`${bundlePaths.evidenceDir}${item.id}.`),
      );
      if (path) cited.add(path);
      if (item.purgedAt) {
        purged += 1;
        continue;
      }
      if (!path) {
        problems.push(`evidence ${item.id} cited by the report is missing`);
        continue;
      }
      if (sha256(files[path]!) !== item.sha256)
        problems.push(`${path}: not the evidence the report cites (sha256)`);
      count += 1;
    }
  }
  for (const path of Object.keys(files)) {
    if (path.startsWith(bundlePaths.evidenceDir) && !cited.has(path))
      problems.push(`${path} is not cited by the report`);
  }
  checked.push(
    `evidence: ${count} files match the sha256 the report cites${purged ? ` (${purged} deleted under retention, hash only)` : ''}`,
  );
}

function checkAudit(
  entries: EntryLike[],
  chain: ChainLink[],
  report: ReportLike | undefined,
  checked: string[],
  problems: string[],
): void {
  for (const entry of entries) {
    const { prevHash, hash, ...fields } = entry;
    let recomputed: string;
    try {
      recomputed = entryHash(prevHash, { ...fields, at: new Date(fields.at) });
    } catch {
      problems.push(`audit entry #${entry.seq}: unreadable`);
      continue;
    }
    if (recomputed !== hash)
      problems.push(`audit entry #${entry.seq} (${entry.action}): hash does not match its content`);
  }
  checked.push(`audit: ${entries.length} entries of the session, each hash recomputed from its content`);

  const bySeq = new Map(chain.map((link) => [link.seq, link]));
  for (let i = 1; i < chain.length; i += 1) {
    const previous = chain[i - 1]!;
    const link = chain[i]!;
    if (link.seq !== previous.seq + 1)
      problems.push(`audit chain: seq ${previous.seq} is followed by ${link.seq}`);
    if (link.prevHash !== previous.hash)
      problems.push(`audit chain: #${link.seq} does not link to #${previous.seq}`);
  }
  for (const entry of entries) {
    const link = bySeq.get(entry.seq);
    if (!link || link.hash !== entry.hash || link.prevHash !== entry.prevHash)
      problems.push(`audit entry #${entry.seq} is not the chain's entry at that place`);
  }
  const span = chain.length > 0 ? `#${chain[0]!.seq}–#${chain.at(-1)!.seq}` : 'none';
  checked.push(`audit chain: ${chain.length} links (${span}) each linked to the one before`);

  const inReport = (report?.auditEntries ?? []).map((e) => e.hash).join();
  if (report && inReport !== entries.map((e) => e.hash).join())
    problems.push('report.json lists other audit entries than audit/entries.json');
}
