import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { SQLITE_MIGRATIONS } from './migrations';

/** An open better-sqlite3 database. */
export type SqliteDatabase = Database.Database;

/**
 * Opens (creating if needed) the embedded database file in WAL mode with full fsync on commit,
 * and applies pending migrations (one transaction each). `:memory:` is allowed for tests of pure logic.
 */
export function openSqliteDatabase(file: string): SqliteDatabase {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // FULL: a commit is on disk when it returns, so an acknowledged event survives a crash.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  db.pragma('cache_size = -65536');
  db.pragma('temp_store = MEMORY');
  migrate(db);
  return db;
}

/**
 * Applies every migration not yet recorded in `schema_migrations`, in version order, each in its own
 * transaction; safe to call on every start. Recording applied versions (not just the highest) keeps
 * components that own separate version ranges independent of each other.
 */
export function migrate(db: SqliteDatabase): number {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  adoptUserVersion(db, record);
  const applied = new Set(db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[]);
  let n = 0;
  for (const m of [...SQLITE_MIGRATIONS].sort((a, b) => a.version - b.version)) {
    if (applied.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      // Wall-clock time is only a note for operators here; nothing reads it back.
      record.run(m.version, m.name, Date.now());
    })();
    n++;
  }
  return n;
}

/**
 * Databases from before `schema_migrations` recorded only the highest version in `user_version`:
 * take every migration up to it as applied, once, so they open instead of failing on existing tables.
 */
function adoptUserVersion(db: SqliteDatabase, record: { run: (...args: unknown[]) => unknown }): void {
  const legacy = db.pragma('user_version', { simple: true }) as number;
  if (legacy <= 0) return;
  const none = (db.prepare('SELECT COUNT(*) AS n FROM schema_migrations').get() as { n: number }).n === 0;
  db.transaction(() => {
    if (none) for (const m of SQLITE_MIGRATIONS) if (m.version <= legacy) record.run(m.version, m.name, 0);
    db.pragma('user_version = 0');
  })();
}
