import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { and, eq, inArray } from 'drizzle-orm';
import { z } from 'zod';
import type { AnalysisEngine } from '../analysis/index.js';
import { appendAudit } from '../audit/index.js';
import { actorOf, type Principal } from '../auth/index.js';
import { bulkJobs, candidates, type Database } from '../db/index.js';
import type { EvidenceStore } from '../evidence/index.js';
import { createCandidate } from '../proctoring/index.js';
import { AppError, backoffMs, type Logger } from '../shared/index.js';
import { assertWithinLimit, type PlanId } from '../usage/index.js';
import { principalOfJob, recordRow, type RowResult } from './jobs.js';
import { PhotoArchive } from './photos.js';
import { photoFromDataUrl, storeReferencePhoto } from './reference-photo.js';
import { importFormats, importRow, readRows, type RawRow } from './rows.js';
import { jobDir, removeJobDir } from './spool.js';

/** What the upload left in the job's folder, beside its files. */
export const jobManifest = z.strictObject({
  format: z.enum(importFormats),
  candidatesFile: z.string().regex(/^[a-z.]+$/),
  photosFile: z
    .string()
    .regex(/^[a-z.]+$/)
    .optional(),
});
export type JobManifest = z.infer<typeof jobManifest>;
export const manifestFile = 'job.json';
const retryUnavailableMs = 30_000;

export interface BulkImporterOptions {
  db: Database;
  evidenceStore: EvidenceStore;
  analysis: AnalysisEngine | undefined;
  dataDir: string;
  defaultPlan: PlanId;
  logger: Logger;
}

/**
 * Runs bulk imports in the background, one job and one photo at a time. Photos go through the
 * analysis engine like any reference photo (the engine serves photos before stream frames); while
 * live streams are analysed, the importer waits after each photo as long as it took, so an import
 * holds at most half of one engine worker and live monitoring keeps its frames.
 */
export class BulkImporter {
  readonly #options: BulkImporterOptions;
  readonly #queue: string[] = [];
  #running: Promise<void> | undefined;
  #closed = false;
  /** The engine's frame counts at the last photo: more since means live monitoring runs. */
  #framesSeen = { analysed: 0, dropped: 0 };

  private constructor(options: BulkImporterOptions) {
    this.#options = options;
  }

  /** Starts the importer and picks up this node's unfinished jobs (their files are in its DATA_DIR). */
  static async create(options: BulkImporterOptions): Promise<BulkImporter> {
    const importer = new BulkImporter(options);
    const unfinished = await options.db
      .select({ id: bulkJobs.id })
      .from(bulkJobs)
      .where(inArray(bulkJobs.status, ['queued', 'running']))
      .orderBy(bulkJobs.createdAt);
    for (const job of unfinished) {
      if (fs.existsSync(path.join(jobDir(options.dataDir, job.id), manifestFile))) importer.enqueue(job.id);
    }
    return importer;
  }

