import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteDatabase } from '../../src/adapters/sqlite/open-database';
import { SqliteCustomerQueries } from '../../src/adapters/sqlite/sqlite-customer-queries';
import { SqliteEngineStore } from '../../src/adapters/sqlite/sqlite-engine-store';
import { SqliteEventLog } from '../../src/adapters/sqlite/sqlite-event-log';
import { engineStoreContract } from './engine-store.contract';

engineStoreContract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rapport-engine-store-'));
  const db = openSqliteDatabase(join(dir, 'rapport.db'));
  return {
    log: new SqliteEventLog(db),
    store: new SqliteEngineStore(db),
    queries: new SqliteCustomerQueries(db),
    close: () => {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
