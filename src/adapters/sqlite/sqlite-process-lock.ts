import Database from 'better-sqlite3';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RapportError } from '../../domain/errors';
import type { ProcessLock } from '../shared/process-lock';

/**
 * Takes the data directory's processing lock: one process at a time may run the event processor (a server,
 * a replay) on an embedded store, or both would apply the same events. The lock is SQLite's own file lock on
 * `<dataDir>/rapport.lock` (exclusive locking mode, held until released), so the operating system frees it
 * when the process dies, however it dies. Throws RapportError `engine_busy`, naming the holder's pid, when
 * another process holds it.
 */
export function lockDataDirectory(dataDir: string, pid: number): ProcessLock {
  const file = join(dataDir, 'rapport.lock');
  const pidFile = join(dataDir, 'rapport.lock.pid');
  const db = new Database(file);
  try {
    db.pragma('busy_timeout = 0');
    db.pragma('locking_mode = EXCLUSIVE');
    // A write takes the exclusive lock; in exclusive locking mode it is kept after the commit. (Nothing reads
    // the table: a refused process cannot, so the holder's pid goes to a file of its own.)
    db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL)');
    db.exec('BEGIN EXCLUSIVE; DELETE FROM holder; COMMIT');
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code?.startsWith('SQLITE_BUSY')) {
      let holder = 'another process';
      try {
        holder = `process ${readFileSync(pidFile, 'utf8').trim()}`;
      } catch {
        // No pid written (yet): the generic name will do.
      }
      throw new RapportError('engine_busy', `${holder} is already processing events in ${dataDir} (a server or a replay): stop it first`);
    }
    throw err;
  }
  // For the message other processes show; the lock itself is the database file's.
  writeFileSync(pidFile, `${pid}\n`);
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      db.close();
    },
  };
}
