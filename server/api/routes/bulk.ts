import path from 'node:path';
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import multipart from '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ServiceContext } from '../../app/context.js';
import {
  BulkImporter,
  createImportJob,
  getJob,
  maxJsonBytes,
  spool,
  type ImportFormat,
  type JobManifest,
} from '../../bulk/index.js';
import { loadExam } from '../../proctoring/index.js';
import { AppError, privateFileMode } from '../../shared/index.js';
import { principalOf } from '../request.js';
import { examIdParams, idParams } from '../schemas.js';

/** A candidate file may carry data-URL photos; a ZIP of photos is larger still. Both go to disk. */
const maxCandidateFileBytes = 256 * 1024 * 1024;
const maxPhotoZipBytes = 1024 * 1024 * 1024;

const jobSchema = z.object({
  id: z.string(),
  kind: z.literal('candidates.bulk'),
  examId: z.string(),
  status: z.enum(['queued', 'running', 'completed', 'failed']),
  total: z.number(),
  processed: z.number(),
  created: z.number(),
  updated: z.number(),
  failed: z.number(),
  error: z.string().nullable(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
});

const jobWithRows = jobSchema.extend({
  rows: z.array(
    z.object({
      row: z.number(),
      externalId: z.string().nullable(),
      status: z.enum(['created', 'updated', 'failed']),
      candidateId: z.string().nullable(),
      photo: z.enum(['none', 'stored', 'rejected']),
      error: z.object({ code: z.string(), message: z.string() }).nullable(),
    }),
  ),
});

/** A raw CSV or NDJSON body, handed to the handler unread (no own enumerable fields to walk). */
class StreamedBody {
  readonly #stream: Readable;
  constructor(stream: Readable) {
    this.#stream = stream;
  }
  get stream(): Readable {
    return this.#stream;
  }
}

export const bulkRoutes =
  (context: ServiceContext): FastifyPluginAsyncZod =>
  async (app) => {
    const { db } = context;
    const importer = await BulkImporter.create({
      db,
      evidenceStore: context.evidenceStore,
      analysis: context.analysis,
      dataDir: context.config.dataDir,
      defaultPlan: context.config.defaultPlan,
      logger: context.logger.child({ component: 'bulk' }),
    });
    app.addHook('onClose', async () => importer.close());

    await app.register(multipart, {
      limits: { files: 2, fields: 4, parts: 6, fileSize: maxPhotoZipBytes, headerPairs: 50 },
    });
    app.addContentTypeParser(['text/csv', 'application/x-ndjson'], (_request, payload, done) =>
      done(null, new StreamedBody(payload)),
    );

    app.post(
      '/exams/:examId/candidates/bulk',
      {
        bodyLimit: maxJsonBytes,
        config: { auth: ['apiKey', 'admin'] },
        schema: {
          tags: ['candidates'],
          params: examIdParams,
          response: { 202: jobSchema },
          description:
            'Imports candidates: a text/csv body (`externalId,name[,photo]`), application/x-ndjson, a JSON list ' +
            '(`{"candidates": [...]}`, at most 16 MB), or multipart/form-data with a `candidates` file and a ' +
            '`photos` ZIP whose file names are the external ids. Answers 202 with a job; see GET /jobs/{id}.',
        },
      },
      async (request, reply) => {
        const principal = principalOf(request);
        await loadExam(db, principal, request.params.examId);
        const job = await createImportJob(
          { db, dataDir: context.config.dataDir },
          { principal, examId: request.params.examId, receive: (dir) => receiveUpload(request, dir) },
        );
        importer.enqueue(job.id);
        return reply.code(202).header('location', `/api/v1/jobs/${job.id}`).send(job);
      },
    );

    app.get(
      '/jobs/:id',
      {
        config: { auth: ['apiKey', 'admin'] },
        schema: {
          tags: ['candidates'],
          params: idParams,
          response: { 200: jobWithRows },
          description: "A bulk import's progress and every processed row's result.",
        },
      },
      async (request) => getJob(db, principalOf(request), request.params.id),
    );
  };

/** Streams the request's files into `dir` and says what they are. */
async function receiveUpload(request: FastifyRequest, dir: string): Promise<JobManifest> {
  const body: unknown = request.body;
  const contentType = request.headers['content-type'] ?? '';
  if (body instanceof StreamedBody) {
    const format: ImportFormat = contentType.startsWith('text/csv') ? 'csv' : 'ndjson';
    const candidatesFile = `candidates.${format}`;
    await spool(body.stream, path.join(dir, candidatesFile), maxCandidateFileBytes, 'the candidate file');
    return { format, candidatesFile };
  }
  if (request.isMultipart()) return receiveParts(request, dir);
  if (contentType.startsWith('application/json')) {
    await fs.promises.writeFile(path.join(dir, 'candidates.json'), JSON.stringify(body), {
      mode: privateFileMode,
    });
    return { format: 'json', candidatesFile: 'candidates.json' };
  }
  throw new AppError(
    'unsupported_media_type',
    'send text/csv, application/x-ndjson, application/json or multipart/form-data',
  );
}

async function receiveParts(request: FastifyRequest, dir: string): Promise<JobManifest> {
  let candidates: { format: ImportFormat; candidatesFile: string } | undefined;
  let photosFile: string | undefined;
  for await (const part of request.parts()) {
    if (part.type !== 'file') {
      throw new AppError(
        'invalid_input',
        `unexpected form field "${part.fieldname.slice(0, 50)}": send files only`,
      );
    }
    if (part.fieldname === 'candidates' && !candidates) {
      const format = formatOf(part.mimetype, part.filename);
      const candidatesFile = `candidates.${format}`;
      await spool(part.file, path.join(dir, candidatesFile), maxCandidateFileBytes, 'the candidate file');
      candidates = { format, candidatesFile };
    } else if (part.fieldname === 'photos' && !photosFile) {
      photosFile = 'photos.zip';
      await spool(part.file, path.join(dir, photosFile), maxPhotoZipBytes, 'the photo ZIP');
    } else {
      throw new AppError(
        'invalid_input',
        `unexpected file "${part.fieldname.slice(0, 50)}": send one "candidates" file and at most one "photos" ZIP`,
      );
    }
  }
  if (!candidates) {
    throw new AppError('invalid_input', 'the upload needs a "candidates" file (CSV, NDJSON or JSON)');
  }
  return { ...candidates, ...(photosFile ? { photosFile } : {}) };
}

function formatOf(mimetype: string, filename: string): ImportFormat {
  const extension = path.extname(filename).toLowerCase();
  if (mimetype === 'text/csv' || extension === '.csv') return 'csv';
  if (mimetype === 'application/x-ndjson' || extension === '.ndjson' || extension === '.jsonl')
    return 'ndjson';
  if (mimetype === 'application/json' || extension === '.json') return 'json';
  throw new AppError('unsupported_media_type', 'the "candidates" file must be CSV, NDJSON or JSON');
}
