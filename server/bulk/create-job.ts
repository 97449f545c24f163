import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { appendAudit } from '../audit/index.js';
import { actorOf, type Principal } from '../auth/index.js';
import { bulkJobs, type Database } from '../db/index.js';
import { AppError, privateFileMode } from '../shared/index.js';
import { manifestFile, type JobManifest } from './importer.js';
import { jobView, type JobView } from './jobs.js';
import { PhotoArchive } from './photos.js';
import { countRows } from './rows.js';
import { makeJobDir, removeJobDir } from './spool.js';

/**
 * Takes an upload into a new job: `receive` streams its files into the job's folder, then the
 * candidate file is read through once and the ZIP's directory checked, so a broken file is a 400
 * now rather than a failed job later. Nothing is analysed yet: the importer does that.
 */
export async function createImportJob(
  deps: { db: Database; dataDir: string },
  input: { principal: Principal; examId: string; receive: (dir: string) => Promise<JobManifest> },
): Promise<JobView> {
  if (input.principal.kind !== 'apiKey' && input.principal.kind !== 'user') {
    throw new AppError('forbidden', 'imports are made with an API key or by a tenant admin');
  }
  const jobId = randomUUID();
  const dir = await makeJobDir(deps.dataDir, jobId);
  try {
    const manifest = await input.receive(dir);
    const total = await countRows(path.join(dir, manifest.candidatesFile), manifest.format);
    if (manifest.photosFile) (await PhotoArchive.open(path.join(dir, manifest.photosFile))).close();
    await fs.promises.writeFile(path.join(dir, manifestFile), JSON.stringify(manifest), {
      mode: privateFileMode,
    });
    const principal = input.principal;
    const job = await deps.db.transaction(async (tx) => {
      const [row] = await tx
        .insert(bulkJobs)
        .values({
          id: jobId,
          tenantId: principal.tenantId,
          examId: input.examId,
          principal: { ...principal },
          total,
        })
        .returning();
      await appendAudit(tx, {
        tenantId: principal.tenantId,
        actor: actorOf(principal),
        action: 'candidates.bulk_import',
        target: jobId,
        details: { examId: input.examId, rows: total, photos: manifest.photosFile !== undefined },
      });
      return row!;
    });
    return jobView(job);
  } catch (error) {
    await removeJobDir(deps.dataDir, jobId);
    throw error;
  }
}
