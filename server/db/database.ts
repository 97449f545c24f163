import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { packageRoot, privateDirMode, tightenTree } from '../shared/index.js';
import { lockEmbeddedDatabase } from './embedded-lock.js';
import * as schema from './schema/index.js';

export type Schema = typeof schema;
/** A database or an open transaction: services accept either. */
export type Database = PgDatabase<PgQueryResultHKT, Schema>;

export interface DatabaseHandle {
  db: Database;
  /** `pglite` (embedded, single process) or `postgres`. */
  kind: 'pglite' | 'postgres';
  /** Applies pending migrations; safe to run from several processes at once on PostgreSQL. */
  migrate(): Promise<void>;
  /** True when the database answers and every migration in drizzle/ is applied. */
  isReady(): Promise<boolean>;
  close(): Promise<void>;
}

export function migrationsFolder(): string {
  return path.join(packageRoot(), 'drizzle');
}

function migrationCount(): number {
  const journal = JSON.parse(
    fs.readFileSync(path.join(migrationsFolder(), 'meta', '_journal.json'), 'utf8'),
  ) as {
    entries: unknown[];
  };
  return journal.entries.length;
}

/**
 * Opens PostgreSQL when a URL is given, else the embedded PGlite under `dataDir/pg`.
 * Driver modules are imported lazily so the embedded mode does not load `postgres` and back.
 */
export async function openDatabase(options: {
  databaseUrl?: string | undefined;
  dataDir: string;
  /** PostgreSQL: seconds to connect, and the longest a statement may run (default 10). */
  timeoutSeconds?: number | undefined;
}): Promise<DatabaseHandle> {
  return options.databaseUrl
    ? openPostgres(options.databaseUrl, options.timeoutSeconds ?? 10)
    : openPglite(path.join(options.dataDir, 'pg'));
}

async function openPglite(directory: string): Promise<DatabaseHandle> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { drizzle } = await import('drizzle-orm/pglite');
  const { migrate } = await import('drizzle-orm/pglite/migrator');
  fs.mkdirSync(directory, { recursive: true, mode: privateDirMode });
  const unlock = lockEmbeddedDatabase(`${directory}.lock`);
  let client;
  try {
    client = await PGlite.create(directory);
  } catch (error) {
    unlock();
    throw error;
  }
  // PGlite creates its files 0666 whatever the umask: owner-only, now and again on close (the
  // directory itself is 0700, so files it adds meanwhile are out of other users' reach).
  tightenTree(directory);
  const db = drizzle(client, { schema });
  return {
    db: db as unknown as Database,
    kind: 'pglite',
    migrate: () => migrate(db, { migrationsFolder: migrationsFolder() }),
    isReady: () => appliedAll(db),
    async close() {
      if (client.closed) return;
      await client.close();
      tightenTree(directory);
      unlock();
    },
  };
}

async function openPostgres(url: string, timeoutSeconds: number): Promise<DatabaseHandle> {
  const { default: postgres } = await import('postgres');
  const { drizzle } = await import('drizzle-orm/postgres-js');
  const { migrate } = await import('drizzle-orm/postgres-js/migrator');
  // Bounded: a server that is down fails the connect in `timeoutSeconds`, a statement (or a
  // lock wait) longer than that is cancelled by the server.
  const client = postgres(url, {
    max: 10,
    onnotice: () => undefined,
    connect_timeout: timeoutSeconds,
    connection: { statement_timeout: timeoutSeconds * 1000 },
  });
  const db = drizzle(client, { schema });
  return {
    db: db as unknown as Database,
    kind: 'postgres',
    async migrate() {
      // One connection, holding an advisory lock, so nodes starting together migrate once.
      const single = postgres(url, { max: 1, onnotice: () => undefined, connect_timeout: 10 });
      try {
        await single`select pg_advisory_lock(hashtext('vigil:migrate'))`;
        await migrate(drizzle(single), { migrationsFolder: migrationsFolder() });
      } finally {
        await single.end();
      }
    },
    isReady: () => appliedAll(db),
    close: () => client.end({ timeout: 5 }),
  };
}

async function appliedAll(db: Database): Promise<boolean> {
  try {
    const result: unknown = await db.execute(
      sql`select count(*)::int as count from drizzle.__drizzle_migrations`,
    );
    // postgres-js returns the rows, PGlite a `{ rows }` result.
    const rows = (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as {
      count: number;
    }[];
    return (rows[0]?.count ?? 0) >= migrationCount();
  } catch {
    return false;
  }
}
