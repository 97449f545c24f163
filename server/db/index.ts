export { openDatabase, migrationsFolder } from './database.js';
export type { Database, DatabaseHandle, Schema } from './database.js';
export * from './schema/index.js';
