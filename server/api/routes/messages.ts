import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ServiceContext } from '../../app/context.js';
import { addNote, listMessages, listNotes, messageText } from '../../proctoring/index.js';
import { principalOf } from '../request.js';
import { idParams } from '../schemas.js';

const noteBody = z.strictObject({ text: messageText });

/**
 * A session's conversation (written over the sockets, `chat:send`) and its proctors' private
 * notes. The candidate reads their own conversation (a reloaded page shows it again), never notes.
 */
export const messageRoutes =
  (context: ServiceContext): FastifyPluginAsyncZod =>
  async (app) => {
    const { db } = context;

    app.get(
      '/sessions/:id/messages',
      {
        config: { auth: ['apiKey', 'admin', 'proctor', 'candidate'] },
        schema: { tags: ['sessions'], params: idParams },
      },
      async (request) => listMessages(db, principalOf(request), request.params.id),
    );

    app.get(
      '/sessions/:id/notes',
      { config: { auth: ['apiKey', 'admin', 'proctor'] }, schema: { tags: ['sessions'], params: idParams } },
      async (request) => listNotes(db, principalOf(request), request.params.id),
    );

    app.post(
      '/sessions/:id/notes',
      {
        config: { auth: ['admin', 'proctor'] },
        schema: { tags: ['sessions'], params: idParams, body: noteBody },
      },
      async (request, reply) =>
        reply.code(201).send(await addNote(db, principalOf(request), request.params.id, request.body.text)),
    );
  };