  enqueue(jobId: string): void {
    if (this.#closed) return;
    this.#queue.push(jobId);
    this.#running ??= this.#drain().finally(() => {
      this.#running = undefined;
    });
  }

  /** Stops after the row in progress; an unfinished job resumes when the node starts again. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#running;
  }

  /** Resolves once every queued job has finished (tests, benchmarks). */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  async #drain(): Promise<void> {
    while (!this.#closed) {
      const jobId = this.#queue.shift();
      if (!jobId) return;
      try {
        await this.#run(jobId);
      } catch (error) {
        this.#options.logger.error({ err: error, jobId }, 'a bulk import failed');
      }
    }
  }

  async #run(jobId: string): Promise<void> {
    const { db, dataDir } = this.#options;
    const [job] = await db.select().from(bulkJobs).where(eq(bulkJobs.id, jobId));
    if (!job || job.status === 'completed' || job.status === 'failed') return;
    const principal = principalOfJob(job);
    const dir = jobDir(dataDir, jobId);
    await db
      .update(bulkJobs)
      .set({ status: 'running', startedAt: job.startedAt ?? new Date() })
      .where(eq(bulkJobs.id, jobId));
    let archive: PhotoArchive | undefined;
    let outcome: { status: 'completed' } | { status: 'failed'; error: string } | undefined;
    try {
      const manifest = jobManifest.parse(
        JSON.parse(await fs.promises.readFile(path.join(dir, manifestFile), 'utf8')),
      );
      if (manifest.photosFile) archive = await PhotoArchive.open(path.join(dir, manifest.photosFile));
      for await (const raw of readRows(path.join(dir, manifest.candidatesFile), manifest.format)) {
        if (this.#closed) return;
        await recordRow(db, jobId, await this.#processRow(job.examId, principal, raw, archive));
      }
      outcome = { status: 'completed' };
    } catch (error) {
      if (this.#closed) return; // stopped mid-way (shutdown): resumed on the next start
      if (error instanceof AppError && error.code === 'unavailable') {
        // Face analysis stayed busy or away: try the job again later (done rows are redone as updates).
        this.#options.logger.warn({ jobId }, 'a bulk import waits for face analysis');
        setTimeout(() => this.enqueue(jobId), retryUnavailableMs).unref();
        return;
      }
      this.#options.logger.error({ err: error, jobId }, 'a bulk import stopped');
      outcome = {
        status: 'failed',
        error: error instanceof AppError ? error.message : 'the import stopped on an internal error',
      };
    } finally {
      archive?.close();
      if (outcome) {
        // The files go first: a finished job never leaves its upload behind.
        await removeJobDir(dataDir, jobId);
        await db
          .update(bulkJobs)
          .set({ ...outcome, finishedAt: new Date() })
          .where(eq(bulkJobs.id, jobId));
      }
    }
  }

  async #processRow(
    examId: string,
    principal: Principal,
    raw: RawRow,
    archive: PhotoArchive | undefined,
  ): Promise<RowResult> {
    const failed = (externalId: string | null, error: unknown): RowResult => ({
      row: raw.row,
      externalId,
      status: 'failed',
      candidateId: null,
      photo: 'none',
      error: rowError(error),
    });
    if ('error' in raw) return failed(raw.externalId ?? null, new AppError('invalid_input', raw.error));
    const parsed = importRow.safeParse(raw.fields);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return failed(
        externalIdOf(raw.fields),
        new AppError('invalid_input', `${issue?.path.join('.') || 'row'}: ${issue?.message ?? 'invalid'}`),
      );
    }
    const { externalId, name, photo } = parsed.data;
    let candidate: { id: string; status: 'created' | 'updated' };
    try {
      candidate = await this.#upsertCandidate(examId, principal, externalId, name);
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      return failed(externalId, error);
    }
    const done: RowResult = {
      row: raw.row,
      externalId,
      status: candidate.status,
      candidateId: candidate.id,
      photo: 'none',
      error: null,
    };
    try {
      const bytes = photo !== undefined ? photoFromDataUrl(photo) : await archive?.photo(externalId);
      if (!bytes) return done;
      await this.#paced(() => storeReferencePhoto(this.#options, principal, candidate.id, bytes));
      return { ...done, photo: 'stored' };
    } catch (error) {
      if (!(error instanceof AppError) || error.code === 'unavailable') throw error;
      return { ...done, status: 'failed', photo: 'rejected', error: rowError(error) };
    }
  }

  /** Re-running an import updates by external id rather than adding the candidate again. */
  async #upsertCandidate(
    examId: string,
    principal: Principal,
    externalId: string,
    name: string,
  ): Promise<{ id: string; status: 'created' | 'updated' }> {
    const { db } = this.#options;
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const [existing] = await db
        .select({ id: candidates.id, name: candidates.name })
        .from(candidates)
        .where(
          and(
            eq(candidates.tenantId, principal.tenantId),
            eq(candidates.examId, examId),
            eq(candidates.externalId, externalId),
          ),
        );
      if (existing) {
        if (existing.name !== name) {
          await db.transaction(async (tx) => {
            await tx.update(candidates).set({ name }).where(eq(candidates.id, existing.id));
            await appendAudit(tx, {
              tenantId: principal.tenantId,
              actor: actorOf(principal),
              action: 'candidate.update',
              target: existing.id,
              details: { examId, externalId, via: 'bulk' },
            });
          });
        }
        return { id: existing.id, status: 'updated' };
      }
      await assertWithinLimit(db, {
        tenantId: principal.tenantId,
        limit: 'maxCandidates',
        defaultPlan: this.#options.defaultPlan,
      });
      try {
        const created = await createCandidate(db, principal, examId, { externalId, name });
        return { id: created.id, status: 'created' };
      } catch (error) {
        // Created meanwhile by another request: update that one instead.
        if (!(error instanceof AppError && error.code === 'conflict')) throw error;
      }
    }
    throw new AppError('conflict', `candidate ${externalId} is being changed by another request`);
  }

  /**
   * Runs one photo through the engine, retrying while it is busy, then pauses (see #pauseAfter).
   */
  async #paced<T>(task: () => Promise<T>): Promise<T> {
    for (let failures = 0; ; failures += 1) {
      const started = performance.now();
      try {
        return await task();
      } catch (error) {
        const busy = error instanceof AppError && error.code === 'unavailable' && !this.#closed;
        if (!busy || failures >= 6) throw error;
        await delay(backoffMs(failures, { minMs: 250, maxMs: 2000 }));
      } finally {
        await delay(this.#pauseAfter(performance.now() - started));
      }
    }
  }

  /**
   * How long to leave the engine to live streams after a photo that took `tookMs`: nothing when no
   * stream is analysed, as long again while streams are (the import takes at most half a worker),
   * three times as long while the engine drops stream frames (at most a quarter).
   */
  #pauseAfter(tookMs: number): number {
    const stats = this.#options.analysis?.stats();
    const now = { analysed: stats?.framesAnalysed ?? 0, dropped: stats?.framesDropped ?? 0 };
    const seen = this.#framesSeen;
    this.#framesSeen = now;
    if (now.dropped > seen.dropped) return Math.min(6000, 3 * tookMs);
    if (now.analysed > seen.analysed) return Math.min(2000, tookMs);
    return 0;
  }
}

function rowError(error: unknown): { code: string; message: string } {
  if (error instanceof AppError) return { code: error.code, message: error.message };
  return { code: 'internal', message: 'internal error' };
}

function externalIdOf(fields: unknown): string | null {
  const value =
    typeof fields === 'object' && fields !== null
      ? (fields as { externalId?: unknown }).externalId
      : undefined;
  return typeof value === 'string' && value.trim() ? value.trim().slice(0, 200) : null;
}
