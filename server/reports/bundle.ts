import { createHash } from 'node:crypto';
import { and, asc, eq, gte, lte } from 'drizzle-orm';
import { zipSync } from 'fflate';
import type { Principal } from '../auth/index.js';
import { auditLog, type Database } from '../db/index.js';
import type { EvidenceStore } from '../evidence/index.js';
import type { Logger } from '../shared/index.js';
import { evidenceFilesOf } from './evidence-files.js';
import { buildReport } from './report.js';

/** One link of the tenant's audit chain: enough to check the chain, nothing of other entries' content. */
export interface ChainLink {
  seq: number;
  prevHash: string;
  hash: string;
}

export const bundlePaths = {
  report: 'report.json',
  entries: 'audit/entries.json',
  chain: 'audit/chain.json',
  manifest: 'MANIFEST.sha256',
  evidenceDir: 'evidence/',
} as const;

const extensions: Record<string, string> = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'audio/wav': 'wav',
  'audio/webm': 'webm',
  'audio/ogg': 'ogg',
};

export const evidencePath = (id: string, mediaType: string) =>
  `${bundlePaths.evidenceDir}${id}.${extensions[mediaType] ?? 'bin'}`;

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const json = (value: unknown) => Buffer.from(`${JSON.stringify(value, null, 2)}\n`);

/**
 * The appeal bundle of a session (a ZIP): `report.json`, every evidence file still stored,
 * the session's audit entries with their hashes, the links of the tenant's chain from the
 * first to the last of them (seq and hashes only), and `MANIFEST.sha256` (sha256sum format)
 * over all of it. `vigil bundle verify` checks it offline.
 */
export async function buildBundle(
  deps: { db: Database; evidenceStore: EvidenceStore; logger: Logger },
  principal: Principal,
  sessionId: string,
): Promise<{ zip: Buffer; sessionId: string }> {
  const report = await buildReport(deps.db, principal, sessionId);
  const files = await evidenceFilesOf(
    deps,
    principal.tenantId,
    report.violations.map((v) => v.id),
  );
  const entries = report.auditEntries;
  const first = entries[0]?.seq ?? 0;
  const last = entries.at(-1)?.seq ?? 0;
  const chain: ChainLink[] =
    entries.length === 0
      ? []
      : await deps.db
          .select({ seq: auditLog.seq, prevHash: auditLog.prevHash, hash: auditLog.hash })
          .from(auditLog)
          .where(
            and(eq(auditLog.tenantId, principal.tenantId), gte(auditLog.seq, first), lte(auditLog.seq, last)),
          )
          .orderBy(asc(auditLog.seq));

  const contents: Record<string, Uint8Array> = {
    [bundlePaths.report]: json(report),
    [bundlePaths.entries]: json(entries),
    [bundlePaths.chain]: json(chain),
  };
  for (const file of files) {
    if (file.bytes) contents[evidencePath(file.id, file.mediaType)] = file.bytes;
  }
  const manifest = Object.keys(contents)
    .sort()
    .map((path) => `${sha256(contents[path]!)}  ${path}`)
    .join('\n');
  contents[bundlePaths.manifest] = Buffer.from(`${manifest}\n`);
  // Evidence is already compressed (JPEG, Opus); JSON compresses well.
  const zip = zipSync(
    Object.fromEntries(
      Object.entries(contents).map(([path, bytes]) => [
        path,
        [bytes, { level: path.endsWith('.json') ? 6 : 0 }],
      ]),
    ),
    { mtime: new Date(report.generatedAt) },
  );
  return { zip: Buffer.from(zip), sessionId: report.session.id };
}
