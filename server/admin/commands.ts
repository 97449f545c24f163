/**
 * The administration commands the CLI offers (`apikey create`, `user create`, `migrate`), as data:
 * one schema that both the CLI's options and the control socket's requests are checked against,
 * and one function that carries a command out against a database.
 */
import { z } from 'zod';
import { createApiClient, createUser } from '../auth/index.js';
import type { Database } from '../db/index.js';
import {
  customLimitsSchema,
  limitNames,
  planIds,
  setTenantPlan,
  type EffectiveLimits,
} from '../usage/index.js';

export const apiKeyCreate = z.object({
  command: z.literal('apikey.create'),
  name: z.string().trim().min(1, '--name is required').max(200, '--name is at most 200 characters'),
  tenant: z.uuid('--tenant must be a tenant id (UUID)').optional(),
});

export const userCreate = z.object({
  command: z.literal('user.create'),
  email: z.email('--email must be an e-mail address'),
  password: z.string().min(8, '--password must be at least 8 characters').max(1024),
  role: z.enum(['admin', 'proctor'], { error: '--role must be proctor or admin' }),
  tenant: z.uuid('--tenant must be a tenant id (UUID)').optional(),
});

export const migrateCommand = z.object({ command: z.literal('migrate') });

export const tenantPlan = z
  .object({
    command: z.literal('tenant.plan'),
    tenant: z.uuid('--tenant must be a tenant id (UUID)'),
    plan: z.enum(planIds, { error: '--plan must be free, pro or enterprise' }).optional(),
    /**
     * `--limits '{"maxCandidates":200}'`: the tenant's own limits over its plan's (null: unlimited).
     * A JSON string from the command line; already an object when it comes over the control socket.
     */
    limits: z
      .unknown()
      .transform((value, ctx) => {
        const parsed = customLimitsSchema.safeParse(
          typeof value === 'string' ? parseJsonOption(value) : value,
        );
        if (parsed.success) return parsed.data;
        const problems = parsed.error.issues.map((issue) =>
          [issue.path.join('.'), issue.message].filter(Boolean).join(': '),
        );
        ctx.addIssue({
          code: 'custom',
          message: `--limits must be a JSON object of ${limitNames.join(', ')} (numbers, or null for unlimited): ${problems.join('; ')}`,
        });
        return z.NEVER;
      })
      .optional(),
  })
  .refine((value) => value.plan !== undefined || value.limits !== undefined, {
    message: 'give --plan free|pro|enterprise and/or --limits JSON',
  });

function parseJsonOption(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text; // the schema then refuses it
  }
}

export const adminCommand = z.discriminatedUnion('command', [
  apiKeyCreate,
  userCreate,
  migrateCommand,
  tenantPlan,
]);
export type AdminCommand = z.infer<typeof adminCommand>;

export type AdminResult =
  | { command: 'apikey.create'; key: string; tenantId: string; clientId: string; prefix: string }
  | { command: 'user.create'; userId: string; tenantId: string; role: 'admin' | 'proctor' }
  | { command: 'migrate'; database: string }
  | { command: 'tenant.plan'; tenantId: string; plan: string; limits: EffectiveLimits };

/** Carries out one command. Migrations are the caller's to apply before (it owns the database). */
export async function runAdminCommand(
  db: Database,
  databaseKind: string,
  command: AdminCommand,
): Promise<AdminResult> {
  switch (command.command) {
    case 'apikey.create': {
      const created = await createApiClient(db, {
        name: command.name,
        tenantId: command.tenant,
        actor: 'cli',
      });
      return { command: command.command, ...created };
    }
    case 'user.create': {
      const created = await createUser(db, {
        email: command.email,
        password: command.password,
        role: command.role,
        tenantId: command.tenant,
        actor: 'cli',
      });
      return { command: command.command, ...created, role: command.role };
    }
    case 'migrate':
      return { command: command.command, database: databaseKind };
    case 'tenant.plan': {
      const set = await setTenantPlan(db, {
        tenantId: command.tenant,
        plan: command.plan,
        limits: command.limits,
      });
      return { command: command.command, tenantId: command.tenant, plan: set.plan, limits: set.limits };
    }
  }
}
