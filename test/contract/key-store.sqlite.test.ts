import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteDatabase } from '../../src/adapters/sqlite/open-database';
import { SqliteKeyStore } from '../../src/adapters/sqlite/sqlite-key-store';
import { keyStoreContract } from './key-store.contract';

keyStoreContract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rapport-keys-'));
  const file = join(dir, 'rapport.db');
  const db = openSqliteDatabase(file);
  return {
    store: new SqliteKeyStore(db),
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
