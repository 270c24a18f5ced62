import { describe, it } from 'vitest';
import { createPostgresAutomationStore } from '../../src/adapters/postgres/postgres-automation-store';
import { PostgresEngineFeed } from '../../src/adapters/postgres/postgres-engine-feed';
import { PostgresEngineStore } from '../../src/adapters/postgres/postgres-engine-store';
import { PostgresEventLog } from '../../src/adapters/postgres/postgres-event-log';
import { PostgresIndicatorReadModel } from '../../src/adapters/postgres/postgres-indicator-read-model';
import { PostgresValueQueries } from '../../src/adapters/postgres/postgres-value-queries';
import { PG_URL, pgSchemas, reportPgSkip } from '../helpers/pg-test-schema';
import { engineReadSideContract } from './engine-read-side.contract';

reportPgSkip('engine-read-side.postgres.test.ts');
if (PG_URL) {
  const fresh = pgSchemas();
  engineReadSideContract('postgres', async () => {
    const s = await fresh();
    return {
      log: new PostgresEventLog(s.pool),
      store: new PostgresEngineStore(s.pool),
      feed: new PostgresEngineFeed(s.pool),
      readModel: new PostgresIndicatorReadModel(s.pool),
      values: new PostgresValueQueries(s.pool),
      automation: createPostgresAutomationStore(s.pool),
      close: () => s.close(),
    };
  });
} else {
  describe.skip('Engine read side contract: postgres (RAPPORT_TEST_DATABASE_URL unset)', () => it('needs PostgreSQL', () => {}));
}
