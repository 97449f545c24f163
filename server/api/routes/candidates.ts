import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ServiceContext } from '../../app/context.js';
import { imageBodyLimit, storeReferencePhoto } from '../../bulk/index.js';
import { principalOf } from '../request.js';
import { eraseCandidate } from '../../privacy/index.js';
import { getCandidate, loadCandidate } from '../../proctoring/index.js';
import { idParams } from '../schemas.js';
import { imageBytes } from './images.js';

const candidateParams = idParams;

export { assertImageSize } from '../../bulk/index.js';
/** The same image as base64 in JSON is about 4/3 larger. */
export const imageJsonBodyLimit = Math.ceil(imageBodyLimit * 1.4);

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
        return storeReferencePhoto(context, principal, request.params.id, bytes);
      },
    );
  };
