import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ServiceContext } from '../../app/context.js';
import { getProfile, setProfile } from '../../proctoring/index.js';
import { principalOf } from '../request.js';
import { idParams } from '../schemas.js';

/** Fields left out keep their value; an empty body changes nothing. */
const profileBody = z.strictObject({
  gazeExempt: z.boolean().optional(),
  speechAllowed: z.boolean().optional(),
  noFullscreen: z.boolean().optional(),
  extraTimeMinutes: z
    .number()
    .int()
    .min(0)
    .max(24 * 60)
    .optional(),
  breaksAllowed: z.boolean().optional(),
  alternateVerification: z.boolean().optional(),
});

/**
 * A candidate's accessibility profile: accommodations that reconfigure the checks of their
 * sessions (proctoring/profiles.ts says which). Proctors read it; the tenant sets it.
 */
export const profileRoutes =
  (context: ServiceContext): FastifyPluginAsyncZod =>
  async (app) => {
    const { db } = context;

    app.get(
      '/candidates/:id/profile',
      {
        config: { auth: ['apiKey', 'admin', 'proctor'] },
        schema: { tags: ['candidates'], params: idParams },
      },
      async (request) => getProfile(db, principalOf(request), request.params.id),
    );

    app.put(
      '/candidates/:id/profile',
      {
        config: { auth: ['apiKey', 'admin'] },
        schema: { tags: ['candidates'], params: idParams, body: profileBody },
      },
      async (request) =>
        setProfile(db, principalOf(request), request.params.id, stripUndefined(request.body)),
    );
  };

/** zod keeps absent optional keys out, but `exactOptionalPropertyTypes` wants that said. */
function stripUndefined<T extends Record<string, unknown>>(
  value: T,
): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}
