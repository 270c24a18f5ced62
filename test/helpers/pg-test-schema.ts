import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll } from 'vitest';
import { openPostgresPool, quoteIdent, type PostgresPool } from '../../src/adapters/postgres/open-pool';

/** The PostgreSQL URL for backend tests (set by .ci/run), or undefined: pg test files then skip. */
export const PG_URL: string | undefined = process.env['RAPPORT_TEST_DATABASE_URL'] || undefined;

/** Why the pg tests of a file are skipped (printed once per file). */
export function reportPgSkip(file: string): void {
  if (!PG_URL) console.warn(`${file}: skipped — set RAPPORT_TEST_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test) to run it`);
}

/** A fresh, migrated schema for one test, with a way to reopen a pool on it. */
export interface PgTestSchema {
  readonly schema: string;
  readonly pool: PostgresPool;
  /** A second pool on the same schema (e.g. to test durability across a reopen). */
  reopen(): Promise<PostgresPool>;
  close(): Promise<void>;
}

/**
 * Registers an `afterAll` that drops every schema this file created, and returns a factory of fresh
 * schemas (`rapport_test_<random>`): test files run in parallel without seeing each other's rows.
 * Call at the top level of a test file.
 */
export function pgSchemas(): () => Promise<PgTestSchema> {
  const created: string[] = [];
  const pools = new Set<PostgresPool>();
  afterAll(async () => {
    for (const p of pools) await p.end().catch(() => {});
    if (!PG_URL || created.length === 0) return;
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    try {
      for (const s of created) await admin.query(`DROP SCHEMA IF EXISTS ${quoteIdent(s)} CASCADE`);
    } finally {
      await admin.end();
    }
  });
  return async () => {
    if (!PG_URL) throw new Error('RAPPORT_TEST_DATABASE_URL is not set');
    const url = PG_URL;
    const schema = `rapport_test_${randomBytes(6).toString('hex')}`;
    created.push(schema);
    const open = async (): Promise<PostgresPool> => {
      const p = await openPostgresPool(url, { schema, max: 4 });
      pools.add(p);
      return p;
    };
    const pool = await open();
    return {
      schema,
      pool,
      reopen: open,
      close: async () => {
        for (const p of pools) {
          pools.delete(p);
          await p.end().catch(() => {});
        }
      },
    };
  };
}
