import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteDatabase } from '../../src/adapters/sqlite/open-database';
import { SqliteCustomerQueries } from '../../src/adapters/sqlite/sqlite-customer-queries';
import { SqliteDashboardQueries } from '../../src/adapters/sqlite/sqlite-dashboard-queries';
import { SqliteEngineStore } from '../../src/adapters/sqlite/sqlite-engine-store';
import { dashboardQueriesContract } from './dashboard-queries.contract';

dashboardQueriesContract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rapport-dashboard-queries-'));
  const db = openSqliteDatabase(join(dir, 'rapport.db'));
  return {
    store: new SqliteEngineStore(db),
    queries: new SqliteCustomerQueries(db),
    dashboard: new SqliteDashboardQueries(db),
    close: () => {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
