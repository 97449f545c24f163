/**
 * Bulk candidate imports: an upload (CSV, NDJSON or JSON, photos as a ZIP or data URLs) is
 * spooled to disk and checked, then processed row by row in the background; `GET /jobs/:id`
 * reports progress and each row's result.
 */
export { BulkImporter, type JobManifest } from './importer.js';
export { createImportJob } from './create-job.js';
export { getJob, type JobView, type RowResult } from './jobs.js';
export { importFormats, maxJsonBytes, type ImportFormat } from './rows.js';
export { spool } from './spool.js';
export {
  assertImageSize,
  imageBodyLimit,
  photoFromDataUrl,
  storeReferencePhoto,
  type ReferencePhotoDeps,
} from './reference-photo.js';
