import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ServiceContext } from '../../app/context.js';
import { storeEvidence } from '../../evidence/index.js';
import { principalOf } from '../request.js';
import { eraseCandidate } from '../../privacy/index.js';
import { getCandidate, loadCandidate, setCandidateReference } from '../../proctoring/index.js';
import { AppError } from '../../shared/index.js';
import { idParams } from '../schemas.js';
import { imageBytes } from './images.js';

const candidateParams = idParams;

/** Reference photos are images, far above the 64 KB JSON limit. */
export const imageBodyLimit = 10 * 1024 * 1024;
/** The same image as base64 in JSON is about 4/3 larger. */
export const imageJsonBodyLimit = Math.ceil(imageBodyLimit * 1.4);

export function assertImageSize(bytes: Buffer): void {
  if (bytes.length > imageBodyLimit) throw new AppError('payload_too_large', 'images may be at most 10 MB');
  if (bytes.length === 0) throw new AppError('invalid_input', 'the image is empty');
}

export const candidateRoutes =
  (context: ServiceContext): FastifyPluginAsyncZod =>
  async (app) => {
    const { db } = context;

    app.get(
      '/candidates/:id',
      {
        config: { auth: ['apiKey', 'admin', 'proctor'] },
        schema: { tags: ['candidates'], params: candidateParams },
      },
      async (request) => getCandidate(db, principalOf(request), request.params.id),
    );

    app.delete(
      '/candidates/:id',
      {
        config: { auth: ['apiKey', 'admin'] },
        schema: {
          tags: ['candidates'],
          params: candidateParams,
          description:
            'Erases the candidate: reference photo, sessions, violations, signals and evidence files (409 while a session is open).',
        },
      },
      async (request) => eraseCandidate(db, context.evidenceStore, principalOf(request), request.params.id),
    );

    app.put(
      '/candidates/:id/reference',
      {
        bodyLimit: imageJsonBodyLimit,
        config: { auth: ['apiKey', 'admin'] },
        schema: {
          tags: ['candidates'],
          params: candidateParams,
          description: 'Raw image/jpeg or image/png body, or JSON {"image": "data:image/…;base64,…"}.',
        },
      },
      async (request) => {
        const principal = principalOf(request);
        await loadCandidate(db, principal, request.params.id);
        const bytes = imageBytes(request.body, request.headers['content-type']);
        assertImageSize(bytes);
        if (!context.analysis)
          throw new AppError('not_implemented', 'face analysis is not enabled on this server');
        const analysed = await context.analysis.embedReference(bytes);
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
        const evidence = await storeEvidence(db, context.evidenceStore, {
          tenantId: principal.tenantId,
          candidateId: request.params.id,
          kind: 'reference',
          mediaType,
          bytes,
        });
        await setCandidateReference(db, principal, request.params.id, {
          embedding: analysed.embedding,
          evidenceId: evidence.id,
          quality: analysed.quality as unknown as Record<string, number>,
        });
        return { faces: 1, quality: analysed.quality };
      },
    );
  };
