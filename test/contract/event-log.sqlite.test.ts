import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteDatabase, type SqliteDatabase } from '../../src/adapters/sqlite/open-database';
import { SqliteEventLog } from '../../src/adapters/sqlite/sqlite-event-log';
import { eventLogContract } from './event-log.contract';

eventLogContract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rapport-evlog-'));
  const file = join(dir, 'rapport.db');
  let db: SqliteDatabase = openSqliteDatabase(file);
  return {
    log: new SqliteEventLog(db),
    reopen: async () => {
      db.close();
      db = openSqliteDatabase(file);
      return new SqliteEventLog(db);
    },
    close: () => {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
