import { randomUUID } from 'node:crypto';
import { and, eq, isNull, sql } from 'drizzle-orm';
import { appendAudit } from '../audit/index.js';
import { apiClients, refreshTokens, tenants, users, type Database, type UserRole } from '../db/index.js';
import { AppError } from '../shared/index.js';
import { decoyPasswordHash, hashPassword, verifyPassword } from './passwords.js';
import type { Principal } from './principal.js';
import {
  apiKeyPrefix,
  constantTimeEqualHex,
  generateApiKey,
  generateRefreshToken,
  sha256Hex,
} from './secrets.js';
import type { TokenService } from './tokens.js';

/** Owner of audit entries that no tenant can be named for (see drizzle/0001_system_tenant.sql). */
export const systemTenantId = '00000000-0000-0000-0000-000000000000';

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}

/** The tenant of an API key, or undefined when the key is unknown, malformed or revoked. */
export async function resolveApiKey(
  db: Database,
  key: string,
): Promise<Extract<Principal, { kind: 'apiKey' }> | { unknownTenant: string | undefined }> {
  const prefix = apiKeyPrefix(key);
  if (!prefix) return { unknownTenant: undefined };
  const [client] = await db.select().from(apiClients).where(eq(apiClients.keyPrefix, prefix));
  if (!client || client.revokedAt || !constantTimeEqualHex(client.keyHash, sha256Hex(key))) {
    return { unknownTenant: client?.tenantId };
  }
  return { kind: 'apiKey', tenantId: client.tenantId, clientId: client.id, name: client.name };
}

/** Creates an API client (and a tenant for it unless one is named). The key is returned once. */
export async function createApiClient(
  db: Database,
  input: { name: string; tenantId?: string | undefined; actor: string },
): Promise<{ key: string; clientId: string; tenantId: string; prefix: string }> {
  return db.transaction(async (tx) => {
    const tenantId = input.tenantId ?? (await createTenant(tx, input.name, input.actor));
    await assertTenantExists(tx, tenantId);
    const { key, prefix, hash } = generateApiKey();
    const [client] = await tx
      .insert(apiClients)
      .values({ tenantId, name: input.name, keyPrefix: prefix, keyHash: hash })
      .returning({ id: apiClients.id });
    if (!client) throw new Error('insert returned no row');
    await appendAudit(tx, {
      tenantId,
      actor: input.actor,
      action: 'api_client.create',
      target: client.id,
      details: { name: input.name, prefix },
    });
    return { key, clientId: client.id, tenantId, prefix };
  });
}

export async function createTenant(tx: Database, name: string, actor: string): Promise<string> {
  const [tenant] = await tx.insert(tenants).values({ name }).returning({ id: tenants.id });
  if (!tenant) throw new Error('insert returned no row');
  await appendAudit(tx, {
    tenantId: tenant.id,
    actor,
    action: 'tenant.create',
    target: tenant.id,
    details: { name },
  });
  return tenant.id;
}

async function assertTenantExists(tx: Database, tenantId: string): Promise<void> {
  const [tenant] = await tx.select({ id: tenants.id }).from(tenants).where(eq(tenants.id, tenantId));
  if (!tenant || tenant.id === systemTenantId)
    throw new AppError('not_found', `tenant ${tenantId} not found`);
}

/**
 * Creates a dashboard user. Without a tenant: the only tenant there is, or a new one when
 * there is none yet (a fresh install); with several tenants the caller must choose.
 */
export async function createUser(
  db: Database,
  input: { email: string; password: string; role: UserRole; tenantId?: string | undefined; actor: string },
): Promise<{ userId: string; tenantId: string }> {
  const email = input.email.trim().toLowerCase();
  const passwordHash = await hashPassword(input.password);
  return db.transaction(async (tx) => {
    const tenantId = input.tenantId ?? (await soleTenant(tx, input.actor));
    await assertTenantExists(tx, tenantId);
    const [existing] = await tx.select({ id: users.id }).from(users).where(eq(users.email, email));
    if (existing) throw new AppError('conflict', `a user with e-mail ${email} exists`);
    const [user] = await tx
      .insert(users)
      .values({ tenantId, email, role: input.role, passwordHash })
      .returning({ id: users.id });
    if (!user) throw new Error('insert returned no row');
    await appendAudit(tx, {
      tenantId,
      actor: input.actor,
      action: 'user.create',
      target: user.id,
      details: { email, role: input.role },
    });
    return { userId: user.id, tenantId };
  });
}

