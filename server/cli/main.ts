import { parseArgs } from 'node:util';
import type { z } from 'zod';
import { apiKeyCreate, tenantPlan, userCreate } from '../admin/index.js';
import { ConfigError } from '../config/index.js';
import { AppError } from '../shared/index.js';
import { runCommand, serve } from './commands.js';

const usage = `usage: vigil <command>

  serve                              run the service (applies migrations first)
  migrate                            apply database migrations and exit
  apikey create --name NAME [--tenant ID]
                                     create an API client; prints its key once
  user create --email E --password P --role proctor|admin [--tenant ID]
                                     create a dashboard user
  tenant plan --tenant ID [--plan free|pro|enterprise] [--limits JSON]
                                     set a tenant's plan and/or its own limits
  bench <name> [options]             run a benchmark (see README, "Benchmarks")
  doctor [--json]                    check what this machine gives Vigil; exits 1 on a failure
  bundle verify FILE                 check an appeal bundle's hashes and audit chain offline

Configuration comes from the environment; see README.md.`;

async function main(argv: string[]): Promise<number> {
  // Benchmarks parse their own options (e.g. `--json`), so they get the raw arguments.
  if (argv[0] === 'bench') {
    const { runBenchmark } = await import('../bench/index.js');
    return runBenchmark(argv[1], argv.slice(2));
  }
  if (argv[0] === 'bundle') {
    const { runBundleCommand } = await import('../reports/index.js');
    return runBundleCommand(argv.slice(1));
  }
  if (argv[0] === 'doctor') {
    const { runDoctor } = await import('../doctor/index.js');
    return runDoctor(argv.slice(1));
  }
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      tenant: { type: 'string' },
      email: { type: 'string' },
      password: { type: 'string' },
      role: { type: 'string' },
      plan: { type: 'string' },
      limits: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, subcommand] = positionals;
  if (values.help || !command) {
    console.log(usage);
    return command || values.help ? 0 : 2;
  }
  switch (command) {
    case 'serve':
      await serve();
      return -1; // keeps running
    case 'migrate':
      await runCommand({ command: 'migrate' });
      return 0;
    case 'apikey':
      if (subcommand !== 'create') break;
      await runCommand(parseOptions(apiKeyCreate, { ...values, command: 'apikey.create' }));
      return 0;
    case 'user':
      if (subcommand !== 'create') break;
      await runCommand(parseOptions(userCreate, { ...values, command: 'user.create' }));
      return 0;
    case 'tenant':
      if (subcommand !== 'plan') break;
      await runCommand(parseOptions(tenantPlan, { ...values, command: 'tenant.plan' }));
      return 0;
  }
  console.error(`vigil: unknown command "${positionals.join(' ')}"\n\n${usage}`);
  return 2;
}

function parseOptions<T>(schema: z.ZodType<T>, values: Record<string, unknown>): T {
  const parsed = schema.safeParse(values);
  if (!parsed.success) throw new UsageError(parsed.error.issues.map((issue) => issue.message).join('\n'));
  return parsed.data;
}

class UsageError extends Error {}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    if (error instanceof ConfigError || error instanceof UsageError || error instanceof AppError) {
      console.error(`vigil: ${error.message}`);
    } else if (
      error instanceof TypeError &&
      'code' in error &&
      String(error.code).startsWith('ERR_PARSE_ARGS')
    ) {
      console.error(`vigil: ${error.message}\n\n${usage}`);
    } else {
      console.error('vigil: failed:', error);
    }
    process.exit(1);
  },
);
