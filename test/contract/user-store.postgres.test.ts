import { describe, it } from 'vitest';
import type { PostgresPool } from '../../src/adapters/postgres/open-pool';
import { createPostgresUserStore } from '../../src/adapters/postgres/postgres-user-store';
import type { UserStore } from '../../src/ports/user-store';
import { PG_URL, pgSchemas, reportPgSkip } from '../helpers/pg-test-schema';
import { userStoreContract } from './user-store.contract';

reportPgSkip('user-store.postgres.test.ts');
if (PG_URL) {
  const fresh = pgSchemas();
  userStoreContract('postgres', async () => {
    const s = await fresh();
    const inner = createPostgresUserStore(s.pool);
    // rawDump is synchronous in the contract: refresh a text dump of both tables after every write.
    let text = '';
    const refresh = async <T>(out: T): Promise<T> => {
      text = await dumpOf(s.pool);
      return out;
    };
    const store: UserStore = {
      ...inner,
      addUser: async (...a) => refresh(await inner.addUser(...a)),
      createSession: async (...a) => refresh(await inner.createSession(...a)),
    };
    return { store, rawDump: () => text, close: () => s.close() };
  });
} else {
  describe.skip('UserStore contract: postgres (RAPPORT_TEST_DATABASE_URL unset)', () => it('needs PostgreSQL', () => {}));
}

/** Every row of the user tables as text. */
async function dumpOf(pool: PostgresPool): Promise<string> {
  const r = await pool.query<{ t: string | null }>(
    `SELECT string_agg(x, ' ') AS t FROM (SELECT u::text AS x FROM users u UNION ALL SELECT s::text FROM user_sessions s) q`,
  );
  return r.rows[0]?.t ?? '';
}
