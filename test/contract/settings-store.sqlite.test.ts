import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteDatabase } from '../../src/adapters/sqlite/open-database';
import { createSqliteSettingsStore } from '../../src/adapters/sqlite/sqlite-settings-store';
import { settingsStoreContract } from './settings-store.contract';

settingsStoreContract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rapport-settings-'));
  const db = openSqliteDatabase(join(dir, 'rapport.db'));
  return {
    store: createSqliteSettingsStore(db),
    close: () => {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
