import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteDatabase } from '../../src/adapters/sqlite/open-database';
import { createSqliteUserStore } from '../../src/adapters/sqlite/sqlite-user-store';
import { userStoreContract } from './user-store.contract';

userStoreContract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rapport-users-'));
  const file = join(dir, 'rapport.db');
  const db = openSqliteDatabase(file);
  return {
    store: createSqliteUserStore(db),
    rawDump: () => {
      db.pragma('wal_checkpoint(FULL)');
      return readFileSync(file).toString('latin1');
    },
    close: () => {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
