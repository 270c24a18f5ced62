import { describe, it } from 'vitest';
import { createPostgresSettingsStore } from '../../src/adapters/postgres/postgres-settings-store';
import { PG_URL, pgSchemas, reportPgSkip } from '../helpers/pg-test-schema';
import { channelSettingsSuite } from './channel-settings.contract';

reportPgSkip('channel-settings.postgres.test.ts');
if (PG_URL) {
  const fresh = pgSchemas();
  channelSettingsSuite('postgres', async () => {
    const s = await fresh();
    return { store: createPostgresSettingsStore(s.pool), close: () => s.close() };
  });
} else {
  describe.skip('channel settings over postgres (RAPPORT_TEST_DATABASE_URL unset)', () => it('needs PostgreSQL', () => {}));
}
