import { randomBytes } from 'node:crypto';
import { and, asc, desc, eq, gt, isNull, or } from 'drizzle-orm';
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import { appendAudit } from '../audit/index.js';
import { AppError } from '../shared/index.js';
import { ltiToolKeys, type Database } from '../db/index.js';
import type { KeySealer } from './sealing.js';

/** A rotated key stays in /lti/jwks this long: platforms cache JWKS and tokens signed before it live on. */
export const retiredKeyGraceMs = 7 * 24 * 3600 * 1000;

export interface SigningKey {
  kid: string;
  key: CryptoKey;
}

/** The tool's RS256 keys, one active key per tenant, created on first use. */
export class ToolKeys {
  readonly #db: Database;
  readonly #sealer: KeySealer;
  /** Private keys already opened and imported, by kid. */
  readonly #opened = new Map<string, CryptoKey>();

  constructor(db: Database, sealer: KeySealer) {
    this.#db = db;
    this.#sealer = sealer;
  }

  /**
   * The tenant's active signing key, made now if it has none. A key this server cannot open (it
   * was sealed under another JWT secret) is an error, never silently replaced: a misconfigured
   * node must not rotate every tenant's key. `POST /lti/keys/rotate` replaces it on purpose.
   */
  async signingKey(tenantId: string): Promise<SigningKey> {
    const active = await this.#active(tenantId);
    if (!active) return this.#create(tenantId, 'system:lti', undefined);
    const key = await this.#open(active);
    if (!key) {
      throw new AppError(
        'unavailable',
        "this server cannot open the tenant's LTI signing key (was JWT_SECRET changed?); replace it with POST /api/v1/lti/keys/rotate",
      );
    }
    return { kid: active.kid, key };
  }

  /** Whether this server holds the secret that opens the tenant's active key. */
  async canSign(tenantId: string): Promise<boolean> {
    const active = await this.#active(tenantId);
    return active !== undefined && (await this.#open(active)) !== undefined;
  }

  async #active(tenantId: string) {
    const [active] = await this.#db
      .select()
      .from(ltiToolKeys)
      .where(and(eq(ltiToolKeys.tenantId, tenantId), isNull(ltiToolKeys.retiredAt)))
      .orderBy(desc(ltiToolKeys.createdAt))
      .limit(1);
    return active;
  }

  /** Retires the active key (it stays published for the grace period) and makes a new one. */
  async rotate(tenantId: string, actor: string): Promise<{ kid: string; previousKid: string | null }> {
    const [active] = await this.#db
      .select({ kid: ltiToolKeys.kid })
      .from(ltiToolKeys)
      .where(and(eq(ltiToolKeys.tenantId, tenantId), isNull(ltiToolKeys.retiredAt)))
      .orderBy(desc(ltiToolKeys.createdAt))
      .limit(1);
    const created = await this.#create(tenantId, actor, active?.kid);
    return { kid: created.kid, previousKid: active?.kid ?? null };
  }

  /** Every tenant's public keys that are active or retired within the grace period. */
  async jwks(): Promise<{ keys: JWK[] }> {
    const since = new Date(Date.now() - retiredKeyGraceMs);
    const rows = await this.#db
      .select({ publicJwk: ltiToolKeys.publicJwk })
      .from(ltiToolKeys)
      .where(or(isNull(ltiToolKeys.retiredAt), gt(ltiToolKeys.retiredAt, since)))
      .orderBy(asc(ltiToolKeys.createdAt))
      .limit(10_000);
    return { keys: rows.map((row) => row.publicJwk as JWK) };
  }

  async #create(tenantId: string, actor: string, retireKid: string | undefined): Promise<SigningKey> {
    const { publicKey, privateKey } = await generateKeyPair('RS256', {
      extractable: true,
      modulusLength: 2048,
    });
    const kid = randomBytes(16).toString('base64url');
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
    const sealed = this.#sealer.seal(JSON.stringify(await exportJWK(privateKey)), sealContext(kid, tenantId));
    await this.#db.transaction(async (tx) => {
      // Every other active key retires, so two first uses racing leave one active key (both
      // stay published, so what either signed still verifies).
      await tx
        .update(ltiToolKeys)
        .set({ retiredAt: new Date() })
        .where(and(eq(ltiToolKeys.tenantId, tenantId), isNull(ltiToolKeys.retiredAt)));
      await tx.insert(ltiToolKeys).values({ kid, tenantId, publicJwk, sealedPrivateJwk: sealed });
      await appendAudit(tx, {
        tenantId,
        actor,
        action: retireKid ? 'lti.key.rotate' : 'lti.key.create',
        target: kid,
        details: retireKid ? { retiredKid: retireKid } : {},
      });
    });
    this.#opened.set(kid, privateKey);
    return { kid, key: privateKey };
  }

  async #open(row: typeof ltiToolKeys.$inferSelect): Promise<CryptoKey | undefined> {
    const cached = this.#opened.get(row.kid);
    if (cached) return cached;
    const plain = this.#sealer.open(row.sealedPrivateJwk, sealContext(row.kid, row.tenantId));
    if (!plain) return undefined;
    const key = await importJWK(JSON.parse(plain) as JWK, 'RS256');
    if (key instanceof Uint8Array) return undefined;
    this.#opened.set(row.kid, key);
    return key;
  }
}

function sealContext(kid: string, tenantId: string): string {
  return `${tenantId}/${kid}`;
}
