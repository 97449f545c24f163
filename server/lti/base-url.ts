import type { FastifyRequest } from 'fastify';

/**
 * The tool's own base URL: PUBLIC_URL, except when it names port 0 (the listener picked a free
 * port, as in tests), where the request's own origin is the only one known.
 */
export function toolBaseUrl(publicUrl: string, request: FastifyRequest): string {
  const configured = new URL(publicUrl);
  if (configured.port !== '0') return publicUrl;
  return `${request.protocol}://${request.host}`;
}
