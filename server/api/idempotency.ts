/**
 * `Idempotency-Key` on POST (as Stripe does it): the first request with a key runs and its
 * response is kept 24 h; a retry with the same request gets that response again (with
 * `idempotent-replayed: true`), another request under the key is 409 `idempotency_conflict`,
 * and one arriving while the first still runs is 409 `idempotency_in_progress` (with
 * `retry-after`) rather than waiting on it. Keys are scoped per tenant and credential.
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { and, eq, lt, sql } from 'drizzle-orm';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { actorOf } from '../auth/index.js';
import type { Config } from '../config/index.js';
import { idempotencyKeys, type Database } from '../db/index.js';
import { AppError, canonicalJson, runPeriodically, type Logger } from '../shared/index.js';

export const idempotencyTtlMs = 24 * 60 * 60 * 1000;
const sweepEveryMs = 60 * 60 * 1000;
const keyPattern = /^[\x21-\x7e]{1,255}$/;

interface Claim {
  tenantId: string;
  credential: string;
  keyHash: string;
  encryptionKey: Buffer;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set when this request owns an idempotency key: its response is stored under it. */
    idempotencyClaim: Claim | undefined;
  }
}

export interface IdempotencyOptions {
  db: Database;
  config: Pick<Config, 'jwt' | 'requestTimeoutSeconds' | 'databaseTimeoutSeconds'>;
  logger: Logger;
}

/** Adds the hooks to `app` (the `/api/v1` plugin); they run after authentication and validation. */
export function registerIdempotency(app: FastifyInstance, options: IdempotencyOptions): void {
  const { db } = options;
  const serverSecret = serverSecretOf(options.config.jwt);
  // A first request gone longer than any request may run (a crashed node) no longer holds its key.
  const abandonAfterMs =
    (options.config.requestTimeoutSeconds + options.config.databaseTimeoutSeconds + 10) * 1000;

  app.decorateRequest('idempotencyClaim', undefined);

  app.addHook('preHandler', async (request, reply) => {
    if (request.method !== 'POST') return;
    const header = request.headers['idempotency-key'];
    if (header === undefined) return;
    const principal = request.principal;
    // Public POSTs (sign-in, refresh) have no credential to scope a key to; they ignore it.
    if (!principal) return;
    if (typeof header !== 'string' || !keyPattern.test(header)) {
      throw new AppError('invalid_input', 'Idempotency-Key must be 1 to 255 visible ASCII characters');
    }
    const credential = actorOf(principal);
    const keyHash = sha256(`${credential}\n${header}`);
    const fingerprint = fingerprintOf(request);
    const encryptionKey = Buffer.from(
      hkdfSync('sha256', header, serverSecret, `vigil idempotency v1 ${credential}`, 32),
    );

    for (let attempt = 0; attempt < 3; attempt += 1) {
      const [claimed] = await db
        .insert(idempotencyKeys)
        .values({ tenantId: principal.tenantId, credential, keyHash, fingerprint })
        .onConflictDoNothing()
        .returning({ keyHash: idempotencyKeys.keyHash });
      if (claimed) {
        request.idempotencyClaim = { tenantId: principal.tenantId, credential, keyHash, encryptionKey };
        return;
      }
      const [existing] = await db
        .select()
        .from(idempotencyKeys)
        .where(
          and(
            eq(idempotencyKeys.tenantId, principal.tenantId),
            eq(idempotencyKeys.credential, credential),
            eq(idempotencyKeys.keyHash, keyHash),
          ),
        );
      if (!existing) continue; // expired and swept in between: claim again
      const age = Date.now() - existing.createdAt.getTime();
      const stale = age >= idempotencyTtlMs || (existing.responseStatus === null && age >= abandonAfterMs);
      if (stale) {
        // Compare-and-delete: only the row we looked at, so two retries cannot both take it over.
        await db
          .delete(idempotencyKeys)
          .where(
            and(
              eq(idempotencyKeys.tenantId, principal.tenantId),
              eq(idempotencyKeys.credential, credential),
              eq(idempotencyKeys.keyHash, keyHash),
              eq(idempotencyKeys.createdAt, existing.createdAt),
            ),
          );
        continue;
      }
      if (existing.fingerprint !== fingerprint) {
        throw new AppError(
          'idempotency_conflict',
          'this Idempotency-Key was used with another request (method, path or body); use a new key',
        );
      }
      if (existing.responseStatus === null || existing.response === null) {
        throw new AppError(
          'idempotency_in_progress',
          'a request with this Idempotency-Key is still being processed; retry shortly',
          { 'retry-after': '1' },
        );
      }
      return replay(reply, existing.responseStatus, decrypt(encryptionKey, existing.response));
    }
    throw new AppError('idempotency_in_progress', 'this Idempotency-Key is contended; retry shortly', {
      'retry-after': '1',
    });
  });

  // Stored before the response leaves, so a retry that follows it always finds it.
  app.addHook('onSend', async (request, reply, payload) => {
    const claim = request.idempotencyClaim;
    if (!claim) return payload;
    request.idempotencyClaim = undefined;
    const where = and(
      eq(idempotencyKeys.tenantId, claim.tenantId),
      eq(idempotencyKeys.credential, claim.credential),
      eq(idempotencyKeys.keyHash, claim.keyHash),
    );
    try {
      const body = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload : undefined;
      // A server-side failure (the database away) is not an answer: the retry runs again.
      if (reply.statusCode >= 500 || body === undefined) {
        await db.delete(idempotencyKeys).where(where);
        return payload;
      }
      const stored: StoredResponse = {
        contentType: String(reply.getHeader('content-type') ?? 'application/json; charset=utf-8'),
        body: Buffer.isBuffer(body) ? body.toString('base64') : body,
        base64: Buffer.isBuffer(body),
      };
      await db
        .update(idempotencyKeys)
        .set({
          responseStatus: reply.statusCode,
          response: encrypt(claim.encryptionKey, stored),
          completedAt: new Date(),
        })
        .where(where);
    } catch (error) {
      // The response still goes out; the key stays claimed until abandoned (then a retry runs).
      request.log.error({ err: error }, 'could not store the response of an idempotent request');
    }
    return payload;
  });

  const sweep = runPeriodically(
    async () => {
      await db
        .delete(idempotencyKeys)
        .where(lt(idempotencyKeys.createdAt, sql`now() - make_interval(secs => ${idempotencyTtlMs / 1000})`));
    },
    { intervalMs: sweepEveryMs, logger: options.logger, what: 'idempotency key sweep' },
  );
  app.addHook('onClose', async () => sweep.stop());
}

