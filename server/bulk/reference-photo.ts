import type { AnalysisEngine } from '../analysis/index.js';
import type { Principal } from '../auth/index.js';
import type { Database } from '../db/index.js';
import { storeEvidence, type EvidenceStore } from '../evidence/index.js';
import { setCandidateReference } from '../proctoring/index.js';
import { AppError } from '../shared/index.js';

/** Reference photos are images, far above the 64 KB JSON limit. */
export const imageBodyLimit = 10 * 1024 * 1024;

const dataUrl = /^data:(image\/[a-z0-9.+-]+);base64,([A-Za-z0-9+/=\s]+)$/i;

/** A photo given as a data URL (JPEG or PNG), as in `PUT /candidates/:id/reference`'s JSON form. */
export function photoFromDataUrl(text: string): Buffer {
  const match = dataUrl.exec(text.trim());
  if (!match) throw new AppError('invalid_input', 'photo must be a data URL (data:image/jpeg;base64,…)');
  const mediaType = match[1]!.toLowerCase();
  if (mediaType !== 'image/jpeg' && mediaType !== 'image/png') {
    throw new AppError('unsupported_media_type', `${mediaType} is not supported; send a JPEG or PNG photo`);
  }
  return Buffer.from(match[2]!, 'base64');
}

export function assertImageSize(bytes: Buffer): void {
  if (bytes.length > imageBodyLimit) throw new AppError('payload_too_large', 'images may be at most 10 MB');
  if (bytes.length === 0) throw new AppError('invalid_input', 'the image is empty');
}

type ReferenceQuality = Awaited<ReturnType<AnalysisEngine['embedReference']>>['quality'];

export interface ReferencePhotoDeps {
  db: Database;
  evidenceStore: EvidenceStore;
  analysis: AnalysisEngine | undefined;
}

/**
 * The one path a reference photo takes (`PUT /candidates/:id/reference` and bulk imports): the
 * engine finds exactly one face (else `no_face` / `multiple_faces`), the photo is stored as
 * evidence and its embedding becomes the candidate's reference.
 */
export async function storeReferencePhoto(
  deps: ReferencePhotoDeps,
  principal: Principal,
  candidateId: string,
  bytes: Buffer,
): Promise<{ faces: 1; quality: ReferenceQuality }> {
  assertImageSize(bytes);
  if (!deps.analysis) throw new AppError('not_implemented', 'face analysis is not enabled on this server');
  const analysed = await deps.analysis.embedReference(bytes);
  if (analysed.faces > 1) {
    throw new AppError(
      'multiple_faces',
      `the photo shows ${analysed.faces} faces; it must show only the candidate`,
    );
  }
  if (analysed.faces === 0 || !analysed.embedding) {
    throw new AppError('no_face', 'no usable face was found in the photo');
  }
  const mediaType = bytes[0] === 0x89 ? 'image/png' : 'image/jpeg';
  const evidence = await storeEvidence(deps.db, deps.evidenceStore, {
    tenantId: principal.tenantId,
    candidateId,
    kind: 'reference',
    mediaType,
    bytes,
  });
  await setCandidateReference(deps.db, principal, candidateId, {
    embedding: analysed.embedding,
    evidenceId: evidence.id,
    quality: analysed.quality as unknown as Record<string, number>,
  });
  return { faces: 1, quality: analysed.quality };
}
