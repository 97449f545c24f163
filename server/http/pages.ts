import fs from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { AppError, packageRoot } from '../shared/index.js';
import { sendError } from './errors.js';

/** Pages may talk only to this origin (REST, socket.io) and show local media. */
const contentSecurityPolicy = [
  "default-src 'self'",
  "connect-src 'self' ws: wss:",
  "img-src 'self' data: blob:",
  "media-src 'self' blob: mediastream:",
  "style-src 'self' 'unsafe-inline'",
  "frame-ancestors 'self'",
].join('; ');

/** Serves the Vite-built candidate page and proctor dashboard from client/dist. */
export async function registerPages(app: FastifyInstance): Promise<void> {
  const root = path.join(packageRoot(), 'client', 'dist');
  const built = fs.existsSync(path.join(root, 'candidate.html'));
  if (built) {
    await app.register(fastifyStatic, {
      root: path.join(root, 'assets'),
      prefix: '/assets/',
      immutable: true,
      maxAge: '30d',
      index: false,
    });
  }
  const page = (file: string) => async (_request: unknown, reply: FastifyReply) => {
    if (!built)
      return sendError(reply, new AppError('unavailable', 'the pages are not built: run `npm run build`'));
    const html = await fs.promises.readFile(path.join(root, file));
    return reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('content-security-policy', contentSecurityPolicy)
      .header('permissions-policy', 'camera=(self), microphone=(self), display-capture=()')
      .send(html);
  };
  app.get('/candidate', { schema: { hide: true } }, page('candidate.html'));
  app.get('/proctor', { schema: { hide: true } }, page('proctor.html'));
  app.get('/candidate/outcome', { schema: { hide: true } }, page('outcome.html'));
}
