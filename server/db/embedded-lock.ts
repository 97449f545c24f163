import fs from 'node:fs';
import { AppError } from '../shared/index.js';

/**
 * PGlite is an in-process database: two processes opening one directory would each keep
 * their own copy and overwrite each other's files. A pid file keeps it to one process; a
 * lock left by a process that is gone is taken over.
 */
export function lockEmbeddedDatabase(lockFile: string): () => void {
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      fs.writeFileSync(lockFile, String(process.pid), { flag: 'wx' });
      return () => fs.rmSync(lockFile, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(fs.readFileSync(lockFile, 'utf8'));
      if (holder === process.pid || isAlive(holder)) {
        throw new AppError(
          'unavailable',
          `the embedded database is in use by process ${holder} (vigil serve?). Stop it first, ` +
            'or set DATABASE_URL to a PostgreSQL server, which many processes can share.',
        );
      }
      fs.rmSync(lockFile, { force: true });
    }
  }
  throw new AppError('unavailable', `cannot lock the embedded database (${lockFile})`);
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
