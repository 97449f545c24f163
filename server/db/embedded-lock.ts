import fs from 'node:fs';
import { AppError, privateFileMode } from '../shared/index.js';

/** Lock files this process holds now (a second open in-process is refused like any other). */
const heldHere = new Set<string>();

/**
 * PGlite is an in-process database: two processes opening one directory would each keep
 * their own copy and overwrite each other's files. A pid file keeps it to one process; a lock
 * left by a process that is gone is taken over. So is one whose PID came back: this very
 * process (a container's PID 1 restarted after `kill -9`), or a live process that started at
 * another time than the holder did (the kernel reused its PID).
 */
export function lockEmbeddedDatabase(lockFile: string): () => void {
  if (heldHere.has(lockFile)) throw inUse(process.pid);
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      fs.writeFileSync(lockFile, `${process.pid}\n${processStartTime(process.pid) ?? ''}\n`, {
        flag: 'wx',
        mode: privateFileMode,
      });
      heldHere.add(lockFile);
      return () => {
        heldHere.delete(lockFile);
        fs.rmSync(lockFile, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const [pidLine = '', startLine = ''] = fs.readFileSync(lockFile, 'utf8').split('\n');
      const holder = Number(pidLine);
      if (holdsLock(holder, startLine.trim())) throw inUse(holder);
      fs.rmSync(lockFile, { force: true });
    }
  }
  throw new AppError('unavailable', `cannot lock the embedded database (${lockFile})`);
}

function inUse(holder: number): AppError {
  return new AppError(
    'unavailable',
    `the embedded database is in use by process ${holder} (vigil serve?). Stop it first, ` +
      'or set DATABASE_URL to a PostgreSQL server, which many processes can share.',
  );
}

/** Whether the process recorded in a lock file still holds it. */
function holdsLock(pid: number, recordedStart: string): boolean {
  // Not this process: a lock it holds is in `heldHere`, so one naming its PID is a predecessor's.
  if (pid === process.pid) return false;
  if (!isAlive(pid)) return false;
  const start = processStartTime(pid);
  // Alive with that PID: the holder only if it is the same process (same start time). Without
  // a recorded or readable start time (an old lock file, no /proc), assume it is.
  if (recordedStart && start) return recordedStart === start;
  return true;
}

/** The process's start time (clock ticks since boot, /proc/PID/stat field 22), where /proc has it. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
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
