import { describe, it } from 'vitest';
import { PostgresEventLog } from '../../src/adapters/postgres/postgres-event-log';
import { PG_URL, pgSchemas, reportPgSkip } from '../helpers/pg-test-schema';
import { eventLogContract } from './event-log.contract';

reportPgSkip('event-log.postgres.test.ts');
if (PG_URL) {
  const fresh = pgSchemas();
  eventLogContract('postgres', async () => {
    const s = await fresh();
    return {
      log: new PostgresEventLog(s.pool),
      reopen: async () => new PostgresEventLog(await s.reopen()),
      close: () => s.close(),
    };
  });
} else {
  describe.skip('EventLog contract: postgres (RAPPORT_TEST_DATABASE_URL unset)', () => it('needs PostgreSQL', () => {}));
}