async function soleTenant(tx: Database, actor: string): Promise<string> {
  const rows = await tx
    .select({ id: tenants.id })
    .from(tenants)
    .where(sql`${tenants.id} <> ${systemTenantId}`)
    .limit(2);
  if (rows.length === 0) return createTenant(tx, 'default', actor);
  if (rows.length > 1) throw new AppError('invalid_input', 'several tenants exist: name one with --tenant');
  return rows[0]!.id;
}

/** Checks e-mail and password; returns the user or undefined (same timing either way). */
export async function checkPassword(
  db: Database,
  emailInput: string,
  password: string,
): Promise<{ user: typeof users.$inferSelect | undefined; ok: boolean }> {
  const email = emailInput.trim().toLowerCase();
  const [user] = await db.select().from(users).where(eq(users.email, email));
  const ok = await verifyPassword(password, user?.passwordHash ?? (await decoyPasswordHash));
  return { user, ok: ok && !!user && !user.disabledAt };
}

export async function issueTokenPair(
  db: Database,
  tokens: TokenService,
  user: { id: string; tenantId: string; role: UserRole },
  refreshTtlSeconds: number,
  familyId: string = randomUUID(),
): Promise<TokenPair> {
  const { token, hash } = generateRefreshToken();
  await db.insert(refreshTokens).values({
    tenantId: user.tenantId,
    userId: user.id,
    familyId,
    tokenHash: hash,
    expiresAt: new Date(Date.now() + refreshTtlSeconds * 1000),
  });
  const accessToken = tokens.sign(
    { kind: 'user', tenantId: user.tenantId, userId: user.id, role: user.role },
    tokens.accessTokenTtlSeconds,
  );
  return { accessToken, refreshToken: token, expiresIn: tokens.accessTokenTtlSeconds };
}

export type RefreshOutcome =
  | { ok: true; pair: TokenPair; tenantId: string; userId: string }
  | { ok: false; reason: 'unknown' | 'expired' | 'reused' | 'revoked'; tenantId?: string; userId?: string };

/**
 * Rotates a refresh token: the presented token is used up and a new one issued in the same
 * family. Presenting a token that was already used revokes the whole family.
 */
export async function rotateRefreshToken(
  db: Database,
  tokens: TokenService,
  presented: string,
  refreshTtlSeconds: number,
): Promise<RefreshOutcome> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .select()
      .from(refreshTokens)
      .where(eq(refreshTokens.tokenHash, sha256Hex(presented)))
      .for('update');
    if (!row) return { ok: false, reason: 'unknown' };
    const who = { tenantId: row.tenantId, userId: row.userId };
    if (row.revokedAt) return { ok: false, reason: 'revoked', ...who };
    if (row.usedAt) {
      await tx
        .update(refreshTokens)
        .set({ revokedAt: new Date() })
        .where(and(eq(refreshTokens.familyId, row.familyId), isNull(refreshTokens.revokedAt)));
      return { ok: false, reason: 'reused', ...who };
    }
    if (row.expiresAt.getTime() <= Date.now()) return { ok: false, reason: 'expired', ...who };
    const [user] = await tx.select().from(users).where(eq(users.id, row.userId));
    if (!user || user.disabledAt) return { ok: false, reason: 'revoked', ...who };
    await tx.update(refreshTokens).set({ usedAt: new Date() }).where(eq(refreshTokens.id, row.id));
    const pair = await issueTokenPair(tx, tokens, user, refreshTtlSeconds, row.familyId);
    return { ok: true, pair, ...who };
  });
}

/**
 * Signs a user out: revokes the presented refresh token's whole family (every token rotated
 * from the same login). Unknown tokens are ignored, so the call reveals nothing.
 */
export async function revokeRefreshToken(
  db: Database,
  presented: string,
): Promise<{ tenantId: string; userId: string } | undefined> {
  const [row] = await db
    .select()
    .from(refreshTokens)
    .where(eq(refreshTokens.tokenHash, sha256Hex(presented)));
  if (!row) return undefined;
  await db
    .update(refreshTokens)
    .set({ revokedAt: new Date() })
    .where(and(eq(refreshTokens.familyId, row.familyId), isNull(refreshTokens.revokedAt)));
  return { tenantId: row.tenantId, userId: row.userId };
}
