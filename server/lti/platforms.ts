import { and, desc, eq } from 'drizzle-orm';
import { z } from 'zod';
import { appendAudit } from '../audit/index.js';
import { actorOf, type Principal } from '../auth/index.js';
import { ltiPlatforms, type Database } from '../db/index.js';
import { AppError, notFound } from '../shared/index.js';
import { assertPublicTarget, PrivateTargetRefused } from './outbound.js';

type PlatformRow = typeof ltiPlatforms.$inferSelect;

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2000);
const identifier = z
  .string()
  .min(1)
  .max(500)
  .refine((value) => !/\p{Cc}/u.test(value), 'must not contain control characters');

export const registerPlatformBody = z.strictObject({
  /** The platform's `iss`, compared exactly (case-sensitive) with the id_token's. */
  issuer: identifier,
  clientId: identifier,
  deploymentIds: z.array(identifier).min(1).max(100),
  authLoginUrl: httpUrl,
  jwksUrl: httpUrl,
  accessTokenUrl: httpUrl.optional(),
});
export type RegisterPlatformInput = z.infer<typeof registerPlatformBody>;

export interface ToolUrls {
  loginUrl: string;
  launchUrl: string;
  jwksUrl: string;
}

export interface PlatformView extends RegisterPlatformInput {
  id: string;
  createdAt: string;
  tool: ToolUrls;
}

export function toolUrls(baseUrl: string): ToolUrls {
  return {
    loginUrl: `${baseUrl}/lti/login`,
    launchUrl: `${baseUrl}/lti/launch`,
    jwksUrl: `${baseUrl}/lti/jwks`,
  };
}

function platformView(row: PlatformRow, baseUrl: string): PlatformView {
  return {
    id: row.id,
    issuer: row.issuer,
    clientId: row.clientId,
    deploymentIds: row.deploymentIds,
    authLoginUrl: row.authLoginUrl,
    jwksUrl: row.jwksUrl,
    ...(row.accessTokenUrl ? { accessTokenUrl: row.accessTokenUrl } : {}),
    createdAt: row.createdAt.toISOString(),
    tool: toolUrls(baseUrl),
  };
}

export async function registerPlatform(
  db: Database,
  principal: Principal,
  input: RegisterPlatformInput,
  baseUrl: string,
  allowPrivateTargets: boolean,
): Promise<PlatformView> {
  // Vigil fetches these two itself (the login URL is only where browsers are sent).
  for (const field of ['jwksUrl', 'accessTokenUrl'] as const) {
    const url = input[field];
    if (url === undefined) continue;
    try {
      await assertPublicTarget(url, allowPrivateTargets);
    } catch (error) {
      if (error instanceof PrivateTargetRefused)
        throw new AppError('unprocessable', `${field}: ${error.message}`);
      throw error;
    }
  }
  const row = await db.transaction(async (tx) => {
    const [inserted] = await tx
      .insert(ltiPlatforms)
      .values({
        tenantId: principal.tenantId,
        issuer: input.issuer,
        clientId: input.clientId,
        deploymentIds: [...new Set(input.deploymentIds)],
        authLoginUrl: input.authLoginUrl,
        jwksUrl: input.jwksUrl,
        accessTokenUrl: input.accessTokenUrl ?? null,
      })
      .onConflictDoNothing()
      .returning();
    // Launches name the platform by issuer and client id only, so the pair is unique across tenants.
    if (!inserted)
      throw new AppError('conflict', 'a platform with this issuer and client id is already registered');
    await appendAudit(tx, {
      tenantId: principal.tenantId,
      actor: actorOf(principal),
      action: 'lti.platform.register',
      target: inserted.id,
      details: { issuer: input.issuer, clientId: input.clientId, deploymentIds: inserted.deploymentIds },
    });
    return inserted;
  });
  return platformView(row, baseUrl);
}

export async function listPlatforms(
  db: Database,
  principal: Principal,
  baseUrl: string,
): Promise<PlatformView[]> {
  const rows = await db
    .select()
    .from(ltiPlatforms)
    .where(eq(ltiPlatforms.tenantId, principal.tenantId))
    .orderBy(desc(ltiPlatforms.createdAt))
    .limit(1000);
  return rows.map((row) => platformView(row, baseUrl));
}

export async function deletePlatform(db: Database, principal: Principal, platformId: string): Promise<void> {
  await db.transaction(async (tx) => {
    const [deleted] = await tx
      .delete(ltiPlatforms)
      .where(and(eq(ltiPlatforms.id, platformId), eq(ltiPlatforms.tenantId, principal.tenantId)))
      .returning({ id: ltiPlatforms.id, issuer: ltiPlatforms.issuer });
    if (!deleted) throw notFound('platform');
    await appendAudit(tx, {
      tenantId: principal.tenantId,
      actor: actorOf(principal),
      action: 'lti.platform.delete',
      target: deleted.id,
      details: { issuer: deleted.issuer },
    });
  });
}

/** The platform a login or launch names; with no client id the issuer must name exactly one. */
export async function findPlatform(
  db: Database,
  issuer: string,
  clientId: string | undefined,
): Promise<PlatformRow | 'ambiguous' | undefined> {
  const rows = await db
    .select()
    .from(ltiPlatforms)
    .where(
      clientId === undefined
        ? eq(ltiPlatforms.issuer, issuer)
        : and(eq(ltiPlatforms.issuer, issuer), eq(ltiPlatforms.clientId, clientId)),
    )
    .limit(2);
  if (rows.length > 1) return 'ambiguous';
  return rows[0];
}

export async function loadPlatformById(db: Database, platformId: string): Promise<PlatformRow | undefined> {
  const [row] = await db.select().from(ltiPlatforms).where(eq(ltiPlatforms.id, platformId));
  return row;
}
