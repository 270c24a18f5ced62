import type { SettingsStore } from '../../ports/settings-store';
import type { SqliteDatabase } from './open-database';

/** Creates the SQLite {@link SettingsStore} on a migrated database (migration 31). */
export function createSqliteSettingsStore(db: SqliteDatabase): SettingsStore {
  const getStmt = db.prepare('SELECT key, value, updated_at FROM settings WHERE key = ?');
  const putStmt = db.prepare('INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at');
  const delStmt = db.prepare('DELETE FROM settings WHERE key = ?');
  return {
    async get(key) {
      const r = getStmt.get(key) as { key: string; value: string; updated_at: number } | undefined;
      return r ? { key: r.key, value: JSON.parse(r.value) as unknown, updatedAt: r.updated_at } : null;
    },
    async put(key, value, at) {
      putStmt.run(key, JSON.stringify(value), at);
    },
    async delete(key) {
      return delStmt.run(key).changes > 0;
    },
  };
}
