import jwt from 'jsonwebtoken';
import { z } from 'zod';
import type { Config } from '../config/index.js';
import { AppError } from '../shared/index.js';
import type { Principal } from './principal.js';

const claimsSchema = z.discriminatedUnion('typ', [
  z.object({ role: z.enum(['admin', 'proctor']), typ: z.literal('user'), sub: z.uuid(), tid: z.uuid() }),
  z.object({
    role: z.literal('proctor'),
    typ: z.literal('proctor_token'),
    sub: z.string().min(1).max(200),
    tid: z.uuid(),
    exams: z.array(z.uuid()).nullable(),
  }),
  z.object({
    role: z.literal('candidate'),
    typ: z.literal('candidate'),
    sub: z.uuid(),
    tid: z.uuid(),
    sid: z.uuid(),
    exam: z.uuid(),
  }),
]);
type Claims = z.infer<typeof claimsSchema>;

/** Signs and verifies Vigil's JWTs with the algorithm, issuer and audience pinned. */
export class TokenService {
  readonly #config: Config['jwt'];

  constructor(config: Config['jwt']) {
    this.#config = config;
  }

  get accessTokenTtlSeconds(): number {
    return this.#config.accessTokenTtlSeconds;
  }

  sign(principal: Exclude<Principal, { kind: 'apiKey' }>, ttlSeconds: number): string {
    const key = this.#config.algorithm === 'HS256' ? this.#config.secret : this.#config.privateKey;
    if (!key) throw new AppError('not_implemented', 'this node only verifies tokens (no JWT_PRIVATE_KEY)');
    return jwt.sign(toClaims(principal), key, {
      algorithm: this.#config.algorithm,
      issuer: this.#config.issuer,
      audience: this.#config.audience,
      expiresIn: ttlSeconds,
    });
  }

  /** Returns the token's principal, or throws a 401 AppError saying why. */
  verify(token: string): Principal {
    const key = this.#config.algorithm === 'HS256' ? this.#config.secret : this.#config.publicKey;
    let payload: unknown;
    try {
      payload = jwt.verify(token, key, {
        algorithms: [this.#config.algorithm],
        issuer: this.#config.issuer,
        audience: this.#config.audience,
        clockTolerance: 5,
      });
    } catch (error) {
      if (error instanceof jwt.TokenExpiredError) throw new AppError('token_expired', 'token has expired');
      throw new AppError('invalid_token', 'token is not valid');
    }
    // jsonwebtoken checks `exp` only when present: a token without one would never expire.
    if (typeof (payload as { exp?: unknown } | null)?.exp !== 'number')
      throw new AppError('invalid_token', 'token has no expiry (exp)');
    const claims = claimsSchema.safeParse(payload);
    if (!claims.success) throw new AppError('invalid_token', 'token claims are not valid');
    return fromClaims(claims.data);
  }
}

function toClaims(principal: Exclude<Principal, { kind: 'apiKey' }>): Claims {
  switch (principal.kind) {
    case 'user':
      return { role: principal.role, typ: 'user', sub: principal.userId, tid: principal.tenantId };
    case 'proctorToken':
      return {
        role: 'proctor',
        typ: 'proctor_token',
        sub: principal.name,
        tid: principal.tenantId,
        exams: principal.examIds,
      };
    case 'candidate':
      return {
        role: 'candidate',
        typ: 'candidate',
        sub: principal.candidateId,
        tid: principal.tenantId,
        sid: principal.sessionId,
        exam: principal.examId,
      };
  }
}

function fromClaims(claims: Claims): Principal {
  switch (claims.typ) {
    case 'user':
      return { kind: 'user', tenantId: claims.tid, userId: claims.sub, role: claims.role };
    case 'proctor_token':
      return { kind: 'proctorToken', tenantId: claims.tid, name: claims.sub, examIds: claims.exams };
    case 'candidate':
      return {
        kind: 'candidate',
        tenantId: claims.tid,
        candidateId: claims.sub,
        sessionId: claims.sid,
        examId: claims.exam,
      };
  }
}
