import type { SettingsStore } from '../../ports/settings-store';
import type { PostgresPool } from './open-pool';

/** Creates the PostgreSQL {@link SettingsStore} on a migrated pool (migration 31). */
export function createPostgresSettingsStore(pool: PostgresPool): SettingsStore {
  return {
    async get(key) {
      const r = (await pool.query<{ key: string; value: unknown; updated_at: string | number }>('SELECT key, value, updated_at FROM settings WHERE key = $1', [key])).rows[0];
      return r ? { key: r.key, value: r.value, updatedAt: Number(r.updated_at) } : null;
    },
    async put(key, value, at) {
      await pool.query(
        'INSERT INTO settings (key, value, updated_at) VALUES ($1, $2::jsonb, $3) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at',
        [key, JSON.stringify(value), at],
      );
    },
    async delete(key) {
      return ((await pool.query('DELETE FROM settings WHERE key = $1', [key])).rowCount ?? 0) > 0;
    },
  };
}
