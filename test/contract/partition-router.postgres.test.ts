import { describe, it } from 'vitest';
import { PostgresPartitionRouter } from '../../src/adapters/postgres/postgres-partition-router';
import { PG_URL, pgSchemas, reportPgSkip } from '../helpers/pg-test-schema';
import { partitionRouterContract } from './partition-router.contract';

reportPgSkip('partition-router.postgres.test.ts');
if (PG_URL) {
  const fresh = pgSchemas();
  partitionRouterContract('postgres', async () => {
    const s = await fresh();
    const extra = [await s.reopen(), await s.reopen()];
    let k = 0;
    return {
      // Routers alternate between pools so racing nodes really use separate connections.
      router: (partitions) => new PostgresPartitionRouter({ pool: k++ % 3 === 0 ? s.pool : (extra[k % 2] ?? s.pool), partitions }),
      close: () => s.close(),
    };
  });
} else {
  describe.skip('PartitionRouter contract: postgres (RAPPORT_TEST_DATABASE_URL unset)', () => it('needs PostgreSQL', () => {}));
}
