import { describe, it } from 'vitest';
import { PostgresCustomerQueries } from '../../src/adapters/postgres/postgres-customer-queries';
import { PostgresDashboardQueries } from '../../src/adapters/postgres/postgres-dashboard-queries';
import { PostgresEngineStore } from '../../src/adapters/postgres/postgres-engine-store';
import { PG_URL, pgSchemas, reportPgSkip } from '../helpers/pg-test-schema';
import { dashboardQueriesContract } from './dashboard-queries.contract';

reportPgSkip('dashboard-queries.postgres.test.ts');
if (PG_URL) {
  const fresh = pgSchemas();
  dashboardQueriesContract('postgres', async () => {
    const s = await fresh();
    return {
      store: new PostgresEngineStore(s.pool),
      queries: new PostgresCustomerQueries(s.pool),
      dashboard: new PostgresDashboardQueries(s.pool),
      close: () => s.close(),
    };
  });
} else {
  describe.skip('Dashboard queries contract: postgres (RAPPORT_TEST_DATABASE_URL unset)', () => it('needs PostgreSQL', () => {}));
}
