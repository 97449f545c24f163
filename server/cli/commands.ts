import { buildContext, createApp } from '../app/index.js';
import { runAdminCommand, sendToRunningServer, type AdminCommand, type AdminResult } from '../admin/index.js';
import { loadConfig } from '../config/index.js';
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

/**
 * Runs an administration command and prints its outcome. A server running on the embedded
 * database holds it, so the command goes to that server; otherwise (PostgreSQL, or no server)
 * the CLI opens the database itself, applying migrations first.
 */
export async function runCommand(command: AdminCommand): Promise<void> {
  const config = loadConfig();
  const viaServer = config.databaseUrl ? undefined : await sendToRunningServer(config.dataDir, command);
  print(viaServer ?? (await runLocally(config, command)), viaServer !== undefined);
}

async function runLocally(
  config: ReturnType<typeof loadConfig>,
  command: AdminCommand,
): Promise<AdminResult> {
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    await database.migrate();
    return await runAdminCommand(database.db, database.kind, command);
  } finally {
    await database.close();
  }
}

function print(result: AdminResult, viaServer: boolean): void {
  switch (result.command) {
    case 'apikey.create':
      console.log(`API key (shown once, store it now): ${result.key}`);
      console.log(`tenant: ${result.tenantId}`);
      console.log(`client: ${result.clientId} (prefix ${result.prefix})`);
      break;
    case 'user.create':
      console.log(`user ${result.userId} (${result.role}) created in tenant ${result.tenantId}`);
      break;
    case 'migrate':
      console.log(`migrations applied (${result.database}${viaServer ? ', by the running server' : ''})`);
      break;
    case 'tenant.plan':
      console.log(`tenant ${result.tenantId}: plan ${result.plan}, limits ${JSON.stringify(result.limits)}`);
      break;
  }
}
