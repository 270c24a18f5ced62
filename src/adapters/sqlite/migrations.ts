/** One schema migration: applied once, in version order. Never edit a released one; add a new one. */
export interface SqliteMigration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** All migrations of the embedded store, in order. */
export const SQLITE_MIGRATIONS: readonly SqliteMigration[] = [];
