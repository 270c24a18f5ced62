/** One stored setting: a JSON value under a key, with the time it was last written (epoch ms). */
export interface StoredSetting {
  readonly key: string;
  readonly value: unknown;
  readonly updatedAt: number;
}

/**
 * Settings changed from the dashboard (unit costs, channel overrides), kept in the database so they
 * survive restarts. Values are JSON; callers validate what they read (a setting may predate a schema change).
 */
export interface SettingsStore {
  /** The setting, or null when never written. */
  get(key: string): Promise<StoredSetting | null>;
  /** Writes (or replaces) a setting. */
  put(key: string, value: unknown, at: number): Promise<void>;
  /** Removes a setting (back to the configured default); true when one was removed. */
  delete(key: string): Promise<boolean>;
}
