import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteDatabase } from '../../src/adapters/sqlite/open-database';
import { createSqliteAutomationStore } from '../../src/adapters/sqlite/sqlite-automation-store';
import { automationStoreContract } from './automation-store.contract';

automationStoreContract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rapport-auto-store-'));
  const db = openSqliteDatabase(join(dir, 'rapport.db'));
  const store = createSqliteAutomationStore(db, { closeDb: true });
  return {
    store,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
