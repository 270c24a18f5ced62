import { describe, it } from 'vitest';
import { PostgresCustomerQueries } from '../../src/adapters/postgres/postgres-customer-queries';
import { PostgresEngineStore } from '../../src/adapters/postgres/postgres-engine-store';
import { PostgresEventLog } from '../../src/adapters/postgres/postgres-event-log';
import { PG_URL, pgSchemas, reportPgSkip } from '../helpers/pg-test-schema';
import { engineStoreContract } from './engine-store.contract';

reportPgSkip('engine-store.postgres.test.ts');
if (PG_URL) {
  const fresh = pgSchemas();
  engineStoreContract('postgres', async () => {
    const s = await fresh();
    return {
      log: new PostgresEventLog(s.pool),
      store: new PostgresEngineStore(s.pool),
      queries: new PostgresCustomerQueries(s.pool),
      close: () => s.close(),
    };
  });
} else {
  describe.skip('EngineStore contract: postgres (RAPPORT_TEST_DATABASE_URL unset)', () => it('needs PostgreSQL', () => {}));
}
