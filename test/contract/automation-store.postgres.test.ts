import { describe, it } from 'vitest';
import { createPostgresAutomationStore } from '../../src/adapters/postgres/postgres-automation-store';
import { PG_URL, pgSchemas, reportPgSkip } from '../helpers/pg-test-schema';
import { automationStoreContract } from './automation-store.contract';

reportPgSkip('automation-store.postgres.test.ts');
if (PG_URL) {
  const fresh = pgSchemas();
  automationStoreContract('postgres', async () => {
    const s = await fresh();
    const store = createPostgresAutomationStore(s.pool);
    return {
      store,
      cleanup: async () => {
        await store.close();
        await s.close();
      },
    };
  });
} else {
  describe.skip('AutomationStore contract: postgres (RAPPORT_TEST_DATABASE_URL unset)', () => it('needs PostgreSQL', () => {}));
}
