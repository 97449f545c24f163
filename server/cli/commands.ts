import { buildContext, createApp } from '../app/index.js';
import { createApiClient, createUser } from '../auth/index.js';
import { loadConfig, type Config } from '../config/index.js';
import { openDatabase } from '../db/index.js';

/** `vigil serve`: migrate, then serve HTTP until SIGINT/SIGTERM. */
export async function serve(): Promise<void> {
  const config = loadConfig();
  const context = await buildContext(config);
  const app = await createApp(context);
  const url = await app.listen();
  context.logger.info(
    {
      url,
      publicUrl: config.publicUrl,
      database: context.database.kind,
      redis: config.redisUrl ? 'on' : 'in-process',
    },
    'vigil is serving',
  );
  const stop = (signal: string) => {
    context.logger.info({ signal }, 'shutting down');
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        context.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** `vigil migrate`: apply pending migrations and exit. */
export async function migrate(): Promise<void> {
  const config = loadConfig();
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    await database.migrate();
    console.log(`migrations applied (${database.kind})`);
  } finally {
    await database.close();
  }
}

async function withDatabase<T>(
  work: (config: Config, db: Awaited<ReturnType<typeof openDatabase>>) => Promise<T>,
) {
  const config = loadConfig();
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    await database.migrate();
    return await work(config, database);
  } finally {
    await database.close();
  }
}

/** `vigil apikey create --name NAME [--tenant ID]`: prints the key once. */
export async function createApiKey(options: { name: string; tenant?: string | undefined }): Promise<void> {
  await withDatabase(async (_config, database) => {
    const created = await createApiClient(database.db, {
      name: options.name,
      tenantId: options.tenant,
      actor: 'cli',
    });
    console.log(`API key (shown once, store it now): ${created.key}`);
    console.log(`tenant: ${created.tenantId}`);
    console.log(`client: ${created.clientId} (prefix ${created.prefix})`);
  });
}

/** `vigil user create --email E --password P --role proctor|admin [--tenant ID]`. */
export async function createDashboardUser(options: {
  email: string;
  password: string;
  role: 'admin' | 'proctor';
  tenant?: string | undefined;
}): Promise<void> {
  await withDatabase(async (_config, database) => {
    const created = await createUser(database.db, {
      email: options.email,
      password: options.password,
      role: options.role,
      tenantId: options.tenant,
      actor: 'cli',
    });
    console.log(`user ${created.userId} (${options.role}) created in tenant ${created.tenantId}`);
  });
}
