import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteDatabase, type SqliteDatabase } from '../../src/adapters/sqlite/open-database';
import { SqliteWorkerEventLog } from '../../src/adapters/sqlite/sqlite-worker-event-log';
import { eventLogContract } from './event-log.contract';

// The same contract against the worker-thread writer the server uses.
eventLogContract('sqlite (worker-thread writer)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rapport-wlog-'));
  const file = join(dir, 'rapport.db');
  let db: SqliteDatabase = openSqliteDatabase(file);
  let log = await SqliteWorkerEventLog.open(db);
  return {
    log,
    reopen: async () => {
      await log.close();
      db.close();
      db = openSqliteDatabase(file);
      log = await SqliteWorkerEventLog.open(db);
      return log;
    },
    close: async () => {
      await log.close();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
