import { describe, it } from 'vitest';
import { createPostgresSettingsStore } from '../../src/adapters/postgres/postgres-settings-store';
import { PG_URL, pgSchemas, reportPgSkip } from '../helpers/pg-test-schema';
import { settingsStoreContract } from './settings-store.contract';

reportPgSkip('settings-store.postgres.test.ts');
if (PG_URL) {
  const fresh = pgSchemas();
  settingsStoreContract('postgres', async () => {
    const s = await fresh();
    return { store: createPostgresSettingsStore(s.pool), close: () => s.close() };
  });
} else {
  describe.skip('SettingsStore contract: postgres (RAPPORT_TEST_DATABASE_URL unset)', () => it('needs PostgreSQL', () => {}));
}
