import { describe, it } from 'vitest';
import { PostgresKeyStore } from '../../src/adapters/postgres/postgres-key-store';
import { PG_URL, pgSchemas, reportPgSkip } from '../helpers/pg-test-schema';
import { keyStoreContract } from './key-store.contract';

reportPgSkip('key-store.postgres.test.ts');
if (PG_URL) {
  const fresh = pgSchemas();
  keyStoreContract('postgres', async () => {
    const s = await fresh();
    // Everything stored in the two key tables, as text (the contract checks no secret is in it).
    let text = '';
    const store = new PostgresKeyStore(s.pool);
    return {
      store: {
        ...bind(store),
        // rawDump is synchronous in the contract: refresh the dump after every write.
        createSource: async (name, now) => {
          const out = await store.createSource(name, now);
          text = await dumpOf(s.pool);
          return out;
        },
        createToken: async (name, now) => {
          const out = await store.createToken(name, now);
          text = await dumpOf(s.pool);
          return out;
        },
      },
      rawDump: () => text,
      close: () => s.close(),
    };
  });
} else {
  describe.skip('KeyStore contract: postgres (RAPPORT_TEST_DATABASE_URL unset)', () => it('needs PostgreSQL', () => {}));
}

/** Every row of the key tables as text. */
async function dumpOf(pool: import('../../src/adapters/postgres/open-pool').PostgresPool): Promise<string> {
  const r = await pool.query<{ t: string | null }>(
    `SELECT string_agg(x, ' ') AS t FROM (SELECT s::text AS x FROM sources s UNION ALL SELECT a::text FROM admin_tokens a) q`,
  );
  return r.rows[0]?.t ?? '';
}

function bind(store: PostgresKeyStore): import('../../src/ports/key-store').KeyStore {
  return {
    createSource: (n, t) => store.createSource(n, t),
    listSources: () => store.listSources(),
    revokeSource: (i, t) => store.revokeSource(i, t),
    verifyWriteKey: (k) => store.verifyWriteKey(k),
    createToken: (n, t) => store.createToken(n, t),
    listTokens: () => store.listTokens(),
    revokeToken: (i, t) => store.revokeToken(i, t),
    verifyToken: (s) => store.verifyToken(s),
  };
}