interface StoredResponse {
  contentType: string;
  body: string;
  base64: boolean;
}

function replay(reply: FastifyReply, status: number, stored: StoredResponse): FastifyReply {
  return reply
    .code(status)
    .header('content-type', stored.contentType)
    .header('idempotent-replayed', 'true')
    .send(stored.base64 ? Buffer.from(stored.body, 'base64') : stored.body);
}

/** What makes two requests "the same": method, path with query, content type and body. */
function fingerprintOf(request: FastifyRequest): string {
  const hash = createHash('sha256');
  // The media type without parameters: a retried multipart upload has a new boundary.
  const mediaType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  hash.update(`${request.method}\n${request.url}\n${mediaType}\n`);
  const body: unknown = request.body;
  if (Buffer.isBuffer(body)) hash.update(body);
  else if (isJsonValue(body)) hash.update(canonicalJson(body));
  else {
    // A streamed upload (multipart, CSV) is read by its handler, not here: its length stands for it.
    hash.update(`stream:${request.headers['content-length'] ?? ''}`);
  }
  return hash.digest('hex');
}

/** What a JSON parser makes: primitives, arrays and plain objects (not a stream wrapper). */
function isJsonValue(value: unknown): boolean {
  if (value === undefined) return false;
  if (value === null || typeof value !== 'object') return true;
  return Array.isArray(value) || Object.getPrototypeOf(value) === Object.prototype;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The stored responses are keyed by the server secret too, so a guessable client key is not enough. */
function serverSecretOf(jwt: Config['jwt']): string {
  return jwt.algorithm === 'HS256' ? jwt.secret : (jwt.privateKey ?? jwt.publicKey);
}

function encrypt(key: Buffer, value: StoredResponse): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  return [iv, cipher.getAuthTag(), ciphertext].map((part) => part.toString('base64url')).join('.');
}

function decrypt(key: Buffer, sealed: string): StoredResponse {
  const [iv, tag, ciphertext] = sealed.split('.').map((part) => Buffer.from(part, 'base64url'));
  if (!iv || !tag || !ciphertext) throw new Error('malformed stored idempotent response');
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAuthTag(tag);
  const plain = Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
  return JSON.parse(plain) as StoredResponse;
}
