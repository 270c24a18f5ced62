import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { openSqliteDatabase, type SqliteDatabase } from '../../src/adapters/sqlite/open-database';
import { tempDir } from './sim-log';

/** The data directory and open `rapport.db` of the running test (see {@link freshSqliteEach}). */
export interface FreshSqlite {
  readonly dir: string;
  readonly db: SqliteDatabase;
}

/**
 * Registers hooks that give every test of the file a new temporary data directory with an open SQLite
 * database, closed and removed after the test. Read `dir` and `db` inside tests, not at load time.
 */
export function freshSqliteEach(): FreshSqlite {
  let current: { dir: string; cleanup: () => void; db: SqliteDatabase } | null = null;
  beforeEach(() => {
    const d = tempDir();
    current = { ...d, db: openSqliteDatabase(join(d.dir, 'rapport.db')) };
  });
  afterEach(() => {
    current?.db.close();
    current?.cleanup();
    current = null;
  });
  const get = () => {
    if (!current) throw new Error('freshSqliteEach: only available inside a test');
    return current;
  };
  return {
    get dir() {
      return get().dir;
    },
    get db() {
      return get().db;
    },
  };
}
